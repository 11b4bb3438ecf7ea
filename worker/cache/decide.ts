/**
 * The cache's decisions, each a pure function from what is known (the request as a policy sees
 * it, the stored policy, the origin's answer, the settings) to a decision value; the I/O that
 * acts on them (Cache API, memory tier, origins) is in index.ts, fill.ts and refresh.ts. The
 * clock is the policy library's `Date.now` (tests fake it). RFC 9111 rules belong here and in
 * policy.ts, which these build on; the fresh-hit shortcut is decided by `isFreshHit` (fast-hit.ts).
 */
import type CachePolicy from 'http-cache-semantics'
import {
  HEURISTIC,
  type HeuristicRules,
  hasExplicitFreshness,
  isStorable,
  judge,
  keepSeconds,
  newPolicy,
  type PolicyObject,
  type PolicyRequest,
  refreshed,
  type StaleRules,
  servableOnError,
  validators,
} from './policy'
import type { Meta } from './store'

/** Conditional request fields (`If-None-Match`, `If-Modified-Since`). */
type Conditional = Record<string, string>

/** What to do with a stored entry for one request (RFC 9111 §4, RFC 5861). */
export type StoredDecision =
  /** Fresh: answer from the entry (`HIT`). */
  | { action: 'serve'; headers: Headers }
  /** Stale within `stale-while-revalidate`: answer from it (`STALE`) and refresh in the background. */
  | { action: 'serve-stale'; headers: Headers; conditional: Conditional }
  /** Stale: ask the origin with the entry's validators before using it (RFC 9111 §4.3). */
  | { action: 'revalidate'; policy: CachePolicy; conditional: Conditional }
  /** Another variant (Vary), or not shareable with this reader's credentials: ask the origin. */
  | { action: 'fetch' }

/** What a stored entry can do for `request`. */
export function decideStored(stored: PolicyObject, request: PolicyRequest): StoredDecision {
  const { verdict, policy, headers } = judge(stored, request)
  if (headers && verdict === 'fresh') return { action: 'serve', headers }
  if (headers && verdict === 'stale-while-revalidate') {
    return { action: 'serve-stale', headers, conditional: validators(policy, request) }
  }
  if (verdict === 'stale') {
    return { action: 'revalidate', policy, conditional: validators(policy, request) }
  }
  return { action: 'fetch' }
}

/** An origin's answer as a decision reads it: whether every origin failed, status, headers. */
export interface OriginAnswer {
  failed: boolean
  status: number
  headers: Headers
}

/** What the origin's answer to a revalidation means for the stale entry. */
export type RevalidatedDecision =
  /** Every origin failed and `stale-if-error` (or the blog's floor) allows the stale copy. */
  | { action: 'serve-stale' }
  /** Every origin failed and no stale copy may stand in: the origins' answer, as it is. */
  | { action: 'fail' }
  /** A full response: it replaces the entry, as a miss's would fill it. */
  | { action: 'replace' }
  /** A 304 for our copy: serve and keep it with the refreshed policy (RFC 9111 §4.3.4). */
  | { action: 'refresh'; policy: CachePolicy }
  /** A 304 for another representation: it cannot refresh our copy; fetch the resource whole. */
  | { action: 'refetch' }

/** Decides what a revalidation's `answer` does to the stale entry `stored` (loaded as `policy`). */
export function decideRevalidated(
  stored: PolicyObject,
  policy: CachePolicy,
  request: PolicyRequest,
  answer: OriginAnswer,
  rules: StaleRules,
): RevalidatedDecision {
  if (answer.failed) {
    return servableOnError(stored, policy, rules) ? { action: 'serve-stale' } : { action: 'fail' }
  }
  if (answer.status !== 304) return { action: 'replace' }
  const fresh = refreshed(policy, request, answer.headers)
  return fresh.matches ? { action: 'refresh', policy: fresh.policy } : { action: 'refetch' }
}

/**
 * May the answer of a read where every origin failed (an origin's own 5xx) be stored, where
 * nothing is stored yet? Only an origin's answer (never georoute's own 503 page) that makes
 * itself cacheable: explicit freshness or `public` (RFC 9111 §3), or a status cacheable by
 * default (501); `decideStorage` judges it as any other. A 502, 503 or 504 that says nothing
 * is never kept, so the next reader gets a fresh try at the origins.
 */
export function keepsFailure(outcome: {
  failed?: string
  origin?: unknown
  response: { status: number; headers: Headers }
}): boolean {
  if (outcome.failed !== 'all-failed' || !outcome.origin) return false
  const { status, headers } = outcome.response
  return HEURISTIC.has(status) || hasExplicitFreshness(headers)
}

/** What storing a full origin response needs to know. */
export interface StorageFacts {
  /** The request with every field the origin saw: the response may name any in its `Vary`. */
  request: PolicyRequest
  /** The reader's `Cache-Control`: its `no-store` stops the store (RFC 9111 §5.2.1.5). */
  readerCacheControl: string | null
  response: { status: number; headers: Headers }
  /** Freshness from `settings.cache.defaultTtls` for a response that says nothing; or none. */
  defaultTtl: number | undefined
  /** `settings.cache` heuristic freshness for a response with only `Last-Modified`. */
  heuristic?: HeuristicRules
  /** Every origin failed (`keepsFailure`): kept only while fresh, never as a stale stand-in. */
  failed?: boolean
  /** Id of the origin that answered. */
  origin: string | null
  /** `settings.cache.staleIfErrorSeconds`: how long past freshness the copy may still serve. */
  staleIfErrorSeconds: number
}

/** Whether to store a response, and if so the entry's metadata and how long the Cache API keeps it. */
export type StorageDecision = { store: false } | { store: true; meta: Meta; keepFor: number }

/** Decides whether a full origin response may be kept for others (RFC 9111 §3). */
export function decideStorage(facts: StorageFacts): StorageDecision {
  const { response } = facts
  const { request, readerCacheControl, defaultTtl, heuristic } = facts
  const policy = newPolicy(request, readerCacheControl, response, defaultTtl, heuristic)
  if (!isStorable(policy, response.headers)) return { store: false }
  if (facts.failed && policy.stale()) return { store: false }
  const meta: Meta = { policy: policy.toObject(), origin: facts.origin }
  return { store: true, meta, keepFor: keepSeconds(meta.policy, facts.staleIfErrorSeconds) }
}
