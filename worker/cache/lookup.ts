/**
 * Step 1, taken before any routing: may the request use the cache, under which key, and what do
 * the memory tier and the Cache API hold for it. A fresh hit is answered from here; this is the
 * benchmarked hot path: one memoized overrides read, one Cache API read (none from the memory
 * tier), no policy, and one Response built with the trace headers.
 */
import { memoizedOverrides, readOverrides } from '../overrides'
import { answer } from './answer'
import { type Fast, fastHeaders, isFreshHit } from './fast-hit'
import { keyOf, normalizedQuery, withQuery } from './key'
import { fits, hold, recall } from './memory'
import { isPassing } from './pass'
import { type CacheRules, cacheRules } from './rules'
import { type Entry, lookUp, readWhole } from './store'
import type { Body, CacheContext, Reader } from './types'

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
  let found = entry
  if (entry && isFreshHit(entry.fast, started, credentials)) {
    const { fast } = entry
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
