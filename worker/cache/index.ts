/**
 * The edge cache around the proxy step: GET/HEAD are looked up first (a hit touches no origin
 * and does no ranking), misses and stale entries go to the origins through `fetchOrigin`, and
 * what RFC 9111 lets a shared cache keep is stored in this data center's Cache API.
 */
import type { Settings } from '../config'
import type { Env } from '../env'
import { memoizedOverrides, readOverrides } from '../overrides'
import type { ProxyOutcome, UpstreamRequest } from '../proxy'
import { notModified, notModifiedResponse, recordSource } from './conditional'
import { type Fast, fastHeaders } from './fast-hit'
import { cacheKey, keyOf, normalizedQuery, normalizedUrl, shareableHeaders, withQuery } from './key'
import { fits, hold, recall } from './memory'
import { isPassing, notePass } from './pass'
import {
  isStorable,
  judge,
  keepSeconds,
  loadPolicy,
  lookupRequest,
  newPolicy,
  type PolicyRequest,
  policyRequest,
  readerHeaders,
  refreshed,
  servableOnError,
  validators,
} from './policy'
import { type CacheRules, cacheRules, decodedPath } from './rules'
import {
  type Entry,
  full,
  lookUp,
  type Meta,
  once,
  read,
  readWhole,
  remove,
  type Stored,
  write,
} from './store'

export { purge } from './purge'

/** The `x-georoute-cache` values. */
export type CacheStatus = 'HIT' | 'MISS' | 'STALE' | 'BYPASS' | 'EXPIRED' | 'REVALIDATED'

/** Asks the ranked origins for `request` at `publicUrl`; never called for a fresh hit. */
export type FetchOrigin = (request: UpstreamRequest, publicUrl: URL) => Promise<ProxyOutcome>

export interface CacheContext {
  env: Env
  ctx: ExecutionContext
  settings: Settings
  publicUrl: URL
}

/** The reader's method and headers, read from the Request once (each read is a runtime call). */
export interface Reader {
  method: string
  headers: Headers
}

/** What the cache step answers, with what the trace headers need. */
export interface Served {
  response: Response
  cache: CacheStatus
  /** The origin that produced the response, or filled the entry it came from. */
  origin?: string
  /** The proxy step, when origins were asked in the reader's time. */
  outcome?: ProxyOutcome
  /** Time spent reading the cache, ms. */
  cacheMs: number
}

/** One cacheable request, as the steps below share it. */
interface Lookup {
  request: Request
  context: CacheContext
  rules: CacheRules
  /** The normalized public URL: what the origin is asked for. */
  url: URL
  key: string
  view: PolicyRequest
  fetchOrigin: FetchOrigin
}

// RFC 9110 §9.2.1; any other method may change the resource (RFC 9111 §4.4).
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE'])
const NULL_BODY = new Set([101, 103, 204, 205, 304])

const passed = (outcome: ProxyOutcome): Served => ({
  response: outcome.response,
  cache: 'BYPASS',
  origin: outcome.origin?.id,
  outcome,
  cacheMs: 0,
})

/** A body to answer with: streamed from the Cache API, or held in memory. */
type Body = ReadableStream | Uint8Array | null

/** A fresh hit, ready to answer: no origin, no policy, headers as a plain record. */
export interface FreshHit {
  body: Body
  status: number
  /** The reader's headers (lower-case names), before the trace headers are added. */
  headers: Record<string, string>
  /** The origin that filled the entry. */
  origin?: string
  /** Time spent reading the cache, ms. */
  cacheMs: number
}

/** Where the cache step goes on from when the request is not a fresh hit. */
export interface Pending {
  rules: CacheRules
  /** Set when the request may use the cache (GET/HEAD, no bypass rule). */
  cached?: {
    /** The normalized public URL: what the origin is asked for. */
    url: URL
    key: string
    /** The URL answered unshareably a moment ago: no lookup was made. */
    passing: boolean
    /** What the lookup found (a stale, foreign or other-reader entry; or nothing). */
    entry: Entry | undefined
    cacheMs: number
  }
}

/** What the cache makes of a request before any origin is considered. */
export type Opened = { hit: FreshHit; pending?: undefined } | { hit?: undefined; pending: Pending }

/**
 * The cache's first step, taken before any routing: decides whether the request may use the
 * cache and looks it up. A fresh hit for a reader without credentials comes back ready to
 * answer (from facts precomputed when the entry was stored); anything else comes back as the
 * state `throughCache` goes on from, so the entry is never looked up twice.
 */
export async function openCache(
  reader: Reader,
  context: CacheContext & { path: string; origin: string },
  started: number,
): Promise<Opened> {
  const rules = cacheRules(context.settings)
  const { method, headers } = reader
  if ((method !== 'GET' && method !== 'HEAD') || rules.bypass(headers, context.path)) {
    return { pending: { rules } }
  }
  const { purgeGeneration } =
    memoizedOverrides(started) ?? (await readOverrides(context.env.HEALTH, started))
  const { publicUrl } = context
  const search = publicUrl.search
  const query = normalizedQuery(search, rules.isIgnoredParam)
  const url = query === search && publicUrl.hash === '' ? publicUrl : withQuery(publicUrl, query)
  const key = keyOf(context.origin, context.path, query, purgeGeneration)
  if (isPassing(key, started)) {
    return { pending: { rules, cached: { url, key, passing: true, entry: undefined, cacheMs: 0 } } }
  }
  const credentials = headers.has('authorization')
  const held = credentials ? undefined : recall(key, started)
  if (held) return { hit: freshHit(held.fast, held.body, started, 0) }
  const entry = await lookUp(key)
  const cacheMs = Date.now() - started
  const fast = entry?.fast
  let found = entry
  if (fast && started < fast.until && !credentials) {
    const { memory } = context.settings.cache
    if (!fits(fast.size, memory)) return { hit: freshHit(fast, entry.body, started, cacheMs) }
    // Small enough for the memory tier: read it whole once, and hold it for the next hits.
    const whole = await readWhole(entry)
    if (whole) {
      hold(key, fast, whole, started, memory)
      return { hit: freshHit(fast, whole, started, cacheMs) }
    }
    // Its body could not be read: a miss.
    found = undefined
  }
  return { pending: { rules, cached: { url, key, passing: false, entry: found, cacheMs } } }
}

function freshHit(fast: Fast, body: Body, now: number, cacheMs: number): FreshHit {
  const origin = fast.origin ?? undefined
  return { body, status: fast.status, headers: fastHeaders(fast, now), origin, cacheMs }
}

/**
 * The reader's Response for a fresh hit, built once from its headers and `trace` (set, except
 * `server-timing`, which joins any the origin sent): a 304 for the reader's own validators (with
 * the trace too), no body for HEAD.
 */
export function hitResponse(
  reader: Reader,
  hit: FreshHit,
  trace: Record<string, string>,
): Response {
  const { headers } = hit
  const timing = headers['server-timing']
  Object.assign(headers, trace)
  if (timing && trace['server-timing']) {
    headers['server-timing'] = `${timing}, ${trace['server-timing']}`
  }
  const response = answer(reader, hit.body, headers, hit.status)
  // A 304 carries only validators and freshness from the entry: the trace goes on it as well.
  if (response.status === 304) {
    for (const [name, value] of Object.entries(trace)) response.headers.set(name, value)
  }
  return response
}

/**
 * Serves what `openCache` left pending: asks the origins through `fetchOrigin` when it must,
 * answers stale and revalidated entries, and stores what RFC 9111 lets a shared cache keep.
 */
export async function throughCache(
  request: Request,
  context: CacheContext,
  fetchOrigin: FetchOrigin,
  { rules, cached }: Pending,
): Promise<Served> {
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    const outcome = await fetchOrigin(request, context.publicUrl)
    if (!SAFE.has(request.method) && rules.settings.enabled) {
      await invalidate(outcome, context, rules)
    }
    return passed(outcome)
  }
  if (!cached) return passed(await fetchOrigin(request, context.publicUrl))
  const { url, key, entry, cacheMs } = cached
  if (cached.passing) {
    const lookup: Lookup = {
      request,
      context,
      rules,
      url,
      key,
      // Only a storable answer (which ends the pass) needs the request as a policy sees it.
      get view() {
        return policyRequest(key, url.host, request.headers)
      },
      fetchOrigin,
    }
    return keep(lookup, await ask(lookup), 'MISS', 0)
  }
  const stored = await full(entry)
  const view = stored
    ? lookupRequest(key, url.host, request.headers, stored.meta.policy)
    : policyRequest(key, url.host, request.headers)
  const lookup: Lookup = { request, context, rules, url, key, view, fetchOrigin }
  if (!stored) return keep(lookup, await ask(lookup), 'MISS', cacheMs)

  const { verdict, policy, headers } = judge(stored.meta.policy, view)
  const origin = stored.meta.origin ?? undefined
  const status = stored.meta.policy.st
  if (headers && verdict === 'fresh') {
    const response = answer(lookup.request, stored.body, headers, status)
    return { response, cache: 'HIT', origin, cacheMs }
  }
  if (headers && verdict === 'stale-while-revalidate') {
    refreshLater(lookup, validators(policy, view))
    const response = answer(lookup.request, stored.body, headers, status)
    return { response, cache: 'STALE', origin, cacheMs }
  }
  if (verdict === 'stale') return revalidate(lookup, stored, cacheMs)
  // Another variant, or not shareable with this reader's credentials: ask the origin.
  void stored.body?.cancel()
  return keep(lookup, await ask(lookup), 'MISS', cacheMs)
}

/** The shareable GET for the origin (a HEAD too: its answer fills the entry for both). */
function ask(lookup: Lookup, conditional: Record<string, string> = {}): Promise<ProxyOutcome> {
  const headers = shareableHeaders(lookup.request.headers)
  for (const [name, value] of Object.entries(conditional)) headers.set(name, value)
  // No Request object: the proxy reads only these fields and copies the headers once more.
  return lookup.fetchOrigin({ method: 'GET', headers, body: null }, lookup.url)
}

/** The reader's response: a 304 for their own validators, no body for HEAD. */
function answer(
  reader: Reader,
  body: Body,
  headers: Headers | Record<string, string>,
  status: number,
): Response {
  const source = headers instanceof Headers ? headers : recordSource(headers)
  const conditional = notModified(reader.headers, status, source)
  if (conditional || reader.method === 'HEAD' || NULL_BODY.has(status)) {
    if (body instanceof ReadableStream) void body.cancel()
    return conditional ? notModifiedResponse(source) : new Response(null, { status, headers })
  }
  return new Response(body, { status, headers })
}

/**
 * Stores a full origin response when it may be kept, and answers the reader's share of its
 * body (`forReader` false: all of it goes to the cache). A response that may not be kept
 * replaces nothing but still retires the copy it superseded (`supersedes`).
 */
function store(
  lookup: Lookup,
  outcome: ProxyOutcome,
  { forReader, supersedes }: { forReader: boolean; supersedes: boolean },
): { body: ReadableStream | null; storing: Promise<unknown> } {
  const { response } = outcome
  const contentType = response.headers.get('content-type')
  const defaultTtl = lookup.rules.defaultTtl(decodedPath(lookup.url.pathname), contentType)
  const readerCacheControl = lookup.request.headers.get('cache-control')
  // Every field the origin saw: the response may name any of them in a new Vary.
  const request = policyRequest(lookup.key, lookup.url.host, lookup.request.headers)
  const policy = newPolicy(request, readerCacheControl, response, defaultTtl)
  if (!isStorable(policy, response.headers)) {
    if (!forReader) void response.body?.cancel()
    const storing = supersedes ? remove([lookup.key]) : Promise.resolve()
    return { body: forReader ? response.body : null, storing }
  }
  const meta: Meta = { policy: policy.toObject(), origin: outcome.origin?.id ?? null }
  const keepFor = keepSeconds(meta.policy, lookup.rules.settings.staleIfErrorSeconds)
  const [body, copy] = forReader && response.body ? response.body.tee() : [null, response.body]
  return { body, storing: write(lookup.key, copy, meta, keepFor, lookup.rules.settings.memory) }
}

/** Answers with a full origin response, storing it in the background when it may be kept. */
function keep(lookup: Lookup, outcome: ProxyOutcome, cache: CacheStatus, cacheMs: number): Served {
  const { response } = outcome
  const served: Served = { response, cache, origin: outcome.origin?.id, outcome, cacheMs }
  if (outcome.failed) return served
  if (notePass(lookup.key, response.headers, Date.now())) {
    // Never stored (no-store, private, Set-Cookie): no policy to build, only a copy to retire.
    if (cache === 'EXPIRED') lookup.context.ctx.waitUntil(remove([lookup.key]))
    served.response = answer(lookup.request, response.body, response.headers, response.status)
    return served
  }
  const { body, storing } = store(lookup, outcome, {
    forReader: true,
    supersedes: cache === 'EXPIRED',
  })
  lookup.context.ctx.waitUntil(storing)
  served.response = answer(lookup.request, body, response.headers, response.status)
  return served
}

/** A stale entry: revalidate with its validators; on failure, serve it stale if allowed. */
async function revalidate(lookup: Lookup, stored: Stored, cacheMs: number): Promise<Served> {
  const { policy } = loadPolicy(stored.meta.policy)
  const outcome = await ask(lookup, validators(policy, lookup.view))
  const { response } = outcome
  if (outcome.failed) {
    if (servableOnError(stored.meta.policy, policy, lookup.rules.settings)) {
      void response.body?.cancel()
      const stale = answer(
        lookup.request,
        stored.body,
        readerHeaders(policy),
        stored.meta.policy.st,
      )
      return {
        response: stale,
        cache: 'STALE',
        origin: stored.meta.origin ?? undefined,
        outcome,
        cacheMs,
      }
    }
    void stored.body?.cancel()
    return { response, cache: 'EXPIRED', outcome, cacheMs }
  }
  if (response.status !== 304) {
    void stored.body?.cancel()
    return keep(lookup, outcome, 'EXPIRED', cacheMs)
  }
  void response.body?.cancel()
  const fresh = refreshed(policy, lookup.view, response.headers)
  if (!fresh.matches) {
    // A 304 for another representation cannot refresh our copy: fetch the resource whole.
    void stored.body?.cancel()
    return keep(lookup, await ask(lookup), 'EXPIRED', cacheMs)
  }
  const meta: Meta = { policy: fresh.policy.toObject(), origin: stored.meta.origin }
  const [body, copy] = stored.body ? stored.body.tee() : [null, null]
  const keepFor = keepSeconds(meta.policy, lookup.rules.settings.staleIfErrorSeconds)
  lookup.context.ctx.waitUntil(write(lookup.key, copy, meta, keepFor, lookup.rules.settings.memory))
  const headers = readerHeaders(fresh.policy)
  return {
    response: answer(lookup.request, body, headers, meta.policy.st),
    cache: 'REVALIDATED',
    origin: outcome.origin?.id,
    outcome,
    cacheMs,
  }
}

/** stale-while-revalidate: refresh in the background, once per entry per isolate at a time. */
function refreshLater(lookup: Lookup, conditional: Record<string, string>): void {
  const task = once(lookup.key, async () => {
    const outcome = await ask(lookup, conditional)
    // On failure the stale copy stays, and serves until its windows close.
    if (outcome.failed) return
    if (outcome.response.status !== 304) {
      await store(lookup, outcome, { forReader: false, supersedes: true }).storing
      return
    }
    void outcome.response.body?.cancel()
    // The reader took the body we read; read the entry again to store it with new headers.
    const current = await read(lookup.key)
    if (!current) return
    const fresh = refreshed(
      loadPolicy(current.meta.policy).policy,
      lookup.view,
      outcome.response.headers,
    )
    if (!fresh.matches) {
      await current.body?.cancel()
      await remove([lookup.key])
      return
    }
    const meta: Meta = { policy: fresh.policy.toObject(), origin: current.meta.origin }
    const keepFor = keepSeconds(meta.policy, lookup.rules.settings.staleIfErrorSeconds)
    await write(lookup.key, current.body, meta, keepFor, lookup.rules.settings.memory)
  })
  if (task) lookup.context.ctx.waitUntil(task)
}

/**
 * RFC 9111 §4.4: a non-error answer to an unsafe method invalidates the target URI, and the
 * same-origin `Location`/`Content-Location` ones, in this data center (others keep their copy
 * until it expires or is purged).
 */
async function invalidate(
  outcome: ProxyOutcome,
  context: CacheContext,
  rules: CacheRules,
): Promise<void> {
  const { response } = outcome
  if (outcome.failed || response.status >= 400) return
  const { purgeGeneration } = await readOverrides(context.env.HEALTH)
  const targets = [context.publicUrl]
  for (const name of ['location', 'content-location']) {
    const value = response.headers.get(name)
    if (!value) continue
    try {
      const target = new URL(value, context.publicUrl)
      if (target.origin === context.publicUrl.origin) targets.push(target)
    } catch {
      // An unparsable header names nothing to invalidate.
    }
  }
  const keys = targets.map((t) => cacheKey(normalizedUrl(t, rules.isIgnoredParam), purgeGeneration))
  await remove(keys)
}
