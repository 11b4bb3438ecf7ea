import { describe, expect, it } from 'vitest'
import { forgetAll } from '../../worker/cache/memory'
import { answer, fetchThrough, installOrigins, paths, received, settings } from './cache-origins'

installOrigins()

const page =
  (headers: Record<string, string>, body = 'page') =>
  () => ({ body, headers })

describe('the Cache API of the Workers pool', () => {
  it('stores a response and matches it', async () => {
    const key = 'https://blog.example/__georoute/cache/test/probe'
    await caches.default.put(
      key,
      new Response('kept', { headers: { 'cache-control': 'public, max-age=60' } }),
    )
    expect(await (await caches.default.match(key))?.text()).toBe('kept')
  })
})

describe('hits and misses', () => {
  it('answers a second GET from the edge without asking an origin', async () => {
    const first = await fetchThrough('/posts/a')
    const second = await fetchThrough('/posts/a')
    expect([first.cache, second.cache]).toEqual(['MISS', 'HIT'])
    expect(second.body).toBe('hello')
    expect(paths()).toEqual(['GET /posts/a'])
  })

  it('names the origin that filled the entry on a hit, with Age and the cache phase', async () => {
    await fetchThrough('/posts/b')
    const hit = await fetchThrough('/posts/b')
    expect(hit.headers.get('x-georoute-origin')).toBe('near')
    expect(hit.headers.get('age')).toMatch(/^\d+$/)
    expect(hit.headers.get('server-timing')).toMatch(/^cache;dur=\d+;desc="HIT", origin;dur=0/)
  })

  it("keeps the origin's own server-timing on a hit, with the cache phase after it", async () => {
    answer(page({ 'cache-control': 'max-age=60', 'server-timing': 'db;dur=7' }))
    await fetchThrough('/posts/timed')
    const hit = await fetchThrough('/posts/timed')
    expect(hit.cache).toBe('HIT')
    expect(hit.headers.get('server-timing')).toMatch(
      /^db;dur=7, cache;dur=\d+;desc="HIT", origin;dur=0;desc="none", total;dur=\d+$/,
    )
  })

  it('answers HEAD from a GET entry, without a body', async () => {
    await fetchThrough('/posts/c')
    const head = await fetchThrough('/posts/c', { method: 'HEAD' })
    expect(head.cache).toBe('HIT')
    expect(head.body).toBe('')
  })

  it('fills the entry for a HEAD with a GET, so the next GET is a hit', async () => {
    const head = await fetchThrough('/posts/d', { method: 'HEAD' })
    const get = await fetchThrough('/posts/d')
    expect([head.cache, head.body, get.cache, get.body]).toEqual(['MISS', '', 'HIT', 'hello'])
    expect(paths()).toEqual(['GET /posts/d'])
  })

  it('answers the reader own conditional request with 304 from the edge', async () => {
    answer(page({ 'cache-control': 'max-age=60', etag: '"v1"' }))
    await fetchThrough('/posts/e')
    const conditional = await fetchThrough('/posts/e', { headers: { 'if-none-match': '"v1"' } })
    expect([conditional.status, conditional.cache]).toEqual([304, 'HIT'])
    expect(conditional.headers.get('etag')).toBe('"v1"')
    expect(conditional.headers.get('x-georoute-origin')).toBe('near')
    expect(received).toHaveLength(1)
  })

  it('fills the entry with a full response even when the reader sends a validator', async () => {
    answer(page({ 'cache-control': 'max-age=60', etag: '"v1"' }))
    const first = await fetchThrough('/posts/f', { headers: { 'if-none-match': '"v1"' } })
    expect(first.status).toBe(304)
    expect(received[0]?.headers).not.toHaveProperty('if-none-match')
    expect((await fetchThrough('/posts/f')).body).toBe('page')
  })
})

describe('the precomputed fast hit', () => {
  it('never answers a reader with Authorization from an entry not explicitly shared', async () => {
    answer(page({ 'cache-control': 'max-age=60' }, 'shared page'))
    await fetchThrough('/posts/auth')
    expect((await fetchThrough('/posts/auth')).cache).toBe('HIT')
    const withCredentials = await fetchThrough('/posts/auth', {
      headers: { authorization: 'Bearer t' },
    })
    expect(withCredentials.cache).toBe('MISS')
    expect(paths()).toEqual(['GET /posts/auth', 'GET /posts/auth'])
  })

  it('falls back to the full policy when the fast facts are unreadable', async () => {
    const key = 'https://blog.example/__georoute/cache/0/posts/fast'
    await fetchThrough('/posts/fast')
    const entry = await caches.default.match(key)
    const headers = new Headers(entry?.headers)
    headers.set('x-georoute-fast', '{"until":')
    await caches.default.put(key, new Response(await entry?.text(), { headers }))
    // As another isolate, or this one once its memory copy is old, sees the entry.
    forgetAll()
    const hit = await fetchThrough('/posts/fast')
    expect([hit.cache, hit.body]).toEqual(['HIT', 'hello'])
    expect(hit.headers.get('age')).toMatch(/^\d+$/)
    expect(paths()).toEqual(['GET /posts/fast'])
  })
})

describe('the stored Date', () => {
  it('is what a hit shows, also from fast facts stored before hits kept it', async () => {
    const date = 'Tue, 01 Jan 2030 00:00:00 GMT'
    answer(page({ 'cache-control': 'max-age=60', date }))
    const key = 'https://blog.example/__georoute/cache/0/posts/undated-facts'
    await fetchThrough('/posts/undated-facts')
    const entry = await caches.default.match(key)
    const headers = new Headers(entry?.headers)
    const facts = JSON.parse(headers.get('x-georoute-fast') ?? '{}')
    delete facts.headers.date
    headers.set('x-georoute-fast', JSON.stringify(facts))
    await caches.default.put(key, new Response(await entry?.text(), { headers }))
    forgetAll()
    const hit = await fetchThrough('/posts/undated-facts')
    expect([hit.cache, hit.headers.get('date')]).toEqual(['HIT', date])
  })
})

describe('entries it cannot read', () => {
  it('treats a corrupt entry as a miss and replaces it', async () => {
    await caches.default.put(
      'https://blog.example/__georoute/cache/0/posts/corrupt',
      new Response('junk', {
        headers: { 'cache-control': 'max-age=60', 'x-georoute-meta': '{"policy":{"v":1}}' },
      }),
    )
    const first = await fetchThrough('/posts/corrupt')
    expect([first.status, first.cache, first.body]).toEqual([200, 'MISS', 'hello'])
    expect((await fetchThrough('/posts/corrupt')).cache).toBe('HIT')
  })
})

describe('what is stored', () => {
  it.each([
    ['private', { 'cache-control': 'private, max-age=60' }],
    ['no-store', { 'cache-control': 'no-store' }],
    ['Set-Cookie', { 'cache-control': 'public, max-age=60', 'set-cookie': 'sid=1' }],
    ['Vary: *', { 'cache-control': 'max-age=60', vary: '*' }],
  ])('never stores a %s response', async (_name, headers) => {
    answer(page(headers))
    await fetchThrough('/private/a')
    expect((await fetchThrough('/private/a')).cache).toBe('MISS')
    expect(received).toHaveLength(2)
  })

  it('does not store an answer to a request with Authorization that only says max-age', async () => {
    await fetchThrough('/api/me', { headers: { authorization: 'Bearer t' } })
    expect((await fetchThrough('/api/me')).cache).toBe('MISS')
  })

  it('stores an answer to a request with Authorization that says public', async () => {
    answer(page({ 'cache-control': 'public, max-age=60' }))
    await fetchThrough('/api/public', { headers: { authorization: 'Bearer t' } })
    expect((await fetchThrough('/api/public')).cache).toBe('HIT')
  })

  it('serves each Vary variant only to the readers it was made for', async () => {
    answer((r) => ({
      body: `lang ${r.headers['accept-language']}`,
      headers: { 'cache-control': 'max-age=60', vary: 'Accept-Language' },
    }))
    await fetchThrough('/intl', { headers: { 'accept-language': 'fr' } })
    const de = await fetchThrough('/intl', { headers: { 'accept-language': 'de' } })
    expect([de.cache, de.body]).toEqual(['MISS', 'lang de'])
  })

  it('keeps an HTML page without caching headers for the default TTL', async () => {
    answer(page({ 'content-type': 'text/html' }))
    await fetchThrough('/plain')
    expect((await fetchThrough('/plain')).cache).toBe('HIT')
  })

  it('keeps no JSON without caching headers', async () => {
    answer(page({ 'content-type': 'application/json' }, '{}'))
    await fetchThrough('/wp-json/x')
    expect((await fetchThrough('/wp-json/x')).cache).toBe('MISS')
  })

  it('keeps no page served for an asset path unless its own headers allow (deception)', async () => {
    answer(page({ 'content-type': 'text/html' }, 'account of the reader'))
    await fetchThrough('/account/x.css')
    expect((await fetchThrough('/account/x.css')).cache).toBe('MISS')
  })
})

describe('the cache key', () => {
  it('drops tracking parameters, for the key and for the origin', async () => {
    await fetchThrough('/posts/k?utm_source=news&fbclid=1')
    expect((await fetchThrough('/posts/k')).cache).toBe('HIT')
    expect(paths()).toEqual(['GET /posts/k'])
  })

  it('sorts parameters', async () => {
    await fetchThrough('/search?b=2&a=1')
    expect((await fetchThrough('/search?a=1&b=2')).cache).toBe('HIT')
  })

  it('never lets unkeyed headers or cookies shape what is stored (cache poisoning)', async () => {
    answer((r) => ({ body: JSON.stringify(r.headers), headers: { 'cache-control': 'max-age=60' } }))
    await fetchThrough('/poison', {
      headers: {
        'x-forwarded-host': 'evil.example',
        'x-forwarded-scheme': 'http',
        'x-original-url': '/admin',
        'x-host': 'evil.example',
        cookie: '_ga=1; theme=dark',
      },
    })
    const seen = JSON.parse((await fetchThrough('/poison')).body) as Record<string, string>
    expect(seen['x-forwarded-host']).toBe('blog.example')
    for (const name of ['x-forwarded-scheme', 'x-original-url', 'x-host', 'cookie']) {
      expect(seen, name).not.toHaveProperty(name)
    }
  })
})

describe('bypass', () => {
  it.each(['/wp-admin/', '/wp-login.php', '/ghost/'])('never caches %s', async (path) => {
    await fetchThrough(path)
    const again = await fetchThrough(path)
    expect(again.cache).toBe('BYPASS')
    expect(received).toHaveLength(2)
  })

  it('sends a logged-in reader to the origin with their cookies', async () => {
    await fetchThrough('/posts/l')
    const cookie = 'wordpress_logged_in_abc=admin'
    const reader = await fetchThrough('/posts/l', { headers: { cookie } })
    expect(reader.cache).toBe('BYPASS')
    expect(received.at(-1)?.headers.cookie).toBe(cookie)
  })

  it('bypasses everything when settings.cache.enabled is false', async () => {
    const off = settings({ cache: { enabled: false } })
    await fetchThrough('/posts/m', {}, off)
    expect((await fetchThrough('/posts/m', {}, off)).cache).toBe('BYPASS')
  })
})

describe('unsafe methods', () => {
  it('invalidate the cached copy of their URL after a successful answer', async () => {
    await fetchThrough('/posts/n')
    const post = await fetchThrough('/posts/n', { method: 'POST', body: 'x' })
    expect(post.cache).toBe('BYPASS')
    expect((await fetchThrough('/posts/n')).cache).toBe('MISS')
  })

  it('invalidate the same-host Location they redirect to', async () => {
    await fetchThrough('/posts/o')
    answer(() => ({ status: 302, headers: { location: '/posts/o#comment-1' } }))
    await fetchThrough('/wp-comments-post.php', { method: 'POST', body: 'x' })
    answer(page({ 'cache-control': 'max-age=60' }))
    expect((await fetchThrough('/posts/o')).cache).toBe('MISS')
  })

  it('leave the copy alone when the origin answers with an error', async () => {
    await fetchThrough('/posts/p')
    answer(() => ({ status: 500, body: 'oops' }))
    await fetchThrough('/posts/p', { method: 'POST', body: 'x' })
    expect((await fetchThrough('/posts/p')).cache).toBe('HIT')
  })
})
