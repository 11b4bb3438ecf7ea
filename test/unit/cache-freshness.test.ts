import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { decideStorage, keepsFailure } from '../../worker/cache/decide'
import { fastHit } from '../../worker/cache/fast-hit'
import {
  isStorable,
  judge,
  lookupRequest,
  newPolicy,
  policyRequest,
  readerHeaders,
  refreshed,
} from '../../worker/cache/policy'

const KEY = 'https://blog.example/__georoute/cache/0/posts/a'
const PUBLIC_URL = new URL('https://blog.example/posts/a')
const T0 = Date.UTC(2030, 0, 1)
const DATE = new Date(T0).toUTCString()
const ago = (seconds: number) => new Date(T0 - seconds * 1000).toUTCString()
const view = (headers: Record<string, string> = {}) =>
  policyRequest(KEY, PUBLIC_URL, new Headers(headers))
const at = (seconds: number) => vi.setSystemTime(T0 + seconds * 1000)

interface Options {
  status?: number
  request?: Record<string, string>
  defaultTtl?: number
  heuristic?: { heuristicFraction: number; heuristicMaxSeconds: number }
}

function stored(headers: Record<string, string>, options: Options = {}) {
  const response = { status: options.status ?? 200, headers: new Headers(headers) }
  const policy = newPolicy(
    view(options.request),
    null,
    response,
    options.defaultTtl,
    options.heuristic,
  )
  return { policy, object: policy.toObject(), storable: isStorable(policy, response.headers) }
}

/** Stored at T0 (only when storable), judged `seconds` later: the verdict, or 'not stored'. */
function verdict(headers: Record<string, string>, seconds: number, options: Options = {}) {
  at(0)
  const { object, storable } = stored(headers, options)
  if (!storable) return 'not stored'
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

describe('CDN-Cache-Control (RFC 9213) replaces Cache-Control and Expires for this cache', () => {
  it('is fresh for a CDN-Cache-Control max-age without any Cache-Control', () => {
    expect(verdict({ 'cdn-cache-control': 'max-age=3600' }, 1800)).toBe('fresh')
  })

  it('keeps a max-age beyond 2^31 seconds fresh', () => {
    expect(verdict({ 'cdn-cache-control': 'max-age=99999999999' }, 86_400)).toBe('fresh')
  })

  it('prefers a long CDN max-age over a short Cache-Control max-age', () => {
    const headers = { 'cache-control': 'max-age=1', 'cdn-cache-control': 'max-age=3600' }
    expect(verdict(headers, 60)).toBe('fresh')
  })

  it('prefers a short CDN max-age over a long Cache-Control max-age', () => {
    const headers = { 'cache-control': 'max-age=3600', 'cdn-cache-control': 'max-age=1' }
    expect(verdict(headers, 60)).toBe('stale')
  })

  it('ignores a past Expires and is stale at max-age=0 whatever Expires says', () => {
    expect(
      verdict({ 'cdn-cache-control': 'max-age=3600', expires: ago(10_000), date: DATE }, 60),
    ).toBe('fresh')
    const future = new Date(T0 + 10_000_000).toUTCString()
    expect(verdict({ 'cdn-cache-control': 'max-age=0', expires: future, date: DATE }, 1)).toBe(
      'stale',
    )
  })

  it('stores a response with CDN-Cache-Control max-age even when Cache-Control says no-store', () => {
    const headers = { 'cache-control': 'no-store', 'cdn-cache-control': 'max-age=600' }
    expect(verdict(headers, 60)).toBe('fresh')
  })

  it.each(['private', 'no-store'])(
    'does not store CDN-Cache-Control: %s over a fresh Cache-Control',
    (cdn) => {
      const headers = { 'cache-control': 'max-age=10000', 'cdn-cache-control': cdn }
      expect(verdict(headers, 1)).toBe('not stored')
    },
  )

  it('revalidates CDN-Cache-Control: no-cache over a fresh Cache-Control', () => {
    const headers = { 'cache-control': 'max-age=10000', 'cdn-cache-control': 'no-cache' }
    expect(verdict(headers, 1)).toBe('stale')
  })

  it('lets Cloudflare-CDN-Cache-Control win over CDN-Cache-Control', () => {
    const headers = {
      'cdn-cache-control': 'max-age=3600',
      'cloudflare-cdn-cache-control': 'max-age=10',
    }
    expect(verdict(headers, 60)).toBe('stale')
  })

  it('shows readers Cache-Control and CDN-Cache-Control as sent, never Cloudflare-CDN-Cache-Control', () => {
    const { policy, object } = stored({
      'cache-control': 'max-age=1',
      'cdn-cache-control': 'max-age=600',
      'cloudflare-cdn-cache-control': 'max-age=600',
      expires: ago(0),
    })
    const headers = readerHeaders(policy)
    expect(headers.get('cache-control')).toBe('max-age=1')
    expect(headers.get('cdn-cache-control')).toBe('max-age=600')
    expect(headers.get('expires')).toBe(ago(0))
    expect(headers.has('cloudflare-cdn-cache-control')).toBe(false)
    expect(fastHit(object)?.headers['cloudflare-cdn-cache-control']).toBeUndefined()
  })

  it('keeps obeying CDN-Cache-Control after a 304 refreshes the entry', () => {
    at(0)
    const { object } = stored({
      'cache-control': 'max-age=1',
      'cdn-cache-control': 'max-age=60',
      etag: '"a"',
    })
    at(120)
    const { policy } = judge(object, view())
    const fresh = refreshed(policy, view(), new Headers({ etag: '"a"' }))
    at(150)
    expect(judge(fresh.policy.toObject(), view()).verdict).toBe('fresh')
  })
})

describe('Cache-Control and Expires parsing', () => {
  it('revalidates No-CaChE (directive names are case-insensitive)', () => {
    const headers = { 'cache-control': 'No-CaChE, max-age=3600', expires: ago(-3600), date: DATE }
    expect(verdict(headers, 1)).toBe('stale')
  })

  it('is fresh for MaX-AgE', () => {
    expect(verdict({ 'cache-control': 'MaX-AgE=3600' }, 60)).toBe('fresh')
  })

  it.each(['max-age =3600', 'max-age= 3600'])('ignores "%s" (no freshness from it)', (cc) => {
    expect(verdict({ 'cache-control': cc }, 60)).toBe('stale')
  })

  it.each([
    'Thu, 18 Aug 2050 02:01:18 UTC',
    'Thu 18 Aug 2050 02:01:18 GMT',
    'Thu, 18  Aug  2050 02:01:18 GMT',
    'Thu, 18-Aug-2050 02:01:18 GMT',
    'Thu, 18 Aug 2050 2:01:18 GMT',
  ])('takes an invalid Expires (%s) as already expired', (expires) => {
    expect(verdict({ expires, date: DATE }, 1)).toBe('stale')
  })

  it('is fresh until a future Expires in the obsolete RFC 850 form', () => {
    expect(verdict({ expires: 'Thursday, 18-Aug-50 02:01:18 GMT', date: DATE }, 86_400)).toBe(
      'fresh',
    )
  })

  it('ignores a fractional Age', () => {
    const headers = { 'cache-control': 'max-age=3600', age: '7200.0', date: DATE }
    expect(verdict(headers, 60)).toBe('fresh')
  })

  it('stores a no-cache="field" response for reuse without the listed fields', () => {
    const headers = { 'cache-control': 'no-cache="a, b", max-age=3600', a: '1', b: '2', c: '3' }
    at(0)
    const { policy, object, storable } = stored(headers)
    expect(storable).toBe(true)
    at(60)
    expect(judge(object, view()).verdict).toBe('fresh')
    const reader = readerHeaders(policy)
    expect([reader.has('a'), reader.has('b'), reader.get('c')]).toEqual([false, false, '3'])
  })
})

describe('statuses (RFC 9111 §3)', () => {
  it.each([299, 400, 499])('stores and serves a %d with explicit freshness', (status) => {
    expect(verdict({ 'cache-control': 'max-age=3600' }, 60, { status })).toBe('fresh')
  })

  it('does not store such a status without explicit freshness or public', () => {
    expect(verdict({ 'last-modified': ago(86_400) }, 1, { status: 400 })).toBe('not stored')
  })

  it('ignores no-store with must-understand for a status it understands', () => {
    const headers = { 'cache-control': 'max-age=3600, no-store, must-understand' }
    expect(verdict(headers, 60)).toBe('fresh')
    expect(verdict(headers, 60, { status: 599 })).toBe('not stored')
  })

  it('shares a must-revalidate response with readers sending Authorization (§3.5)', () => {
    const request = { authorization: 'Bearer t' }
    const headers = { 'cache-control': 'max-age=3600, must-revalidate' }
    expect(verdict(headers, 60, { request })).toBe('fresh')
  })
})

describe('heuristic freshness (RFC 9111 §4.2.2)', () => {
  const lastModified = (seconds: number) => ({ date: DATE, 'last-modified': ago(seconds) })

  it('keeps a response with Last-Modified fresh for a tenth of its age', () => {
    expect(verdict(lastModified(10_000), 999)).toBe('fresh')
    expect(verdict(lastModified(10_000), 1001)).toBe('stale')
  })

  it('caps heuristic freshness at heuristicMaxSeconds', () => {
    const heuristic = { heuristicFraction: 0.1, heuristicMaxSeconds: 600 }
    expect(verdict(lastModified(86_400 * 30), 599, { heuristic })).toBe('fresh')
    expect(verdict(lastModified(86_400 * 30), 601, { heuristic })).toBe('stale')
  })

  it('gives none with heuristicFraction 0, nor without Last-Modified', () => {
    const heuristic = { heuristicFraction: 0, heuristicMaxSeconds: 600 }
    expect(verdict(lastModified(86_400), 1, { heuristic })).toBe('not stored')
    expect(verdict({ date: DATE }, 1)).toBe('not stored')
  })

  it.each([204, 404, 410, 501])('applies to a %d', (status) => {
    expect(verdict(lastModified(86_400), 60, { status })).toBe('fresh')
  })

  it.each([201, 403, 502, 503])('does not apply to a %d', (status) => {
    expect(verdict(lastModified(86_400), 60, { status })).toBe('not stored')
  })

  it('applies to any status with public', () => {
    const headers = { ...lastModified(86_400), 'cache-control': 'public' }
    expect(verdict(headers, 60, { status: 599 })).toBe('fresh')
  })

  it('gives way to a default TTL rule for a response without caching headers', () => {
    expect(verdict(lastModified(86_400), 61, { defaultTtl: 60 })).toBe('stale')
  })

  it('ignores a response Pragma: no-cache (it has no meaning in a response, §5.4)', () => {
    expect(verdict({ ...lastModified(10_000), pragma: 'no-cache' }, 60)).toBe('fresh')
  })

  it('never applies to a response that sets a cookie', () => {
    expect(verdict({ ...lastModified(10_000), 'set-cookie': 'a=1' }, 1)).toBe('not stored')
  })
})

describe('keepsFailure and decideStorage for an origin 5xx', () => {
  const failed = (status: number, headers: Record<string, string>, origin: unknown = 'tokyo') => ({
    failed: 'all-failed',
    origin,
    response: { status, headers: new Headers(headers) },
  })

  it('keeps a 5xx the origin made cacheable, and a 501 (cacheable by default)', () => {
    expect(keepsFailure(failed(503, { 'cache-control': 'max-age=60' }))).toBe(true)
    expect(keepsFailure(failed(599, { 'cache-control': 'public' }))).toBe(true)
    expect(keepsFailure(failed(501, {}))).toBe(true)
  })

  it('never keeps a 502/503/504 that says nothing, nor georoute own 503 page', () => {
    expect(keepsFailure(failed(502, { 'last-modified': ago(86_400) }))).toBe(false)
    expect(keepsFailure(failed(503, { 'cache-control': 'max-age=60' }, null))).toBe(false)
  })

  it('stores a failed answer only while it is fresh', () => {
    const facts = (headers: Record<string, string>) => ({
      request: view(),
      readerCacheControl: null,
      response: { status: 503, headers: new Headers(headers) },
      defaultTtl: undefined,
      origin: 'tokyo',
      staleIfErrorSeconds: 86_400,
      failed: true,
    })
    expect(decideStorage(facts({ 'cache-control': 'max-age=60' })).store).toBe(true)
    expect(decideStorage(facts({ expires: '0' })).store).toBe(false)
  })
})

describe('Vary: request fields normalised before matching', () => {
  it('serves an Accept-Language variant to the same languages written differently', () => {
    const request = { 'accept-language': 'en, de' }
    at(0)
    const { object } = stored(
      { 'cache-control': 'max-age=600', vary: 'Accept-Language' },
      { request },
    )
    at(60)
    const other = (value: string) =>
      judge(
        object,
        lookupRequest(KEY, PUBLIC_URL, new Headers({ 'accept-language': value }), object),
      ).verdict
    expect([other('de, en'), other('eN, De'), other(' en ,   de')]).toEqual([
      'fresh',
      'fresh',
      'fresh',
    ])
    expect(other('fr')).toBe('unusable')
  })
})
