/**
 * Request collapsing (Varnish's waiting list, Fastly's request collapsing): concurrent misses
 * for one key in this isolate share one origin request. The first miss leads: it asks the
 * origin, answers its reader, and stores the response as usual. Misses that arrive while that
 * fill is in flight (until its store is done, not only until its answer) wait for it, at most
 * `settings.cache.collapse.maxWaitMs`, then act on how it landed:
 *
 *   stored    the entry is written: each waiter reads it from the memory tier or the Cache API
 *             (its own stream: no tee per waiter, nothing held for a slow or departed one) and
 *             judges it for its own request, so a Vary mismatch asks the origin itself
 *   pass      the response forbade sharing (private, no-store, Set-Cookie): the key is a
 *             hit-for-pass (pass.ts), and each waiter asks the origin itself
 *   unstored  not storable for another reason (no freshness, too large a header): each waiter
 *             asks the origin itself
 *   failed    every origin failed: the waiters share the leader's failure (its status, headers
 *             and body, when small) rather than sending a herd to origins that are already down
 *   late      the wait ran out: the waiter asks the origin itself
 *
 * Requests with credentials, or whose reader refuses a cached answer (`no-cache`, `no-store`),
 * never wait and never lead; unsafe methods and bypassed requests never get here.
 */

/** How a fill landed, for the misses that waited on it. */
export type Landing =
  | { kind: 'stored' }
  | { kind: 'pass' }
  | { kind: 'unstored' }
  | { kind: 'failed'; failure: SharedFailure | undefined }
  | { kind: 'late' }

/** A failed answer the waiters can each rebuild: small enough to be held whole. */
export interface SharedFailure {
  status: number
  headers: [string, string][]
  body: Uint8Array
  origin: string | undefined
}

/** Largest failure body held to share with waiters; a larger one sends each waiter itself. */
export const MAX_SHARED_FAILURE_BYTES = 64 * 1024

// One flight per key at a time; each lives until its fill's store is done (or it failed).
const flights = new Map<string, Promise<Landing>>()

/**
 * Whether a miss with these request headers may wait for, or lead, a shared fill: not with
 * credentials (the answer is the reader's own), and not when the reader asks for an answer
 * from the origin (`no-cache`, `no-store`, `max-age=0`, `Pragma: no-cache`).
 */
export function mayCollapse(headers: Headers): boolean {
  if (headers.has('authorization')) return false
  const cacheControl = headers.get('cache-control')
  if (
    cacheControl &&
    /(^|[\s,])(no-cache|no-store|max-age\s*=\s*"?0"?\s*($|,))/i.test(cacheControl)
  )
    return false
  const pragma = headers.get('pragma')
  return !(pragma && /no-cache/i.test(pragma))
}

/** The flight in progress for `key` in this isolate, if any. */
export function flightFor(key: string): Promise<Landing> | undefined {
  return flights.get(key)
}

/**
 * Makes `landing` the flight for `key` until it settles; answers `false` (and registers nothing)
 * when another flight is already there.
 */
export function takeOff(key: string, landing: Promise<Landing>): boolean {
  if (flights.has(key)) return false
  flights.set(key, landing)
  const land = () => {
    if (flights.get(key) === landing) flights.delete(key)
  }
  landing.then(land, land)
  return true
}

/** Waits for `flight` at most `maxWaitMs`: `late` past it (or if the flight itself threw). */
export async function waitFor(flight: Promise<Landing>, maxWaitMs: number): Promise<Landing> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<Landing>((resolve) => {
    timer = setTimeout(() => resolve({ kind: 'late' }), maxWaitMs)
  })
  try {
    return await Promise.race([flight.catch((): Landing => ({ kind: 'late' })), late])
  } finally {
    clearTimeout(timer)
  }
}

/** Flights in progress (tests, the drill's counters). */
export function flightsNow(): number {
  return flights.size
}

/** Forgets every flight (tests). */
export function clearFlights(): void {
  flights.clear()
}
