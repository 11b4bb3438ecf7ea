/**
 * The facts of a fresh hit, worked out once when an entry is stored (`fastHit`) and kept next to
 * it, so that answering a fresh hit reads one small header, parses no policy and evaluates no
 * rule: only the clock decides (`isFreshHit`), and `fastHeaders` adds the current `Age`.
 */
import {
  loadPolicy,
  type PolicyObject,
  servedHeaderMap,
  varyNames,
  withoutDefaultMark,
} from './policy'

/**
 * What a fresh hit needs, worked out once when the entry is stored, so that a hit neither parses
 * nor evaluates the policy: the time the entry stops being fresh, what its `Age` is computed
 * from, and the reader's headers without `Age` (with the stored `Date`: a hit never rewrites it).
 */
export interface FastHit {
  /** Fresh until this time (ms since the epoch); a stale entry takes the full policy path. */
  until: number
  /** When the response was received (ms), and the `Age` it arrived with (s). */
  received: number
  ageValue: number
  status: number
  headers: Record<string, string>
}

const DAY_SECONDS = 86_400

/**
 * The fast-hit facts of a stored policy, or `undefined` when a hit must be judged in full: when
 * the entry varies on a request field (other than `Accept-Encoding`, which no lookup carries),
 * is not fresh now, or has heuristic freshness over a day (the library then adds a warning as
 * it ages). Freshness only changes with time here: the reader's own directives are never part
 * of a lookup (`lookupRequest`), and credentials always take the full path.
 */
export function fastHit(stored: PolicyObject): FastHit | undefined {
  if (varyNames(stored.resh.vary).some((name) => name !== 'accept-encoding')) return undefined
  const { policy } = loadPolicy(stored)
  const maxAge = policy.maxAge()
  const cc = stored.rescc
  const explicit =
    cc['s-maxage'] !== undefined || cc['max-age'] !== undefined || stored.resh.expires !== undefined
  if (!explicit && maxAge > DAY_SECONDS) return undefined
  const freshFor = maxAge - policy.age()
  if (!(freshFor > 0)) return undefined
  const headers = servedHeaderMap(policy)
  delete headers.age
  const ageValue = Number.parseInt(String(stored.resh.age ?? ''), 10)
  return {
    until: Date.now() + freshFor * 1000,
    received: stored.t,
    ageValue: Number.isFinite(ageValue) ? ageValue : 0,
    status: stored.st,
    headers: withoutDefaultMark(headers),
  }
}

/**
 * The reader's headers for a fast hit at `now`, as `readerHeaders` would build them, as a plain
 * record (lower-case names): the reader's Response is built from it once, trace headers included.
 */
export function fastHeaders(hit: Readonly<FastHit>, now: number): Record<string, string> {
  const headers = { ...hit.headers }
  headers.age = String(Math.round(hit.ageValue + (now - hit.received) / 1000))
  return headers
}

/**
 * A fast hit's facts with the origin that filled the entry and, when it was stored whole, its
 * body's length (shared between hits: read-only).
 */
export type Fast = Readonly<FastHit & { origin: string | null; size?: number }>

/**
 * Whether an entry's precomputed facts answer this request as a fresh hit at `now`: only while
 * they are fresh, and never for a reader with credentials (RFC 9111 §3.5 needs the full policy).
 */
export function isFreshHit(
  fast: Fast | undefined,
  now: number,
  credentials: boolean,
): fast is Fast {
  return fast !== undefined && now < fast.until && !credentials
}
