import { waitOnExecutionContext } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import {
  answer,
  fetchThrough,
  installOrigins,
  received,
  send,
  settings,
  slowOnce,
  useFakeDate,
} from './cache-origins'

installOrigins()
const later = useFakeDate()

const V1 = { 'cache-control': 'max-age=60', etag: '"v1"' }

describe('revalidation', () => {
  it('retires the stored copy when the origin now says no-store', async () => {
    answer(() => ({ body: 'v1 page', headers: V1 }))
    await fetchThrough('/posts/private-now')
    later(61)
    answer(() => ({ body: 'v2 personal', headers: { 'cache-control': 'no-store' } }))
    const replaced = await fetchThrough('/posts/private-now')
    expect([replaced.cache, replaced.body]).toEqual(['EXPIRED', 'v2 personal'])
    // Pass window over: the lookup runs again and finds nothing to serve, even stale.
    later(61 + 3_600)
    answer(() => 'down')
    const after = await fetchThrough('/posts/private-now')
    expect(after.status).toBe(503)
  })

  it('asks with the stored ETag and serves the stored body on 304', async () => {
    answer(() => ({ body: 'v1 page', headers: V1 }))
    await fetchThrough('/posts/a')
    later(61)
    answer((r) => (r.headers['if-none-match'] === '"v1"' ? { status: 304, headers: V1 } : {}))
    const revalidated = await fetchThrough('/posts/a')
    expect([revalidated.cache, revalidated.body]).toEqual(['REVALIDATED', 'v1 page'])
  })

  it('serves the stored body on a 304 that repeats no validator, asking the origin once', async () => {
    answer(() => ({
      body: 'v1 page',
      headers: { ...V1, 'cache-control': 'max-age=60, must-revalidate' },
    }))
    await fetchThrough('/posts/bare-304')
    later(61)
    answer((r) => (r.headers['if-none-match'] === '"v1"' ? { status: 304 } : { status: 500 }))
    const revalidated = await fetchThrough('/posts/bare-304')
    expect([revalidated.status, revalidated.cache, revalidated.body]).toEqual([
      200,
      'REVALIDATED',
      'v1 page',
    ])
    expect(received).toHaveLength(2)
  })

  it('asks with the Vary-ed request fields of the stored response', async () => {
    const varies = { ...V1, vary: 'Abc' }
    answer(() => ({ body: 'abc page', headers: varies }))
    await fetchThrough('/posts/vary-abc', { headers: { abc: '123' } })
    later(61)
    answer(() => ({ status: 304 }))
    await fetchThrough('/posts/vary-abc', { headers: { abc: '123' } })
    expect(received[1]?.headers).toMatchObject({ abc: '123', 'if-none-match': '"v1"' })
  })

  it('passes a cookie in a 304 to its reader but does not store it', async () => {
    answer(() => ({ body: 'v1 page', headers: V1 }))
    await fetchThrough('/posts/cookie-304')
    later(61)
    answer(() => ({ status: 304, headers: { ...V1, 'set-cookie': 'a=b' } }))
    const revalidated = await fetchThrough('/posts/cookie-304')
    expect(revalidated.headers.get('set-cookie')).toBe('a=b')
    const hit = await fetchThrough('/posts/cookie-304')
    expect([hit.cache, hit.headers.get('set-cookie')]).toEqual(['HIT', null])
  })

  it('keeps the Date the origin sent on hits, fast and full', async () => {
    const date = new Date(Date.now()).toUTCString()
    answer(() => ({ body: 'dated', headers: { 'cache-control': 'max-age=600', date } }))
    await fetchThrough('/posts/dated')
    later(30)
    const hit = await fetchThrough('/posts/dated')
    expect([hit.cache, hit.headers.get('date'), hit.headers.get('age')]).toEqual([
      'HIT',
      date,
      '30',
    ])
  })

  it('is fresh again after a 304', async () => {
    answer(() => ({ body: 'v1 page', headers: V1 }))
    await fetchThrough('/posts/b')
    later(61)
    answer(() => ({ status: 304, headers: V1 }))
    await fetchThrough('/posts/b')
    later(100)
    expect((await fetchThrough('/posts/b')).cache).toBe('HIT')
    expect(received).toHaveLength(2)
  })

  it('keeps serving the same Vary variant after a 304', async () => {
    const fr = { headers: { 'accept-language': 'fr' } }
    const varies = { ...V1, vary: 'Accept-Language' }
    answer(() => ({ body: 'bonjour', headers: varies }))
    await fetchThrough('/intl', fr)
    later(61)
    answer(() => ({ status: 304, headers: varies }))
    expect((await fetchThrough('/intl', fr)).cache).toBe('REVALIDATED')
    const again = await fetchThrough('/intl', fr)
    expect([again.cache, again.body]).toEqual(['HIT', 'bonjour'])
  })

  it('asks with Last-Modified when there is no ETag', async () => {
    const lastModified = new Date(Date.now() - 86_400_000).toUTCString()
    answer(() => ({
      body: 'page',
      headers: { 'cache-control': 'no-cache', 'last-modified': lastModified },
    }))
    await fetchThrough('/posts/c')
    await fetchThrough('/posts/c')
    expect(received[1]?.headers['if-modified-since']).toBe(lastModified)
  })

  it('stores and serves the new page when the origin sends one (EXPIRED)', async () => {
    answer(() => ({ body: 'v1', headers: V1 }))
    await fetchThrough('/posts/d')
    later(61)
    answer(() => ({ body: 'v2', headers: { 'cache-control': 'max-age=60', etag: '"v2"' } }))
    const expired = await fetchThrough('/posts/d')
    expect([expired.cache, expired.body]).toEqual(['EXPIRED', 'v2'])
    expect((await fetchThrough('/posts/d')).body).toBe('v2')
  })

  it('revalidates a no-cache page on every request', async () => {
    answer(() => ({ body: 'home', headers: { 'cache-control': 'no-cache', etag: '"h"' } }))
    await fetchThrough('/')
    answer(() => ({ status: 304, headers: { 'cache-control': 'no-cache', etag: '"h"' } }))
    expect((await fetchThrough('/')).cache).toBe('REVALIDATED')
  })
})

describe('stale-if-error', () => {
  it('serves the stale page when every origin is down', async () => {
    answer(() => ({ body: 'old page', headers: V1 }))
    await fetchThrough('/posts/e')
    later(3600)
    answer(() => 'down')
    const stale = await fetchThrough('/posts/e')
    expect([stale.status, stale.cache, stale.body]).toEqual([200, 'STALE', 'old page'])
    expect(stale.headers.get('x-georoute-origin')).toBe('near')
    expect(Number(stale.headers.get('age'))).toBeGreaterThanOrEqual(3600)
  })

  it('serves the stale page when every origin answers 503', async () => {
    answer(() => ({ body: 'old page', headers: V1 }))
    await fetchThrough('/posts/f')
    later(3600)
    answer(() => ({ status: 503, body: 'down' }))
    expect((await fetchThrough('/posts/f')).cache).toBe('STALE')
  })

  it('answers 503 once the page is staler than the floor', async () => {
    answer(() => ({ body: 'old page', headers: V1 }))
    await fetchThrough('/posts/g')
    later(60 + 86_400 + 1)
    answer(() => 'down')
    const gone = await fetchThrough('/posts/g')
    expect([gone.status, gone.cache]).toEqual([503, 'EXPIRED'])
  })

  it('does not serve a page stale when its headers forbid it (no-cache)', async () => {
    answer(() => ({ body: 'home', headers: { 'cache-control': 'no-cache' } }))
    await fetchThrough('/home')
    answer(() => 'down')
    expect((await fetchThrough('/home')).status).toBe(503)
  })

  it("passes the origin's own 503 on when the page may not be served stale", async () => {
    answer(() => ({ body: 'home', headers: { 'cache-control': 'no-cache' } }))
    await fetchThrough('/home3')
    answer((r) => ({
      status: 503,
      body: `${r.origin} in maintenance`,
      headers: { 'retry-after': '600' },
    }))
    const down = await fetchThrough('/home3')
    expect([down.status, down.cache, down.body]).toEqual([503, 'EXPIRED', 'far in maintenance'])
    expect(down.headers.get('retry-after')).toBe('600')
    expect(down.headers.get('x-georoute-origin')).toBe('far')
  })

  it('serves it anyway when the blog overrides the origin', async () => {
    const override = settings({ cache: { staleIfErrorOverridesOrigin: true } })
    answer(() => ({ body: 'home', headers: { 'cache-control': 'no-cache' } }))
    await fetchThrough('/home2', {}, override)
    answer(() => 'down')
    const stale = await fetchThrough('/home2', {}, override)
    expect([stale.status, stale.cache, stale.body]).toEqual([200, 'STALE', 'home'])
  })
})

describe('stale-while-revalidate', () => {
  const SWR = { 'cache-control': 'max-age=60, stale-while-revalidate=600' }
  const noHedge = settings({ routing: { hedge: false } })
  const timeout = (ms: number) => new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), ms))

  it('answers at once from the stale copy while a slow origin refreshes it', async () => {
    slowOnce('/slow/a', { body: 'v1', headers: SWR })
    await fetchThrough('/slow/a', {}, noHedge)
    later(61)
    slowOnce('/slow/a', { body: 'v2', headers: SWR }, 1_500)
    const { response, ctx } = await send('/slow/a', {}, noHedge)
    const body = await Promise.race([response.text(), timeout(1_000)])
    expect([response.headers.get('x-georoute-cache'), body]).toEqual(['STALE', 'v1'])
    await waitOnExecutionContext(ctx)
    expect((await fetchThrough('/slow/a', {}, noHedge)).body).toBe('v2')
  })

  it('refreshes an entry once however many readers see it stale', async () => {
    slowOnce('/slow/b', { body: 'v1', headers: SWR })
    await fetchThrough('/slow/b', {}, noHedge)
    later(61)
    slowOnce('/slow/b', { body: 'v2', headers: SWR }, 200, 2)
    const readers = await Promise.all([1, 2, 3].map(() => send('/slow/b', {}, noHedge)))
    for (const { response, ctx } of readers) {
      expect(response.headers.get('x-georoute-cache')).toBe('STALE')
      await response.text()
      await waitOnExecutionContext(ctx)
    }
    expect(received.filter((r) => r.path === '/slow/b')).toHaveLength(2)
  })
})
