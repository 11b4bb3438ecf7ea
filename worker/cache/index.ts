/**
 * The edge cache around the proxy step. One request's way through it, step by step (the file,
 * then the function that takes the step; decisions are pure, I/O is in the functions around them):
 *
 *  1. lookup       lookup.ts   `openCache`: bypass rules, key, memory tier (`recall`), Cache API
 *                              (`lookUp`). A fresh hit (`isFreshHit`) ends here: `hitResponse`.
 *  2. decide       decide.ts   `decideStored`: serve, serve stale and refresh, revalidate, fetch.
 *  3. serve        index.ts    `serveStored` (and `refreshLater`, refresh.ts, when stale)
 *     revalidate   index.ts    `revalidate`: `askOrigin` with validators, `decideRevalidated`
 *     fetch        index.ts    `fetchMissing`: waits for the same key's fill in flight, or
 *                              leads one (collapse.ts); `fetchAndStore`: `askOrigin` (fill.ts)
 *  4. storability  index.ts    `answerAndStore`: `notePass` (pass.ts), else `decideStorage`
 *  5. store        fill.ts     `storeResponse`, `storeRefreshed`: `write` (store.ts), in the
 *                              background (`ctx.waitUntil`)
 *  6. answer       answer.ts   `answer`: a 304 for the reader's validators, no body for HEAD
 *
 * Other methods skip it (`forwardOtherMethod`); a non-error answer to an unsafe one invalidates
 * what it changed (`invalidate`, invalidate.ts).
 */
import type CachePolicy from 'http-cache-semantics'
import type { ProxyOutcome } from '../proxy'
import { answer } from './answer'
import { flightFor, type Landing, mayLead, mayWait, takeOff, waitFor } from './collapse'
import { decideRevalidated, decideStored, keepsFailure } from './decide'
import { fastHeaders, isFreshHit } from './fast-hit'
import { askOrigin, shareFailure, storeRefreshed, storeResponse } from './fill'
import { invalidate } from './invalidate'
import type { Pending } from './lookup'
import { recall } from './memory'
import { notePass } from './pass'
import { lookupRequest, policyRequest, readerHeaders } from './policy'
import { refreshLater } from './refresh'
import type { CacheRules } from './rules'
import { full, read, remove, type Stored } from './store'
import type { CacheableRequest, CacheContext, CacheStatus, FetchOrigin, Served } from './types'

export { type FreshHit, hitResponse, type Opened, openCache, type Pending } from './lookup'
export { purge } from './purge'
export type { CacheContext, CacheStatus, FetchOrigin, Reader, Served } from './types'

// DESIGN.md: every method but GET, HEAD and OPTIONS counts as a write (TRACE too, when
// `proxy.allowMethods` lets it through); a write may change the resource (RFC 9111 §4.4).
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS'])

const passed = (outcome: ProxyOutcome): Served => ({
  response: outcome.response,
  cache: 'BYPASS',
  origin: outcome.origin?.id,
  outcome,
  cacheMs: 0,
})

/**
 * Serves what `openCache` left pending (steps 2 to 6): asks the origins through `fetchOrigin`
 * when it must, answers stale and revalidated entries, and stores what RFC 9111 lets a shared
 * cache keep.
 */
export async function throughCache(
  request: Request,
  context: CacheContext,
  fetchOrigin: FetchOrigin,
  { rules, cached }: Pending,
): Promise<Served> {
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    return forwardOtherMethod(request, context, fetchOrigin, rules)
  }
  // A bypass rule (or the cache turned off): straight to the origins, nothing stored.
  if (!cached) return passed(await fetchOrigin(request, context.publicUrl))
  const { url, key, entry, cacheMs } = cached
  // Hit-for-pass: nothing was looked up; fetch, and store the answer if it may now be shared.
  if (cached.passing) {
    const cacheable: CacheableRequest = {
      request,
      context,
      rules,
      url,
      key,
      // Only a storable answer (which ends the pass) needs the request as a policy sees it.
      get view() {
        return policyRequest(key, url, request.headers)
      },
      fetchOrigin,
    }
    return fetchAndStore(cacheable, 'MISS', 0)
  }
  // Step 2: the entry's full metadata (a foreign or corrupt one is a miss), then the decision.
  const stored = await full(entry)
  const view = stored
    ? lookupRequest(key, url, request.headers, stored.meta.policy)
    : policyRequest(key, url, request.headers)
  const cacheable: CacheableRequest = { request, context, rules, url, key, view, fetchOrigin }
  if (!stored) return fetchMissing(cacheable, cacheMs, true)
  return fromStored(cacheable, stored, cacheMs)
}

/**
 * Steps 2 and 3 for a stored entry (read after waiting for its fill when `waited`: a miss then
 * asks the origin itself, without waiting again).
 */
function fromStored(
  cacheable: CacheableRequest,
  stored: Stored,
  cacheMs: number,
  waited = false,
): Served | Promise<Served> {
  const decision = decideStored(stored.meta.policy, cacheable.view)
  switch (decision.action) {
    case 'serve':
      return serveStored(cacheable, stored, decision.headers, 'HIT', cacheMs)
    case 'serve-stale':
      refreshLater(cacheable, decision.conditional)
      return serveStored(cacheable, stored, decision.headers, 'STALE', cacheMs)
    case 'revalidate':
      return revalidate(cacheable, stored, decision.policy, decision.conditional, cacheMs)
    case 'fetch':
      void stored.body?.cancel()
      return waited ? fetchAndStore(cacheable, 'MISS', cacheMs) : fetchMissing(cacheable, cacheMs)
  }
}

/**
 * A miss (collapse.ts): waits for the fill of the same key already in flight in this isolate and
 * answers from what it stored, or leads the fill that the next misses wait for.
 */
async function fetchMissing(
  cacheable: CacheableRequest,
  cacheMs: number,
  nothingStored = false,
): Promise<Served> {
  const { maxWaitMs } = cacheable.rules.settings.collapse
  const { headers } = cacheable.request
  const alone = () => fetchAndStore(cacheable, 'MISS', cacheMs, nothingStored)
  if (maxWaitMs === 0 || !mayWait(headers)) return alone()
  const now = Date.now()
  const flight = flightFor(cacheable.key, now)
  if (flight)
    return (await afterFlight(cacheable, await waitFor(flight, maxWaitMs), cacheMs)) ?? alone()
  if (!mayLead(headers)) return alone()
  let land: (landing: Landing | Promise<Landing>) => void = () => {}
  const landing = new Promise<Landing>((resolve) => {
    land = resolve
  })
  takeOff(cacheable.key, landing, now)
  try {
    const outcome = await askOrigin(cacheable)
    if (!outcome.failed || (nothingStored && keepsFailure(outcome))) {
      return answerAndStore(cacheable, outcome, 'MISS', cacheMs, nothingStored, land)
    }
    const failure = await shareFailure(outcome)
    land({ kind: 'failed', failure: failure.shared })
    const origin = outcome.origin?.id
    return { response: failure.response, cache: 'MISS', origin, outcome, cacheMs }
  } catch (error) {
    // Whatever went wrong, the waiters go on their own (a no-op once the flight has landed).
    land({ kind: 'late' })
    throw error
  }
}

/**
 * A waiter's answer once the fill it waited for landed (collapse.ts lists the cases), or
 * `undefined` when it must ask the origin itself.
 */
async function afterFlight(
  cacheable: CacheableRequest,
  landing: Landing,
  cacheMs: number,
): Promise<Served | undefined> {
  if (landing.kind === 'failed' && landing.failure) {
    const { status, headers, body, origin } = landing.failure
    return {
      response: answer(cacheable.request, body, new Headers(headers), status),
      cache: 'MISS',
      origin,
      cacheMs,
    }
  }
  if (landing.kind === 'stored') {
    const now = Date.now()
    const held = recall(cacheable.key, now)
    if (held && isFreshHit(held.fast, now, false)) {
      const response = answer(
        cacheable.request,
        held.body,
        fastHeaders(held.fast, now),
        held.fast.status,
      )
      return { response, cache: 'HIT', origin: held.fast.origin ?? undefined, cacheMs }
    }
    // As if the request had come after the store: the entry judged for this reader.
    const stored = await read(cacheable.key)
    if (stored) {
      const { request, key, url } = cacheable
      const view = lookupRequest(key, url, request.headers, stored.meta.policy)
      return fromStored({ ...cacheable, view }, stored, cacheMs, true)
    }
  }
  // Not shareable, not stored, or late: this reader asks the origin itself.
  return undefined
}

/** Methods other than GET and HEAD: to the origins, then invalidation after an unsafe one. */
async function forwardOtherMethod(
  request: Request,
  context: CacheContext,
  fetchOrigin: FetchOrigin,
  rules: CacheRules,
): Promise<Served> {
  const outcome = await fetchOrigin(request, context.publicUrl)
  if (!SAFE.has(request.method) && rules.settings.enabled) {
    await invalidate(outcome, context, rules)
  }
  return passed(outcome)
}

/** Answers from a stored entry with the reader's `headers`. */
function serveStored(
  cacheable: CacheableRequest,
  stored: Stored,
  headers: Headers,
  cache: 'HIT' | 'STALE',
  cacheMs: number,
): Served {
  const response = answer(cacheable.request, stored.body, headers, stored.meta.policy.st)
  return { response, cache, origin: stored.meta.origin ?? undefined, cacheMs }
}

/** Asks the origins for the whole resource; answers with it and stores it when it may be kept. */
async function fetchAndStore(
  cacheable: CacheableRequest,
  cache: 'MISS' | 'EXPIRED',
  cacheMs: number,
  nothingStored = false,
): Promise<Served> {
  return answerAndStore(cacheable, await askOrigin(cacheable), cache, cacheMs, nothingStored)
}

/**
 * Answers with a full origin response, storing it in the background when it may be kept; `land`
 * tells the misses waiting on this fill how it landed (collapse.ts).
 */
function answerAndStore(
  cacheable: CacheableRequest,
  outcome: ProxyOutcome,
  cache: CacheStatus,
  cacheMs: number,
  nothingStored = false,
  land?: (landing: Landing | Promise<Landing>) => void,
): Served {
  const { response } = outcome
  const served: Served = { response, cache, origin: outcome.origin?.id, outcome, cacheMs }
  // An origin's 5xx is kept only where nothing is stored (never over a copy that may stand
  // in for it) and only when the origin made it cacheable (`keepsFailure`).
  if (outcome.failed && !(nothingStored && keepsFailure(outcome))) {
    land?.({ kind: 'failed', failure: undefined })
    return served
  }
  const { request, key, context } = cacheable
  // Step 4: an answer that forbids sharing (no-store, private, Set-Cookie) starts a hit-for-pass
  // and is never stored: no policy to build, only a copy to retire. Others: `decideStorage`.
  if (notePass(key, response.headers, Date.now())) {
    if (cache === 'EXPIRED') context.ctx.waitUntil(remove([key]))
    land?.({ kind: 'pass' })
    // A plain GET takes the origin's answer as it is (no second Response around its body).
    if (!isPlainGet(request)) {
      served.response = answer(request, response.body, response.headers, response.status)
    }
    return served
  }
  // Steps 5 and 6: the cache's copy is written after the answer, the reader's streams now.
  const { body, storing, stores } = storeResponse(cacheable, outcome, {
    forReader: true,
    supersedes: cache === 'EXPIRED',
  })
  context.ctx.waitUntil(storing)
  // Waiters read the entry once it is written: until then the fill stays in flight.
  land?.(stores ? storing.then((): Landing => ({ kind: 'stored' })) : { kind: 'unstored' })
  served.response = answer(request, body, response.headers, response.status)
  return served
}

/** A stale entry: revalidate with its validators; on failure, serve it stale if allowed. */
async function revalidate(
  cacheable: CacheableRequest,
  stored: Stored,
  policy: CachePolicy,
  conditional: Record<string, string>,
  cacheMs: number,
): Promise<Served> {
  const outcome = await askOrigin(cacheable, conditional)
  const { response } = outcome
  const decision = decideRevalidated(
    stored.meta.policy,
    policy,
    cacheable.view,
    { failed: !!outcome.failed, status: response.status, headers: response.headers },
    cacheable.rules.settings,
  )
  switch (decision.action) {
    case 'serve-stale': {
      void response.body?.cancel()
      const headers = readerHeaders(policy)
      const stale = answer(cacheable.request, stored.body, headers, stored.meta.policy.st)
      const origin = stored.meta.origin ?? undefined
      return { response: stale, cache: 'STALE', origin, outcome, cacheMs }
    }
    case 'fail':
      void stored.body?.cancel()
      return { response, cache: 'EXPIRED', origin: outcome.origin?.id, outcome, cacheMs }
    case 'replace':
      void stored.body?.cancel()
      return answerAndStore(cacheable, outcome, 'EXPIRED', cacheMs)
    case 'refetch':
      void response.body?.cancel()
      void stored.body?.cancel()
      return fetchAndStore(cacheable, 'EXPIRED', cacheMs)
    case 'refresh': {
      void response.body?.cancel()
      const fresh = decision.policy
      const [body, copy] = stored.body ? stored.body.tee() : [null, null]
      cacheable.context.ctx.waitUntil(storeRefreshed(cacheable, copy, fresh, stored.meta.origin))
      // A 304 refreshes headers only: the status stays the stored one (RFC 9111 §4.3.4).
      const status = stored.meta.policy.st
      const headers = readerHeaders(fresh)
      // A cookie in the 304 is for this reader: passed on, never stored (`refreshed`).
      for (const cookie of response.headers.getSetCookie()) headers.append('set-cookie', cookie)
      const refreshedCopy = answer(cacheable.request, body, headers, status)
      const origin = outcome.origin?.id
      return { response: refreshedCopy, cache: 'REVALIDATED', origin, outcome, cacheMs }
    }
  }
}

/** A GET that `answer` would hand the origin's answer as it is: no validators, no range. */
function isPlainGet({ method, headers }: Request): boolean {
  return (
    method === 'GET' &&
    !headers.has('range') &&
    !headers.has('if-none-match') &&
    !headers.has('if-modified-since')
  )
}
