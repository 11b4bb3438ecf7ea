import { describe, expect, it } from 'vitest'
import { answer, fetchThrough, installOrigins, received, useFakeDate } from './cache-origins'

installOrigins()
const later = useFakeDate()

describe('an origin 5xx with explicit freshness (RFC 9111 section 3)', () => {
  it('is stored where nothing was, and served from the cache while fresh', async () => {
    answer(() => ({ status: 503, body: 'maintenance', headers: { 'cache-control': 'max-age=60' } }))
    const first = await fetchThrough('/down/a')
    expect([first.status, first.cache]).toEqual([503, 'MISS'])
    later(30)
    const again = await fetchThrough('/down/a')
    expect([again.status, again.cache, again.body]).toEqual([503, 'HIT', 'maintenance'])
  })

  it('is not stored without explicit freshness', async () => {
    const lastModified = new Date(Date.now() - 86_400_000).toUTCString()
    answer(() => ({ status: 503, body: 'down', headers: { 'last-modified': lastModified } }))
    await fetchThrough('/down/b')
    expect((await fetchThrough('/down/b')).cache).toBe('MISS')
  })

  it('never replaces a stored page that may stand in for it', async () => {
    answer(() => ({ body: 'good page', headers: { 'cache-control': 'max-age=60' } }))
    await fetchThrough('/down/c')
    later(120)
    answer(() => ({
      status: 503,
      body: 'maintenance',
      headers: { 'cache-control': 'max-age=600' },
    }))
    const stale = await fetchThrough('/down/c')
    expect([stale.status, stale.cache, stale.body]).toEqual([200, 'STALE', 'good page'])
    const still = await fetchThrough('/down/c')
    expect([still.status, still.body]).toEqual([200, 'good page'])
  })
})

describe('CDN-Cache-Control (RFC 9213)', () => {
  it('caches by CDN-Cache-Control over Cache-Control: no-store, showing readers what was sent', async () => {
    const headers = {
      'cache-control': 'no-store',
      'cdn-cache-control': 'max-age=600',
      'cloudflare-cdn-cache-control': 'max-age=600',
    }
    answer(() => ({ body: 'page', headers }))
    const first = await fetchThrough('/cdn/a')
    expect(first.headers.get('cache-control')).toBe('no-store')
    expect(first.headers.get('cdn-cache-control')).toBe('max-age=600')
    expect(first.headers.has('cloudflare-cdn-cache-control')).toBe(false)
    later(60)
    const hit = await fetchThrough('/cdn/a')
    expect([hit.cache, hit.headers.get('cache-control')]).toEqual(['HIT', 'no-store'])
    expect(hit.headers.has('cloudflare-cdn-cache-control')).toBe(false)
    expect(received).toHaveLength(1)
  })
})

describe('heuristic freshness (RFC 9111 section 4.2.2)', () => {
  it('caches a page with Last-Modified and no caching headers for a tenth of its age', async () => {
    const lastModified = new Date(Date.now() - 10_000_000).toUTCString()
    answer(() => ({
      body: 'post',
      headers: { 'last-modified': lastModified, 'content-type': 'application/json' },
    }))
    await fetchThrough('/api/post')
    later(999_000 / 1000)
    expect((await fetchThrough('/api/post')).cache).toBe('HIT')
  })

  it('still caches nothing without Last-Modified when no default TTL covers it', async () => {
    answer(() => ({ body: '{}', headers: { 'content-type': 'application/json' } }))
    await fetchThrough('/api/dynamic')
    expect((await fetchThrough('/api/dynamic')).cache).toBe('MISS')
  })
})
