import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { fastHeaders, fastHit } from '../../worker/cache/fast-hit'
import {
  isStorable,
  judge,
  keepSeconds,
  lookupRequest,
  newPolicy,
  policyRequest,
  readerHeaders,
  refreshed,
  selectedBy304,
  servableOnError,
  validators,
} from '../../worker/cache/policy'

const KEY = 'https://blog.example/__georoute/cache/0/posts/a'
const PUBLIC_URL = new URL('https://blog.example/posts/a')
const T0 = Date.UTC(2030, 0, 1)
const view = (headers: Record<string, string> = {}) =>
  policyRequest(KEY, PUBLIC_URL, new Headers(headers))

interface Options {
  status?: number
  request?: Record<string, string>
  readerCacheControl?: string
  defaultTtl?: number
}

/** The policy for a response stored at T0. */
function stored(headers: Record<string, string>, options: Options = {}) {
  const response = { status: options.status ?? 200, headers: new Headers(headers) }
  const policy = newPolicy(
    view(options.request),
    options.readerCacheControl ?? null,
    response,
    options.defaultTtl,
  )
  return { policy, object: policy.toObject(), storable: isStorable(policy, response.headers) }
}

const at = (seconds: number) => vi.setSystemTime(T0 + seconds * 1000)
const verdict = (headers: Record<string, string>, seconds: number, options: Options = {}) => {
  at(0)
  const { object } = stored(headers, options)
  at(seconds)
  return judge(object, view(options.request)).verdict
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] })
  at(0)
})

afterEach(() => {
  vi.useRealTimers()
})

describe('isStorable', () => {
  it('keeps a public response with max-age', () => {
    expect(stored({ 'cache-control': 'public, max-age=60' }).storable).toBe(true)
  })

  it.each(['private, max-age=60', 'no-store', 'max-age=60, no-store'])(
    'never keeps Cache-Control: %s',
    (cc) => {
      expect(stored({ 'cache-control': cc }).storable).toBe(false)
    },
  )

  it('never keeps a response that sets a cookie, even a public one', () => {
    const headers = { 'cache-control': 'public, max-age=60', 'set-cookie': 'sid=1' }
    expect(stored(headers).storable).toBe(false)
  })

  it.each(['*', 'Authorization', 'accept, authorization'])('never keeps Vary: %s', (vary) => {
    expect(stored({ 'cache-control': 'public, max-age=60', vary }).storable).toBe(false)
  })

  it('does not keep a response to a request with Authorization when it only says max-age', () => {
    const request = { authorization: 'Bearer t' }
    expect(stored({ 'cache-control': 'max-age=60' }, { request }).storable).toBe(false)
  })

  it.each(['public, max-age=60', 's-maxage=60', 'max-age=60, must-revalidate'])(
    'keeps a response to a request with Authorization that says %s',
    (cc) => {
      const request = { authorization: 'Bearer t' }
      expect(stored({ 'cache-control': cc }, { request }).storable).toBe(true)
    },
  )

  it('does not keep anything when the reader says no-store', () => {
    const headers = { 'cache-control': 'public, max-age=60' }
    expect(stored(headers, { readerCacheControl: 'no-store' }).storable).toBe(false)
  })

  it('does not keep a response without caching headers when no default TTL covers it', () => {
    expect(stored({ 'content-type': 'application/json' }).storable).toBe(false)
  })

  it('keeps a response without caching headers that a default TTL covers', () => {
    expect(stored({ 'content-type': 'text/html' }, { defaultTtl: 60 }).storable).toBe(true)
  })

  it('applies no default TTL to a status a cache may not keep heuristically (302)', () => {
    expect(stored({ location: '/x' }, { status: 302, defaultTtl: 60 }).storable).toBe(false)
  })

  it('keeps no credential and no cookie in the stored request', () => {
    const request = { authorization: 'Bearer secret', 'accept-language': 'fr', 'user-agent': 'x' }
    const { object } = stored(
      { 'cache-control': 's-maxage=60', vary: 'Accept-Language' },
      { request },
    )
    expect(object.reqh).toEqual({
      host: 'blog.example',
      authorization: 'present',
      'accept-language': 'fr',
    })
  })
})

describe('judge: freshness', () => {
  it('serves a response within max-age', () => {
    expect(verdict({ 'cache-control': 'max-age=60' }, 59)).toBe('fresh')
  })

  it('revalidates a response past max-age', () => {
    expect(verdict({ 'cache-control': 'max-age=60' }, 61)).toBe('stale')
  })

  it('lets s-maxage win over max-age in a shared cache', () => {
    expect(verdict({ 'cache-control': 'max-age=10, s-maxage=100' }, 50)).toBe('fresh')
  })

  it('follows Expires when there is no max-age', () => {
    const headers = {
      date: new Date(T0).toUTCString(),
      expires: new Date(T0 + 60_000).toUTCString(),
    }
    expect(verdict(headers, 30)).toBe('fresh')
    expect(verdict(headers, 90)).toBe('stale')
  })

  it('uses the default TTL for a response without caching headers', () => {
    expect(verdict({ 'content-type': 'text/html' }, 59, { defaultTtl: 60 })).toBe('fresh')
    expect(verdict({ 'content-type': 'text/html' }, 61, { defaultTtl: 60 })).toBe('stale')
  })

  it('never uses the default TTL over the origin own headers', () => {
    expect(verdict({ 'cache-control': 'no-cache' }, 1, { defaultTtl: 600 })).toBe('stale')
  })

  it('revalidates a no-cache response every time', () => {
    expect(verdict({ 'cache-control': 'no-cache', etag: '"a"' }, 0)).toBe('stale')
  })

  it('serves a fresh must-revalidate response without revalidating it', () => {
    expect(verdict({ 'cache-control': 'max-age=60, must-revalidate' }, 30)).toBe('fresh')
  })

  it('serves a fresh proxy-revalidate response without revalidating it', () => {
    expect(verdict({ 'cache-control': 'max-age=60, proxy-revalidate' }, 30)).toBe('fresh')
  })

  it('does not let a reader reload (Cache-Control: no-cache) empty the edge', () => {
    const { object } = stored({ 'cache-control': 'max-age=60' })
    at(10)
    expect(judge(object, view({ 'cache-control': 'no-cache', pragma: 'no-cache' })).verdict).toBe(
      'fresh',
    )
  })
})

describe('judge: stale-while-revalidate', () => {
  const swr = { 'cache-control': 'max-age=60, stale-while-revalidate=30' }

  it('serves a stale response within the window while refreshing it', () => {
    expect(verdict(swr, 75)).toBe('stale-while-revalidate')
  })

  it('revalidates first past the window', () => {
    expect(verdict(swr, 95)).toBe('stale')
  })

  it('never serves a must-revalidate response stale', () => {
    const headers = { 'cache-control': 'max-age=60, stale-while-revalidate=30, must-revalidate' }
    expect(verdict(headers, 75)).toBe('stale')
  })
})

describe('judge: which requests an entry can serve', () => {
  const varies = { 'cache-control': 'max-age=60', vary: 'Accept-Language' }

  it('serves the variant the reader asked for', () => {
    const { object } = stored(varies, { request: { 'accept-language': 'fr' } })
    expect(judge(object, view({ 'accept-language': 'fr' })).verdict).toBe('fresh')
  })

  it('does not serve another variant, fresh or stale', () => {
    const { object } = stored(varies, { request: { 'accept-language': 'fr' } })
    expect(judge(object, view({ 'accept-language': 'de' })).verdict).toBe('unusable')
    at(120)
    expect(judge(object, view({ 'accept-language': 'de' })).verdict).toBe('unusable')
  })

  it('ignores Vary: Accept-Encoding (the runtime decodes and re-encodes bodies)', () => {
    const headers = { 'cache-control': 'max-age=60', vary: 'Accept-Encoding' }
    const { object } = stored(headers, { request: { 'accept-encoding': 'gzip' } })
    expect(judge(object, view({ 'accept-encoding': 'br' })).verdict).toBe('fresh')
  })

  it('does not serve a reader with Authorization from an entry that is not explicitly shared', () => {
    const { object } = stored({ 'cache-control': 'max-age=60' })
    expect(judge(object, view({ authorization: 'Bearer t' })).verdict).toBe('unusable')
  })

  it('serves a reader with Authorization from a public entry', () => {
    const { object } = stored({ 'cache-control': 'public, max-age=60' })
    expect(judge(object, view({ authorization: 'Bearer t' })).verdict).toBe('fresh')
  })
})

describe('judge: Vary on what the origin saw', () => {
  const varies = (field: string) => ({ 'cache-control': 'max-age=60', vary: field })
  const lookup = (object: ReturnType<typeof stored>['object'], headers: Record<string, string>) =>
    judge(object, lookupRequest(KEY, PUBLIC_URL, new Headers(headers), object)).verdict

  it('stores the X-Forwarded-For the edge sent, not the one the reader sent', () => {
    const { object } = stored(varies('X-Forwarded-For'), {
      request: { 'cf-connecting-ip': '1.1.1.1', 'x-forwarded-for': '9.9.9.9' },
    })
    expect(object.reqh?.['x-forwarded-for']).toBe('1.1.1.1')
  })

  it('stores the public host and scheme for Vary: X-Forwarded-Host, X-Forwarded-Proto', () => {
    const { object } = stored(varies('X-Forwarded-Host, X-Forwarded-Proto'), {
      request: { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'http' },
    })
    expect([object.reqh?.['x-forwarded-host'], object.reqh?.['x-forwarded-proto']]).toEqual([
      'blog.example',
      'https',
    ])
  })

  it('matches Vary: X-Forwarded-For on the client address, never on a forged field', () => {
    const { object } = stored(varies('X-Forwarded-For'), {
      request: { 'cf-connecting-ip': '1.1.1.1' },
    })
    expect(lookup(object, { 'cf-connecting-ip': '1.1.1.1', 'x-forwarded-for': '2.2.2.2' })).toBe(
      'fresh',
    )
    expect(lookup(object, { 'cf-connecting-ip': '2.2.2.2', 'x-forwarded-for': '1.1.1.1' })).toBe(
      'unusable',
    )
  })

  it('matches a field no fill carries as absent, whatever the reader sends', () => {
    const { object } = stored(varies('True-Client-IP, Cookie, Expect'), {
      request: { 'true-client-ip': '1.1.1.1', cookie: 'a=1', expect: '100-continue' },
    })
    expect(lookup(object, { 'true-client-ip': '2.2.2.2', cookie: 'b=2' })).toBe('fresh')
  })

  it('matches a field the reader names in Connection as absent', () => {
    const { object } = stored(varies('X-Theme'), { request: { 'x-theme': 'dark' } })
    expect(lookup(object, { connection: 'x-theme', 'x-theme': 'dark' })).toBe('unusable')
    expect(lookup(object, { 'x-theme': 'dark' })).toBe('fresh')
  })
})

describe('servableOnError', () => {
  const rules = { staleIfErrorSeconds: 86_400, staleIfErrorOverridesOrigin: false }
  const servable = (cc: string, seconds: number, overrides: Partial<typeof rules> = {}) => {
    const { object } = stored({ 'cache-control': cc })
    at(seconds)
    return servableOnError(object, judge(object, view()).policy, { ...rules, ...overrides })
  }

  it('serves a stale page within the blog floor', () => {
    expect(servable('max-age=60', 3600)).toBe(true)
  })

  it('stops past the floor', () => {
    expect(servable('max-age=60', 60 + 86_400 + 1)).toBe(false)
  })

  it('honors a longer stale-if-error from the origin', () => {
    expect(servable('max-age=60, stale-if-error=172800', 60 + 100_000)).toBe(true)
  })

  it('serves nothing stale with the floor off and no stale-if-error', () => {
    expect(servable('max-age=60', 120, { staleIfErrorSeconds: 0 })).toBe(false)
  })

  it.each([
    'no-cache',
    'max-age=60, must-revalidate',
    's-maxage=60',
    'max-age=60, proxy-revalidate',
  ])('does not apply the floor to %s', (cc) => {
    expect(servable(cc, 3600)).toBe(false)
  })

  it('applies the floor to them when the blog overrides the origin', () => {
    expect(servable('no-cache', 3600, { staleIfErrorOverridesOrigin: true })).toBe(true)
    expect(
      servable('max-age=60, must-revalidate', 3600, { staleIfErrorOverridesOrigin: true }),
    ).toBe(true)
  })

  it('never serves a must-revalidate response stale on its own stale-if-error', () => {
    expect(servable('max-age=60, must-revalidate, stale-if-error=3600', 120)).toBe(false)
  })
})

describe('keepSeconds', () => {
  it('keeps a copy for its freshness plus the floor', () => {
    expect(keepSeconds(stored({ 'cache-control': 'max-age=60' }).object, 86_400)).toBe(86_460)
  })

  it('keeps a copy for its longest stale window when that exceeds the floor', () => {
    const { object } = stored({ 'cache-control': 'max-age=60, stale-while-revalidate=100000' })
    expect(keepSeconds(object, 0)).toBe(100_060)
  })
})

describe('readerHeaders', () => {
  it('reports the age of the copy', () => {
    const { object } = stored({ 'cache-control': 'max-age=600' })
    at(42)
    expect(readerHeaders(judge(object, view()).policy).get('age')).toBe('42')
  })

  it('shows the origin Cache-Control, never the default TTL we supplied', () => {
    const origin = stored({ 'cache-control': 'public, max-age=600' })
    expect(readerHeaders(origin.policy).get('cache-control')).toBe('public, max-age=600')
    const defaulted = stored({ 'content-type': 'text/html' }, { defaultTtl: 60 })
    expect(readerHeaders(defaulted.policy).has('cache-control')).toBe(false)
  })
  it('keeps the Date the origin sent, however old the copy', () => {
    const date = new Date(T0).toUTCString()
    const { object } = stored({ 'cache-control': 'max-age=600', date })
    at(42)
    const headers = readerHeaders(judge(object, view()).policy)
    expect(headers.get('date')).toBe(date)
    expect(headers.get('age')).toBe('42')
  })

  it('dates a copy the origin sent undated when it was received', () => {
    const { object } = stored({ 'cache-control': 'max-age=600' })
    at(42)
    expect(readerHeaders(judge(object, view()).policy).get('date')).toBe(new Date(T0).toUTCString())
  })
})

describe('revalidation', () => {
  it('asks with the stored ETag and Last-Modified', () => {
    const lastModified = new Date(T0 - 86_400_000).toUTCString()
    const { policy } = stored({
      'cache-control': 'no-cache',
      etag: '"v1"',
      'last-modified': lastModified,
    })
    expect(validators(policy, view())).toEqual({
      'if-none-match': '"v1"',
      'if-modified-since': lastModified,
    })
  })

  it('takes the new headers of a 304 and is fresh again', () => {
    const { policy } = stored({ 'cache-control': 'max-age=60', etag: '"v1"' })
    at(100)
    const result = refreshed(
      policy,
      view(),
      new Headers({ 'cache-control': 'max-age=300', etag: '"v1"' }),
    )
    expect(result.matches).toBe(true)
    at(350)
    expect(judge(result.policy.toObject(), view()).verdict).toBe('fresh')
  })

  it('refreshes a copy from a 304 that repeats no validator', () => {
    const { policy } = stored({ 'cache-control': 'max-age=60', etag: '"v1"' })
    at(100)
    const result = refreshed(policy, view(), new Headers({ 'cache-control': 'max-age=300' }))
    expect(result.matches).toBe(true)
    at(350)
    expect(judge(result.policy.toObject(), view()).verdict).toBe('fresh')
  })

  it('adds the fields of a 304 the stored response lacked, and replaces those it had', () => {
    const { policy } = stored({ 'cache-control': 'max-age=60', etag: '"v1"', 'x-a': '1' })
    const result = refreshed(policy, view(), new Headers({ 'x-a': '2', 'x-b': '3' }))
    const headers = readerHeaders(result.policy)
    expect([headers.get('x-a'), headers.get('x-b'), headers.get('etag')]).toEqual([
      '2',
      '3',
      '"v1"',
    ])
  })

  it('keeps the length and coding of the stored body and never stores a cookie from a 304', () => {
    const { policy } = stored({
      'cache-control': 'max-age=60',
      etag: '"v1"',
      'content-type': 'text/plain',
      'content-length': '5',
    })
    const result = refreshed(
      policy,
      view(),
      new Headers({ 'content-length': '0', 'content-encoding': 'gzip', 'set-cookie': 'a=b' }),
    )
    const headers = result.policy.toObject().resh
    expect(headers['content-length']).toBe('5')
    expect(headers['content-encoding']).toBeUndefined()
    expect(headers['set-cookie']).toBeUndefined()
  })

  it('counts the age of a refreshed copy from the 304, not from the first fill', () => {
    const { policy } = stored({ 'cache-control': 'max-age=60', etag: '"v1"', age: '50' })
    at(100)
    const result = refreshed(policy, view(), new Headers({ etag: '"v1"' }))
    expect(readerHeaders(result.policy).get('age')).toBe('0')
  })

  it('does not refresh a copy from a 304 for another representation', () => {
    const { policy } = stored({ 'cache-control': 'max-age=60', etag: '"v1"' })
    expect(refreshed(policy, view(), new Headers({ etag: '"v2"' })).matches).toBe(false)
  })
})

describe('selectedBy304', () => {
  it('matches a strong ETag only to the same strong ETag', () => {
    expect(selectedBy304({ etag: '"a"' }, { etag: '"a"' })).toBe(true)
    expect(selectedBy304({ etag: 'W/"a"' }, { etag: '"a"' })).toBe(false)
    expect(selectedBy304({ etag: '"a"' }, { etag: '"b"' })).toBe(false)
  })

  it('matches a weak ETag by weak comparison', () => {
    expect(selectedBy304({ etag: '"a"' }, { etag: 'W/"a"' })).toBe(true)
    expect(selectedBy304({ etag: 'W/"a"' }, { etag: 'W/"a"' })).toBe(true)
  })

  it('matches by Last-Modified when the 304 has no entity tag', () => {
    const date = 'Wed, 01 Jan 2020 00:00:00 GMT'
    expect(selectedBy304({ 'last-modified': date }, { 'last-modified': date })).toBe(true)
    expect(selectedBy304({ etag: '"a"' }, { 'last-modified': date })).toBe(false)
  })

  it('selects the stored response for a 304 with no validator', () => {
    expect(selectedBy304({ etag: '"a"' }, {})).toBe(true)
  })
})

describe('fastHit: the precomputed hit agrees with the full policy', () => {
  const cases: [string, Record<string, string>, Options?][] = [
    ['max-age', { 'cache-control': 'public, max-age=60' }],
    ['s-maxage', { 'cache-control': 'max-age=5, s-maxage=60' }],
    ['Expires', { expires: new Date(T0 + 60_000).toUTCString(), date: new Date(T0).toUTCString() }],
    ['default TTL', { 'content-type': 'text/html' }, { defaultTtl: 60 }],
    ['an Age from upstream', { 'cache-control': 'max-age=60', age: '20' }],
    ['must-revalidate', { 'cache-control': 'max-age=60, must-revalidate' }],
    ['stale-while-revalidate', { 'cache-control': 'max-age=60, stale-while-revalidate=600' }],
    ['no-cache', { 'cache-control': 'no-cache, max-age=60' }],
    ['Vary: Accept-Encoding', { 'cache-control': 'max-age=60', vary: 'Accept-Encoding' }],
    [
      'hop-by-hop fields',
      { 'cache-control': 'max-age=60', connection: 'x-hop', 'x-hop': '1', 'keep-alive': 'a' },
    ],
    ['a 1xx warning', { 'cache-control': 'max-age=60', warning: '110 - "stale"' }],
    [
      'heuristic freshness under a day',
      {
        date: new Date(T0).toUTCString(),
        'last-modified': new Date(T0 - 86_400_000).toUTCString(),
      },
    ],
  ]

  it.each(cases)(
    '%s: fresh exactly when judge says fresh, with the same headers',
    (_, headers, options) => {
      at(0)
      const { object } = stored(headers, options)
      const fast = fastHit(object)
      for (const seconds of [0, 1, 19, 30, 39, 40, 59, 60, 61, 3_000]) {
        at(seconds)
        const now = Date.now()
        const full = judge(object, view(options?.request))
        const fastFresh = fast !== undefined && now < fast.until
        expect(fastFresh, `at ${seconds}s`).toBe(full.verdict === 'fresh')
        if (fast && fastFresh) {
          expect(fast.status).toBe(object.st)
          expect(fastHeaders(fast, now)).toEqual(Object.fromEntries(full.headers ?? []))
        }
      }
    },
  )

  it('has no fast path for an entry that varies on a request field', () => {
    const { object } = stored(
      { 'cache-control': 'max-age=60', vary: 'Accept-Language' },
      { request: { 'accept-language': 'fr' } },
    )
    expect(fastHit(object)).toBeUndefined()
  })

  it('has a fast path for heuristic freshness, capped at heuristicMaxSeconds', () => {
    const { object } = stored({
      date: new Date(T0).toUTCString(),
      'last-modified': new Date(T0 - 365 * 86_400_000).toUTCString(),
    })
    expect(judge(object, view()).verdict).toBe('fresh')
    expect(fastHit(object)?.until).toBe(T0 + 86_400_000)
  })

  it('has no fast path for an entry stored stale', () => {
    const { object } = stored({ 'cache-control': 'max-age=0' })
    expect(fastHit(object)).toBeUndefined()
  })
})
