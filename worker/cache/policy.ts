/**
 * Storability and freshness, decided by http-cache-semantics (RFC 9111 for a shared cache, plus
 * RFC 5861's stale-while-revalidate and stale-if-error). Pure: no I/O, the clock is `Date.now`.
 */
import CachePolicy from 'http-cache-semantics'
import { connectionNamed, EDGE_FIELDS, edgeValue } from '../proxy/headers'
import {
  cacheDirectives,
  type Directives,
  normaliseVaried,
  parseAge,
  parseHttpDate,
} from './directives'
import { fillEdge, fillValue, isSentOnFill } from './key'

export type PolicyObject = CachePolicy.CachePolicyObject
type HeaderMap = Record<string, string>

/** A request as the policy sees it (lowercase header names). */
export interface PolicyRequest {
  url: string
  method: 'GET'
  headers: HeaderMap
}

/** What a stored entry can do for one request. */
export type Verdict = 'fresh' | 'stale-while-revalidate' | 'stale' | 'unusable'

// Statuses a cache may keep without explicit freshness (RFC 9110 §15.1): the only ones our
// default TTLs and heuristic freshness (RFC 9111 §4.2.2) apply to, unless `public` says so.
export const HEURISTIC = new Set([200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501])

// Statuses whose semantics http-cache-semantics knows: any other final status is kept only
// with explicit freshness or `public` (RFC 9111 §3), and `must-understand` (§5.2.2.3) lets
// a `no-store` be ignored only for these.
const UNDERSTOOD = new Set([200, 203, 204, 300, 301, 302, 303, 307, 308, 404, 405, 410, 414, 501])

// Marks in a stored policy's directives (`rescc`, never shown to readers) for freshness we
// supplied: from `defaultTtls` (the value is the TTL) or heuristic (the value is the cap).
const DEFAULT_MARK = 'georoute-default'
const HEURISTIC_MARK = 'georoute-heuristic'
// `must-revalidate` as the stored policy keeps it for our stale rules (see `loadPolicy`).
const REVALIDATE_MARK = 'georoute-must-revalidate'

/** Heuristic freshness (RFC 9111 §4.2.2), from `settings.cache`. */
export interface HeuristicRules {
  /** Share of the time since `Last-Modified` a response stays fresh. */
  heuristicFraction: number
  /** The most freshness a heuristic gives, in seconds. */
  heuristicMaxSeconds: number
}

/** The defaults of `settings.cache` (settings.ts). */
export const DEFAULT_HEURISTIC: HeuristicRules = {
  heuristicFraction: 0.1,
  heuristicMaxSeconds: 86_400,
}

// Response fields a cache reads for freshness and that readers never see from us.
const TARGETED_PRIVATE = 'cloudflare-cdn-cache-control'

type Internals = { _status: number; _rescc: Record<string, string | boolean> }

/**
 * http-cache-semantics with two RFC 9111 rules it lacks: any final status may be stored with
 * explicit freshness or `public` (§3: the library only keeps statuses it lists), and
 * `must-revalidate` lets a response to a request with `Authorization` be shared (§3.5) also
 * when `loadPolicy` has set it aside for our stale rules.
 */
class Policy extends CachePolicy {
  override storable(): boolean {
    const self = this as unknown as Internals
    const status = self._status
    if (UNDERSTOOD.has(status) || status < 200 || status === 206 || status === 304) {
      return super.storable()
    }
    const cc = self._rescc
    if (cc['max-age'] === undefined && cc['s-maxage'] === undefined && cc.public === undefined) {
      return false
    }
    // Judged as a status the library knows; the stored status is unchanged.
    self._status = 200
    try {
      return super.storable()
    } finally {
      self._status = status
    }
  }

  _allowsStoringAuthenticated(): boolean {
    const cc = (this as unknown as Internals)._rescc
    return !!(
      cc['must-revalidate'] ||
      cc[REVALIDATE_MARK] !== undefined ||
      cc.public ||
      cc['s-maxage']
    )
  }
}

const OPTIONS: CachePolicy.Options = { shared: true }

const ONE_YEAR = 31_536_000

/** A directive's value in whole seconds (0 when absent or not a number). */
function directiveSeconds(value: string | undefined): number {
  const n = Number.parseInt(value ?? '', 10)
  return Number.isFinite(n) && n > 0 ? n : 0
}

/** Field names listed in a `Vary` header, lowercased. */
export function varyNames(vary: string | string[] | null | undefined): string[] {
  if (!vary) return []
  return String(vary)
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== '')
}

/**
 * The request as a policy judges it: the fields a cache fill for this reader sends the origin
 * (`fillValue`, key.ts: the reader's shareable fields that are forwarded, and the edge's own
 * `X-Forwarded-*` and `CDN-Loop`), so that `Vary` is matched on what the origin saw when an
 * entry is stored, and on what it would see for this reader when one is looked up, never on the
 * reader's own values of fields the edge sets, drops or withholds. So `Vary: X-Forwarded-For`
 * keeps one entry per client address (the edge's, not a forged one), `Vary: X-Forwarded-Host`
 * matches on the public host, and a field no fill carries (`Cookie`, `True-Client-IP`, a
 * hop-by-hop field) is absent on both sides: every reader matches the variant made without it.
 * That is safe because it is what the origin answered: a fill never carries the reader's cookie,
 * so the stored page is the cookie-less page (readers with bypass cookies bypass the cache).
 * A HEAD reads the GET entry; the reader's cache directives are left out (RFC 9111 §5.2.1 makes
 * them preferences: a reload must not empty the edge); `Accept-Encoding` too, since the runtime
 * negotiates encodings with each side itself. `publicUrl`: the normalized URL the fill asks for.
 */
export function policyRequest(key: string, publicUrl: URL, headers: Headers): PolicyRequest {
  const map: HeaderMap = {}
  const named = connectionNamed(headers)
  headers.forEach((value, name) => {
    if (isSentOnFill(name, named)) map[name] = value
  })
  const edge = fillEdge(headers, publicUrl)
  for (const name of EDGE_FIELDS) {
    const value = edgeValue(name, headers, edge)
    if (value !== undefined) map[name] = value
  }
  delete map['accept-encoding']
  // Only whether it was sent matters to RFC 9111 §3.5; the credential itself is never stored.
  if (map.authorization !== undefined) map.authorization = 'present'
  map.host = publicUrl.host
  return { url: key, method: 'GET', headers: map }
}

/**
 * The same request as `policyRequest`, reduced to what judging `stored` reads: the fields its
 * `Vary` names (as a fill would send them, `fillValue`), and whether credentials were sent.
 * Cheaper on the full path than every field; an entry without `Vary` costs nothing more.
 */
export function lookupRequest(
  key: string,
  publicUrl: URL,
  headers: Headers,
  stored: PolicyObject,
): PolicyRequest {
  const map: HeaderMap = { host: publicUrl.host }
  if (headers.has('authorization')) map.authorization = 'present'
  const vary = varyNames(stored.resh.vary)
  if (vary.length === 0) return { url: key, method: 'GET', headers: map }
  const edge = fillEdge(headers, publicUrl)
  const named = connectionNamed(headers)
  for (const name of vary) {
    if (name === 'accept-encoding' || name === 'authorization') continue
    const value = fillValue(name, headers, edge, named)
    if (value !== undefined) map[name] = normaliseVaried(name, value)
  }
  return { url: key, method: 'GET', headers: map }
}

/** What a stored policy keeps of the request: the fields its rules read, nothing personal. */
function storedRequest(
  request: PolicyRequest,
  readerCacheControl: string | null,
  vary: string | string[] | undefined,
): PolicyRequest {
  const headers: HeaderMap = { host: request.headers.host ?? '' }
  if (request.headers.authorization !== undefined) headers.authorization = 'present'
  // Kept so that a reader's `no-store` request directive (a MUST, §5.2.1.5) stops the store.
  if (readerCacheControl) headers['cache-control'] = readerCacheControl
  for (const name of varyNames(vary)) {
    const value = request.headers[name]
    if (value !== undefined) headers[name] = normaliseVaried(name, value)
  }
  return { ...request, headers }
}

/** Response headers as the policy keeps them: what the reader will be shown. */
function responseMap(headers: Headers): HeaderMap {
  const map: HeaderMap = {}
  headers.forEach((value, name) => {
    map[name] = value
  })
  // The body is stored decoded; a wire length of an encoded body would be wrong for it.
  if (map['content-encoding']) delete map['content-length']
  // An `Age` that is not delta-seconds (`1.5`) is ignored (RFC 9111 §5.1); readers get ours.
  const age = parseAge(map.age)
  if (age === undefined) delete map.age
  else map.age = String(age)
  return map
}

/**
 * True when a response gives its own freshness or makes itself shareable, by the directives
 * this cache obeys: `max-age`, `s-maxage`, `public`, or (under Cache-Control) `Expires`.
 */
export function hasExplicitFreshness(headers: Headers): boolean {
  const { directives: cc, source } = cacheDirectives((name) => headers.get(name))
  if (cc['max-age'] !== undefined || cc['s-maxage'] !== undefined || cc.public !== undefined) {
    return true
  }
  return source === 'cache-control' && headers.has('expires')
}

/** True when a response says nothing at all about caching (no caching field). */
function isSilent(resh: CachePolicy.Headers): boolean {
  return (
    resh['cache-control'] === undefined &&
    resh['cdn-cache-control'] === undefined &&
    resh[TARGETED_PRIVATE] === undefined &&
    resh.expires === undefined &&
    resh.pragma === undefined
  )
}

/** What the freshness of a stored policy is worked out from, besides its headers. */
interface FreshnessFacts extends HeuristicRules {
  /** Freshness from `settings.cache.defaultTtls` for a response that says nothing; or none. */
  defaultTtl: number | undefined
}

/**
 * The directives this cache obeys for a response (what the policy library judges by), with
 * the freshness RFC 9111 derives from other fields made explicit as `max-age`, so that the
 * library's lenient date parsing never decides: the targeted fields first (RFC 9213), else
 * `Cache-Control`, then `Expires` (§5.3: an invalid date is already expired), then the
 * blog's `defaultTtls` for a response that says nothing, then a heuristic from
 * `Last-Modified` (§4.2.2). A response `Pragma` has no meaning for a cache (§5.4).
 */
export function effectiveDirectives(
  status: number,
  resh: CachePolicy.Headers,
  now: number,
  facts: FreshnessFacts,
): { directives: Directives; omit: string[] } {
  const get = (name: string) => {
    const value = resh[name]
    return Array.isArray(value) ? value.join(', ') : value
  }
  const { directives, source } = cacheDirectives(get)
  const cc: Directives = { ...directives }
  // §5.2.2.3: `must-understand` overrides `no-store` for a status we understand, and only then.
  if (cc['must-understand'] !== undefined) {
    if (UNDERSTOOD.has(status)) delete cc['no-store']
    else cc['no-store'] = true
  }
  // §5.2.2.4: a qualified `no-cache="field"` only keeps those fields from reuse: omitted.
  const omit: string[] = []
  const noCache = cc['no-cache']
  if (noCache === '') cc['no-cache'] = true
  else if (typeof noCache === 'string') {
    for (const name of noCache.split(',')) omit.push(name.trim().toLowerCase())
    delete cc['no-cache']
  }
  if (cc['max-age'] !== undefined || cc['s-maxage'] !== undefined) return { directives: cc, omit }
  const date = parseHttpDate(get('date'), now) ?? now
  const expires = get('expires')
  if (source === 'cache-control' && expires !== undefined) {
    const at = parseHttpDate(expires, now)
    const lifetime = at === undefined ? 0 : Math.max(0, Math.floor((at - date) / 1000))
    cc['max-age'] = String(lifetime)
    return { directives: cc, omit }
  }
  const heuristic = HEURISTIC.has(status) || cc.public !== undefined
  if (!heuristic || cc['no-store'] !== undefined || cc['no-cache'] !== undefined) {
    return { directives: cc, omit }
  }
  if (facts.defaultTtl !== undefined && HEURISTIC.has(status) && isSilent(resh)) {
    cc['max-age'] = String(facts.defaultTtl)
    cc[DEFAULT_MARK] = String(facts.defaultTtl)
    return { directives: cc, omit }
  }
  const modified = parseHttpDate(get('last-modified'), now)
  if (modified !== undefined && date > modified) {
    const cap = facts.heuristicMaxSeconds
    const lifetime = Math.min(cap, Math.floor((facts.heuristicFraction * (date - modified)) / 1000))
    if (lifetime >= 1) {
      cc['max-age'] = String(lifetime)
      cc[HEURISTIC_MARK] = String(cap)
    }
  }
  return { directives: cc, omit }
}

/** `policy` with the directives this cache obeys in place of the library's own reading. */
function targeted(policy: CachePolicy, facts: FreshnessFacts): CachePolicy {
  const object = policy.toObject()
  const { directives, omit } = effectiveDirectives(object.st, object.resh, object.t, facts)
  const resh = { ...object.resh }
  for (const name of omit) delete resh[name]
  // The library keeps `true` for a directive without a value, whatever its types say.
  const rescc = directives as PolicyObject['rescc']
  return Policy.fromObject({ ...object, resh, rescc })
}

/** The policy for an origin response to `request`. */
export function newPolicy(
  request: PolicyRequest,
  readerCacheControl: string | null,
  response: { status: number; headers: Headers },
  defaultTtl: number | undefined,
  heuristic: HeuristicRules = DEFAULT_HEURISTIC,
): CachePolicy {
  const resh = responseMap(response.headers)
  const policy = new Policy(
    storedRequest(request, readerCacheControl, resh.vary),
    { status: response.status, headers: resh },
    { ...OPTIONS, cacheHeuristic: heuristic.heuristicFraction },
  )
  return targeted(policy, { ...heuristic, defaultTtl })
}

/**
 * May this response be kept for others? RFC 9111 §3 (via the library, on the directives this
 * cache obeys) plus: never a response that sets a cookie (it belongs to one reader), never
 * `Vary: *`, never one that varies on the credentials (we keep no credentials to tell readers
 * apart), and never one that says nothing about caching and has no freshness from a default
 * TTL rule or from its `Last-Modified` (a dynamic page without validators stays uncached).
 */
export function isStorable(policy: CachePolicy, headers: Headers): boolean {
  if (!policy.storable() || headers.has('set-cookie')) return false
  const { rescc, resh } = policy.toObject()
  if (isSilent(resh) && rescc['max-age'] === undefined) return false
  const vary = varyNames(headers.get('vary'))
  return !vary.includes('*') && !vary.includes('authorization')
}

/**
 * The stored policy ready to judge. http-cache-semantics 4.3 makes `must-revalidate` revalidate
 * even fresh responses and gives `proxy-revalidate` no freshness at all (kornelski/
 * http-cache-semantics#54); RFC 9111 §5.2.2.2 and §5.2.2.8 only forbid reuse once *stale*. So
 * freshness is judged without them, and `revalidateOnceStale` carries them to our stale rules.
 */
export function loadPolicy(stored: PolicyObject): {
  policy: CachePolicy
  revalidateOnceStale: boolean
} {
  const { 'must-revalidate': must, 'proxy-revalidate': proxy, ...rest } = stored.rescc
  if (must === undefined && proxy === undefined) {
    return { policy: Policy.fromObject(stored), revalidateOnceStale: false }
  }
  // `must-revalidate` still lets a response to `Authorization` be shared (§3.5): kept as a mark.
  if (must !== undefined) rest[REVALIDATE_MARK] = ''
  return { policy: Policy.fromObject({ ...stored, rescc: rest }), revalidateOnceStale: true }
}

/** Directives that let a response be reused for a request carrying `Authorization` (§3.5). */
function sharesWithAuthorized(rescc: PolicyObject['rescc']): boolean {
  return (
    rescc.public !== undefined ||
    rescc['s-maxage'] !== undefined ||
    rescc['must-revalidate'] !== undefined
  )
}

/**
 * A policy's header map as the reader sees it: what the origin sent, without
 * `Cloudflare-CDN-Cache-Control` (meant for this cache only, never passed on, as on
 * Cloudflare; `CDN-Cache-Control` is passed on for caches further down) and without the
 * freshness entries of an earlier version put in `Cache-Control`.
 */
export function withoutDefaultMark(map: CachePolicy.Headers): Record<string, string> {
  const cc = map['cache-control']
  if (typeof cc === 'string' && cc.includes(DEFAULT_MARK)) delete map['cache-control']
  delete map[TARGETED_PRIVATE]
  // Every value is a string: the maps are built from `Headers`, which joins repeated fields.
  return map as Record<string, string>
}

/** Reader headers from a policy's header map (one call into the runtime, not one per field). */
function headersFrom(map: CachePolicy.Headers): Headers {
  return new Headers(withoutDefaultMark(map))
}

/**
 * What a stored entry can do for `request`: serve as is, serve while refreshing, or neither;
 * with the headers for the reader when it can serve.
 */
export function judge(
  stored: PolicyObject,
  request: PolicyRequest,
): { verdict: Verdict; policy: CachePolicy; headers?: Headers } {
  const { policy, revalidateOnceStale } = loadPolicy(stored)
  if (request.headers.authorization !== undefined && !sharesWithAuthorized(stored.rescc)) {
    return { verdict: 'unusable', policy }
  }
  const { response, revalidation } = policy.evaluateRequest(request)
  if (!revalidation) return { verdict: 'fresh', policy, headers: readerHeaders(policy) }
  if (response && !revalidateOnceStale) {
    return { verdict: 'stale-while-revalidate', policy, headers: readerHeaders(policy) }
  }
  if (response) return { verdict: 'stale', policy }
  // A miss means stale, or another variant (Vary). Asking again with `max-stale` accepts any
  // age, so a second miss can only mean the stored response does not match (RFC 9111 §4.1).
  const anyAge = policy.evaluateRequest({
    ...request,
    headers: { ...request.headers, 'cache-control': 'max-stale' },
  })
  return { verdict: anyAge.revalidation ? 'unusable' : 'stale', policy }
}

/** The conditional fields (`If-None-Match`, `If-Modified-Since`) to revalidate a stored entry. */
export function validators(policy: CachePolicy, request: PolicyRequest): HeaderMap {
  const all = policy.revalidationHeaders(request)
  const out: HeaderMap = {}
  for (const name of ['if-none-match', 'if-modified-since']) {
    const value = all[name]
    if (typeof value === 'string' && value !== '') out[name] = value
  }
  return out
}

// A stored entity tag (RFC 9110 §8.8.3): `W/` (case-sensitive) marks it weak; opaque-tag quoted.
const ENTITY_TAG = /^\s*(W\/)?("[^"]*")\s*$/

function entityTag(value: string | undefined): { weak: boolean; opaque: string } | undefined {
  const match = ENTITY_TAG.exec(value ?? '')
  return match ? { weak: match[1] !== undefined, opaque: match[2] as string } : undefined
}

/**
 * Whether a 304 selects the stored response it answers (RFC 9111 §4.3.4). A strong ETag selects
 * the entry with that strong ETag, a weak one the entry it weakly matches, a Last-Modified the
 * entry with that date. A 304 with no validator selects the entry: it answers a request that
 * carried only this entry's validators (`askOrigin` never forwards the reader's), and one key
 * (variant) holds one stored response, so there is no other it could be about.
 */
export function selectedBy304(stored: HeaderMap, notModified: HeaderMap): boolean {
  const tag = entityTag(notModified.etag)
  if (tag) {
    const own = entityTag(stored.etag)
    return own !== undefined && own.opaque === tag.opaque && (tag.weak || !own.weak)
  }
  const lastModified = notModified['last-modified']
  if (lastModified !== undefined) return stored['last-modified'] === lastModified
  return true
}

// What a 304 never changes in the stored response (RFC 9111 §3.2): its length, the coding of a
// body we store decoded (the RFC's own example of a field a cache may keep), the framing; and a
// cookie, which goes to the reader it was sent to but is never shared (DESIGN.md).
const NOT_REFRESHED = new Set([
  'content-length',
  'content-encoding',
  'transfer-encoding',
  'set-cookie',
])

/**
 * The stored policy refreshed by a 304 (RFC 9111 §4.3.4): the 304's fields added to the stored
 * ones, replacing those present (§3.2), as received now. `matches` false when the 304 does not
 * select the stored response (`selectedBy304`), which it then cannot refresh.
 */
export function refreshed(
  policy: CachePolicy,
  request: PolicyRequest,
  notModified: Headers,
): { policy: CachePolicy; matches: boolean } {
  const stored = policy.toObject()
  const answer: HeaderMap = {}
  notModified.forEach((value, name) => {
    answer[name] = value
  })
  if (!selectedBy304(stored.resh as HeaderMap, answer)) return { policy, matches: false }
  const headers: HeaderMap = { ...(stored.resh as HeaderMap) }
  // The stored Age was the age at the last fill; the 304's (or none) is the age now.
  delete headers.age
  for (const [name, value] of Object.entries(answer)) {
    if (!NOT_REFRESHED.has(name)) headers[name] = value
  }
  const age = parseAge(headers.age)
  if (age === undefined) delete headers.age
  else headers.age = String(age)
  const kept = storedRequest(request, null, headers.vary)
  // Our directives again, from the refreshed headers, with the freshness rules the entry was
  // stored under (marks in its directives; the heuristic fraction is the library's `ch`).
  const cap = Number(stored.rescc[HEURISTIC_MARK])
  const ttl = Number(stored.rescc[DEFAULT_MARK])
  const facts: FreshnessFacts = {
    heuristicFraction: stored.ch ?? DEFAULT_HEURISTIC.heuristicFraction,
    heuristicMaxSeconds: Number.isFinite(cap) ? cap : DEFAULT_HEURISTIC.heuristicMaxSeconds,
    defaultTtl: Number.isFinite(ttl) ? ttl : undefined,
  }
  const options = { ...OPTIONS, cacheHeuristic: facts.heuristicFraction }
  const fresh = new Policy(kept, { status: stored.st, headers }, options)
  return { policy: targeted(fresh, facts), matches: true }
}

/** The blog's stale-if-error rules, from `settings.cache`. */
export interface StaleRules {
  staleIfErrorSeconds: number
  staleIfErrorOverridesOrigin: boolean
}

/**
 * May this stale entry stand in when every origin failed? Within the origin's own
 * `stale-if-error` (RFC 5861 §4), or within the blog's floor: an out-of-band permission that
 * RFC 9111 §4.2.4 allows, unless the response forbids stale reuse (no-cache, must-revalidate,
 * proxy-revalidate, s-maxage) and the blog has not chosen to override that.
 */
export function servableOnError(
  stored: PolicyObject,
  policy: CachePolicy,
  rules: StaleRules,
): boolean {
  const staleFor = Math.max(0, policy.age() - policy.maxAge())
  const cc = stored.rescc
  const override = rules.staleIfErrorOverridesOrigin
  const mustRevalidate = cc['must-revalidate'] !== undefined || cc['proxy-revalidate'] !== undefined
  const own = mustRevalidate && !override ? 0 : directiveSeconds(cc['stale-if-error'])
  const forbids = mustRevalidate || cc['no-cache'] !== undefined || cc['s-maxage'] !== undefined
  const floor = forbids && !override ? 0 : rules.staleIfErrorSeconds
  return staleFor < Math.max(own, floor)
}

/**
 * How long the Cache API keeps the copy: its remaining freshness plus the longest stale window
 * it might serve in. The Cache API drops entries when they expire and never serves stale, so
 * this physical lifetime is longer than the freshness we track ourselves.
 */
export function keepSeconds(stored: PolicyObject, floor: number): number {
  const { policy } = loadPolicy(stored)
  const fresh = Math.max(0, policy.maxAge() - policy.age())
  const cc = stored.rescc
  const stale = Math.max(
    directiveSeconds(cc['stale-while-revalidate']),
    directiveSeconds(cc['stale-if-error']),
    floor,
  )
  return Math.min(Math.ceil(fresh + stale), ONE_YEAR)
}

/**
 * Headers for a reader served from the cache: current `Age`, hop-by-hop removed, and the stored
 * `Date` (the library's `responseHeaders()` sets it to now; RFC 9110 §6.6.1: the Date is when
 * the origin generated the response, or, when it sent none, when we received it).
 */
export function readerHeaders(policy: CachePolicy): Headers {
  return headersFrom(servedHeaderMap(policy))
}

/** `readerHeaders` as a header map, the default freshness mark still in it. */
export function servedHeaderMap(policy: CachePolicy): CachePolicy.Headers {
  const map = policy.responseHeaders()
  const { resh, t } = policy.toObject()
  map.date = typeof resh.date === 'string' ? resh.date : new Date(t).toUTCString()
  return map
}
