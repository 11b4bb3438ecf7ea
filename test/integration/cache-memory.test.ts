import { afterEach, describe, expect, it, vi } from 'vitest'
import { forgetAll, heldNow } from '../../worker/cache/memory'
import { answer, fetchThrough, installOrigins, paths, settings, useFakeDate } from './cache-origins'

installOrigins()
const later = useFakeDate()

afterEach(() => {
  vi.restoreAllMocks()
})

/** Counts the Cache API reads from here on. */
const cacheReads = () => vi.spyOn(caches.default, 'match')

const PAGE = { 'cache-control': 'max-age=60', etag: '"p1"', 'content-type': 'text/html' }

describe('the memory tier', () => {
  it('answers a hot page from memory, without a Cache API read', async () => {
    answer(() => ({ body: 'hot page', headers: PAGE }))
    expect((await fetchThrough('/posts/hot')).cache).toBe('MISS')
    const reads = cacheReads()
    later(2)
    for (let i = 0; i < 3; i++) {
      const hit = await fetchThrough('/posts/hot')
      expect([hit.status, hit.cache, hit.body]).toEqual([200, 'HIT', 'hot page'])
      expect(hit.headers.get('age')).toBe('2')
      expect(hit.headers.get('etag')).toBe('"p1"')
      expect(hit.headers.get('x-georoute-origin')).toBe('near')
      expect(hit.headers.get('server-timing')).toMatch(/^cache;dur=0;desc="HIT"/)
    }
    const head = await fetchThrough('/posts/hot', { method: 'HEAD' })
    expect([head.status, head.cache, head.body]).toEqual([200, 'HIT', ''])
    const conditional = await fetchThrough('/posts/hot', { headers: { 'if-none-match': '"p1"' } })
    expect([conditional.status, conditional.cache]).toEqual([304, 'HIT'])
    expect(reads).not.toHaveBeenCalled()
    expect(paths()).toEqual(['GET /posts/hot'])
  })

  it("holds a page it found in the data center's cache, read once", async () => {
    answer(() => ({ body: 'from the edge', headers: PAGE }))
    await fetchThrough('/posts/edge')
    // Another isolate, or this one after its copy's time: only the Cache API has the page.
    forgetAll()
    const reads = cacheReads()
    const first = await fetchThrough('/posts/edge')
    const second = await fetchThrough('/posts/edge')
    expect([first.cache, first.body, second.cache, second.body]).toEqual([
      'HIT',
      'from the edge',
      'HIT',
      'from the edge',
    ])
    expect(reads).toHaveBeenCalledTimes(1)
  })

  it('reads the Cache API again once maxAgeSeconds have passed', async () => {
    answer(() => ({ body: 'page', headers: PAGE }))
    const vars = settings({ cache: { memory: { maxAgeSeconds: 3 } } })
    await fetchThrough('/posts/aging', {}, vars)
    const reads = cacheReads()
    later(2.9)
    expect((await fetchThrough('/posts/aging', {}, vars)).cache).toBe('HIT')
    expect(reads).not.toHaveBeenCalled()
    later(3)
    expect((await fetchThrough('/posts/aging', {}, vars)).cache).toBe('HIT')
    expect(reads).toHaveBeenCalledTimes(1)
  })

  it('never answers past the freshness of the page', async () => {
    answer(() => ({ body: 'v1', headers: { 'cache-control': 'max-age=1', etag: '"v1"' } }))
    await fetchThrough('/posts/short')
    expect((await fetchThrough('/posts/short')).cache).toBe('HIT')
    later(1)
    answer(() => ({ body: 'v2', headers: { 'cache-control': 'max-age=1', etag: '"v2"' } }))
    const next = await fetchThrough('/posts/short')
    expect([next.cache, next.body]).toEqual(['EXPIRED', 'v2'])
    expect(paths()).toEqual(['GET /posts/short', 'GET /posts/short'])
  })

  it('holds the copy a revalidation refreshed', async () => {
    answer(() => ({ body: 'v1', headers: { 'cache-control': 'max-age=1', etag: '"v1"' } }))
    await fetchThrough('/posts/refreshed')
    later(2)
    answer(() => ({ status: 304, headers: { 'cache-control': 'max-age=60', etag: '"v1"' } }))
    expect((await fetchThrough('/posts/refreshed')).cache).toBe('REVALIDATED')
    const reads = cacheReads()
    const next = await fetchThrough('/posts/refreshed')
    expect([next.cache, next.body, next.headers.get('cache-control')]).toEqual([
      'HIT',
      'v1',
      'max-age=60',
    ])
    expect(reads).not.toHaveBeenCalled()
  })

  it('drops its copy when an unsafe method changes the page', async () => {
    await fetchThrough('/posts/changing')
    expect((await fetchThrough('/posts/changing')).cache).toBe('HIT')
    await fetchThrough('/posts/changing', { method: 'POST', body: 'comment' })
    expect((await fetchThrough('/posts/changing')).cache).toBe('MISS')
  })

  it('keeps no body longer than maxEntryBytes', async () => {
    const vars = settings({ cache: { memory: { maxEntryBytes: 4 } } })
    answer(({ path }) => ({ body: path === '/small' ? 'tiny' : 'large', headers: PAGE }))
    await fetchThrough('/small', {}, vars)
    await fetchThrough('/large', {}, vars)
    const reads = cacheReads()
    const small = await fetchThrough('/small', {}, vars)
    const large = await fetchThrough('/large', {}, vars)
    expect([small.cache, small.body, large.cache, large.body]).toEqual([
      'HIT',
      'tiny',
      'HIT',
      'large',
    ])
    expect(reads.mock.calls.map(([key]) => String(key))).toEqual([
      'https://blog.example/__georoute/cache/0/large',
    ])
  })

  it('treats an entry whose body breaks while read as a miss', async () => {
    const key = 'https://blog.example/__georoute/cache/0/posts/broken'
    await fetchThrough('/posts/broken')
    const stored = await caches.default.match(key)
    await stored?.body?.cancel()
    forgetAll()
    const broken = new ReadableStream({
      pull: (controller) => controller.error(new Error('disk gone')),
    })
    vi.spyOn(caches.default, 'match').mockResolvedValueOnce(
      new Response(broken, { headers: stored?.headers }),
    )
    vi.spyOn(console, 'error').mockImplementation(() => {})
    const next = await fetchThrough('/posts/broken')
    expect([next.status, next.cache, next.body]).toEqual([200, 'MISS', 'hello'])
    expect(paths()).toEqual(['GET /posts/broken', 'GET /posts/broken'])
  })

  it('is off with maxBytes 0', async () => {
    const vars = settings({ cache: { memory: { maxBytes: 0 } } })
    await fetchThrough('/posts/off', {}, vars)
    expect(heldNow().entries).toBe(0)
    const reads = cacheReads()
    expect((await fetchThrough('/posts/off', {}, vars)).cache).toBe('HIT')
    expect(reads).toHaveBeenCalledTimes(1)
  })

  it('never answers a reader with credentials', async () => {
    await fetchThrough('/posts/member')
    const withCredentials = await fetchThrough('/posts/member', {
      headers: { authorization: 'Bearer t' },
    })
    expect(withCredentials.cache).toBe('MISS')
    expect(paths()).toEqual(['GET /posts/member', 'GET /posts/member'])
  })

  it('keeps within maxBytes, the oldest copy going first', async () => {
    answer(() => ({ body: 'x'.repeat(100), headers: { 'cache-control': 'max-age=60' } }))
    // What one of these pages counts, with its key and headers: room for two and a half.
    await fetchThrough('/z')
    const room = Math.floor(heldNow().bytes * 2.5)
    forgetAll()
    const vars = settings({ cache: { memory: { maxBytes: room } } })
    for (const path of ['/a', '/b', '/c']) await fetchThrough(path, {}, vars)
    expect(heldNow().entries).toBe(2)
    const reads = cacheReads()
    for (const path of ['/c', '/b', '/a']) await fetchThrough(path, {}, vars)
    expect(reads.mock.calls.map(([key]) => new URL(String(key)).pathname)).toEqual([
      '/__georoute/cache/0/a',
    ])
    expect(heldNow().entries).toBe(2)
    expect(heldNow().bytes).toBeLessThanOrEqual(room)
  })
})
