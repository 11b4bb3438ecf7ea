import { afterEach, describe, expect, it, vi } from 'vitest'
import { answer, fetchThrough, installOrigins, paths } from './cache-origins'

installOrigins()

afterEach(() => vi.restoreAllMocks())

describe('hit-for-pass', () => {
  it.each([
    ['no-store', { 'cache-control': 'no-store' }],
    ['private', { 'cache-control': 'private, max-age=60' }],
    ['Set-Cookie', { 'cache-control': 'max-age=60', 'set-cookie': 'session=1' }],
  ])('skips the cache lookup for a page the origin marked %s', async (_name, headers) => {
    answer(() => ({ body: 'personal', headers }))
    await fetchThrough('/account')
    const match = vi.spyOn(caches.default, 'match')
    const second = await fetchThrough('/account')
    expect(second.body).toBe('personal')
    expect(second.cache).toBe('MISS')
    expect(match).not.toHaveBeenCalled()
    expect(paths()).toEqual(['GET /account', 'GET /account'])
  })

  it('caches the page again as soon as the origin allows it', async () => {
    answer(() => ({ body: 'v1', headers: { 'cache-control': 'no-store' } }))
    await fetchThrough('/news')
    answer(() => ({ body: 'v2', headers: { 'cache-control': 'public, max-age=60' } }))
    const stored = await fetchThrough('/news')
    const hit = await fetchThrough('/news')
    expect([stored.cache, hit.cache]).toEqual(['MISS', 'HIT'])
    expect(hit.body).toBe('v2')
  })

  it('still looks up pages that were merely uncacheable by default', async () => {
    // No caching headers and no default TTL for JSON: not stored, but not a pass either.
    answer(() => ({ body: '{}', headers: { 'content-type': 'application/json' } }))
    await fetchThrough('/api/x')
    const match = vi.spyOn(caches.default, 'match')
    await fetchThrough('/api/x')
    expect(match).toHaveBeenCalled()
  })
})
