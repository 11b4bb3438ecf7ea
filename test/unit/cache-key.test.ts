import { describe, expect, it } from 'vitest'
import { globsMatcher } from '../../worker/cache/glob'
import {
  cacheKey,
  fillEdge,
  fillValue,
  isKeyed,
  isUnkeyed,
  keyOf,
  normalizedQuery,
  normalizedUrl,
  shareableHeaders,
  UNKEYED_NAMES,
} from '../../worker/cache/key'
import { RULED_NAMES, upstreamHeaders } from '../../worker/proxy/headers'

const isIgnored = globsMatcher(['utm_*', 'fbclid', 'gclid', 'mc_eid'])
const key = (url: string, generation = 0) =>
  cacheKey(normalizedUrl(new URL(url), isIgnored), generation)

describe('normalizedQuery', () => {
  it('drops tracking parameters', () => {
    expect(normalizedQuery('?utm_source=x&p=2&fbclid=abc&gclid=1&mc_eid=9', isIgnored)).toBe('?p=2')
  })

  it('drops a tracking parameter whose name is percent-encoded', () => {
    expect(normalizedQuery('?utm%5Fsource=x&p=2', isIgnored)).toBe('?p=2')
  })

  it('sorts parameters by name', () => {
    expect(normalizedQuery('?b=2&a=1&c=3', isIgnored)).toBe('?a=1&b=2&c=3')
  })

  it('keeps the order of the values of a repeated name', () => {
    expect(normalizedQuery('?tag=b&x=1&tag=a', isIgnored)).toBe('?tag=b&tag=a&x=1')
  })

  it('keeps the encoding of values', () => {
    expect(normalizedQuery('?q=a%2Bb&r=c+d', isIgnored)).toBe('?q=a%2Bb&r=c+d')
  })

  it('is empty when only tracking parameters or empty pairs remain', () => {
    expect(normalizedQuery('?utm_medium=social&&', isIgnored)).toBe('')
  })
})

describe('cacheKey', () => {
  it('is the key the hit path builds from the reader URL parts (origin, path, query)', () => {
    for (const raw of [
      'https://blog.example/',
      'https://blog.example/posts/a?b=2&a=1&utm_source=x',
      'http://blog.example:8787/p%C3%A9/x?q=a%2Bb&r=c+d&&z',
      "https://blog.example/a'b?x='y'&tag=b&tag=a",
      'https://blog.example/a?utm_medium=social&&',
      'https://blog.example/a?%7Bq%7D=1&q=%22x%22',
    ]) {
      const url = new URL(raw)
      const parts = keyOf(url.origin, url.pathname, normalizedQuery(url.search, isIgnored), 3)
      expect(parts, raw).toBe(key(raw, 3))
    }
  })

  it('is the same for a URL with tracking parameters and without', () => {
    expect(key('https://blog.example/posts/a?utm_source=news&fbclid=1')).toBe(
      key('https://blog.example/posts/a'),
    )
  })

  it('is the same whatever the order of the parameters', () => {
    expect(key('https://blog.example/?page=2&cat=x')).toBe(
      key('https://blog.example/?cat=x&page=2'),
    )
  })

  it('ignores the fragment', () => {
    expect(key('https://blog.example/posts/a#comments')).toBe(key('https://blog.example/posts/a'))
  })

  it('differs by scheme, host, path and remaining query', () => {
    const keys = new Set([
      key('https://blog.example/posts/a'),
      key('http://blog.example/posts/a'),
      key('https://other.example/posts/a'),
      key('https://blog.example/posts/b'),
      key('https://blog.example/posts/a?p=2'),
    ])
    expect(keys.size).toBe(5)
  })

  it('changes with the purge generation', () => {
    expect(key('https://blog.example/', 1)).not.toBe(key('https://blog.example/', 2))
  })

  it('lives in the reserved /__georoute/ space, so no reader path can name it', () => {
    expect(key('https://blog.example/posts/a?p=1', 7)).toBe(
      'https://blog.example/__georoute/cache/7/posts/a?p=1',
    )
  })
})

describe('shareableHeaders', () => {
  const reader = new Headers({
    accept: 'text/html',
    'accept-language': 'fr',
    authorization: 'Bearer t',
    cookie: '_ga=1',
    'cache-control': 'no-cache',
    'if-none-match': '"v1"',
    'if-modified-since': 'Tue, 01 Jan 2030 00:00:00 GMT',
    range: 'bytes=0-1',
    'x-forwarded-host': 'evil.example',
    'x-forwarded-scheme': 'http',
    'x-original-url': '/admin',
    'x-http-method-override': 'DELETE',
    'x-host': 'evil.example',
  })
  const shared = shareableHeaders(reader)

  it.each([
    'cookie',
    'cache-control',
    'if-none-match',
    'if-modified-since',
    'range',
    'x-forwarded-host',
    'x-forwarded-scheme',
    'x-original-url',
    'x-http-method-override',
    'x-host',
  ])('leaves out %s, which is not in the key', (name) => {
    expect(shared.has(name)).toBe(false)
  })

  it.each(['true-client-ip', 'x-client-ip', 'x-backend-host', 'x-forwarded', 'x_forwarded_host'])(
    'leaves out %s, which names the client or the host',
    (name) => {
      expect(isUnkeyed(name)).toBe(true)
      expect(shareableHeaders(new Headers({ [name]: 'evil.example' })).has(name)).toBe(false)
    },
  )

  it('keeps content negotiation and credentials (the storage rules judge those)', () => {
    expect(shared.get('accept')).toBe('text/html')
    expect(shared.get('accept-language')).toBe('fr')
    expect(shared.get('authorization')).toBe('Bearer t')
  })
})

describe('fillValue: what the origin sees of a field on a cache fill', () => {
  const PUBLIC = new URL('https://blog.example/posts/a')
  const value = (name: string, init: Record<string, string>) => {
    const reader = new Headers(init)
    return fillValue(name, reader, fillEdge(reader, PUBLIC))
  }

  it("is the client's address for X-Forwarded-For, whatever the reader sent", () => {
    const init = { 'cf-connecting-ip': '1.1.1.1', 'x-forwarded-for': '2.2.2.2' }
    expect(value('x-forwarded-for', init)).toBe('1.1.1.1')
  })

  it('is absent for X-Forwarded-For when the edge knows no client address', () => {
    expect(value('x-forwarded-for', { 'x-forwarded-for': '2.2.2.2' })).toBeUndefined()
  })

  it('is the public host and scheme for X-Forwarded-Host and X-Forwarded-Proto', () => {
    const init = { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'http' }
    expect([value('x-forwarded-host', init), value('x-forwarded-proto', init)]).toEqual([
      'blog.example',
      'https',
    ])
  })

  it("is the reader's CDN-Loop with our token added", () => {
    expect(value('cdn-loop', { 'cdn-loop': 'other' })).toBe('other, georoute')
  })

  it.each([
    ['cookie', 'a=1'],
    ['true-client-ip', '1.1.1.1'],
    ['x_forwarded_host', 'evil.example'],
    ['te', 'trailers'],
    ['expect', '100-continue'],
    ['cf-connecting-ip', '1.1.1.1'],
    ['if-none-match', '"v1"'],
  ])('is absent for %s, which no fill carries', (name, sent) => {
    expect(value(name, { [name]: sent })).toBeUndefined()
  })

  it('is absent for a field the reader names in Connection', () => {
    expect(value('x-theme', { connection: 'x-theme', 'x-theme': 'dark' })).toBeUndefined()
  })

  it("is the reader's own value for a field the key keeps", () => {
    expect(value('accept-language', { 'accept-language': 'fr' })).toBe('fr')
  })

  it('agrees with the headers a fill sends for every name the upstream and key rules list', () => {
    const names = [
      ...new Set([...RULED_NAMES, ...UNKEYED_NAMES, 'accept-language', 'x-theme', 'x-custom']),
    ]
    const reader = new Headers({ 'cf-connecting-ip': '1.1.1.1' })
    for (const name of names) if (name !== 'connection') reader.set(name, `v-${name}`)
    reader.set('connection', 'keep-alive, x-theme')
    const edge = fillEdge(reader, PUBLIC)
    const sent = upstreamHeaders(reader, edge, { keep: isKeyed })
    for (const name of names) {
      expect([name, fillValue(name, reader, edge)]).toEqual([name, sent.get(name) ?? undefined])
    }
  })

  it('is built in one pass as the reader fields in the key, validators added, then the upstream rules', () => {
    const names = [
      ...new Set([...RULED_NAMES, ...UNKEYED_NAMES, 'accept-language', 'x-theme', 'x-custom']),
    ]
    const validators = {
      'if-none-match': '"ours"',
      'if-modified-since': 'Tue, 01 Dec 2026 00:00:00 GMT',
    }
    for (const connection of ['keep-alive, x-theme', 'if-none-match', undefined]) {
      const reader = new Headers({ 'cf-connecting-ip': '1.1.1.1' })
      for (const name of names) if (name !== 'connection') reader.set(name, `v-${name}`)
      if (connection) reader.set('connection', connection)
      else reader.delete('connection')
      const edge = fillEdge(reader, PUBLIC)
      const twoPasses = shareableHeaders(reader)
      for (const [name, value] of Object.entries(validators)) twoPasses.set(name, value)
      const expected = [...upstreamHeaders(twoPasses, edge)]
      expect([...upstreamHeaders(reader, edge, { keep: isKeyed, add: validators })]).toEqual(
        expected,
      )
      expect(expected.length).toBeGreaterThan(4)
    }
  })
})
