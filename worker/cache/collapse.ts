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
 * A waiter that finds the entry judges it for its own request, exactly as if it had arrived
 * after the store (the same `decideStored`): a request that arrives after the answer but before
 * its store is served from that store, never sent to the origin again. Requests with
 * credentials never wait and never lead, nor does a reader's `no-store` lead (nothing would be
 * stored); unsafe methods, bypassed and hit-for-pass requests never get here.
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

/**
 * Longest a fill counts as in flight: past it, one that never landed (its store cut short with
 * its request) holds no miss up any more. Above any origin deadline and body download a miss
 * should wait on.
 */
export const MAX_FLIGHT_MS = 60_000

// One flight per key at a time; each lives until its fill's store is done (or it failed).
const flights = new Map<string, { landing: Promise<Landing>; since: number }>()

/**
 * Whether a miss with these request headers may wait for a shared fill: not with credentials
 * (they never share an answer). Other readers wait, then judge the entry for their own request
 * as if they had come after the store.
 */
export function mayWait(headers: Headers): boolean {
  return !headers.has('authorization')
}

/** Whether a miss may lead a shared fill: it waits, and its `no-store` would store nothing. */
export function mayLead(headers: Headers): boolean {
  const cacheControl = headers.get('cache-control')
  return mayWait(headers) && !(cacheControl && /(^|[\s,])no-store\b/i.test(cacheControl))
}

/** The flight in progress for `key` in this isolate at `now`, if any. */
export function flightFor(key: string, now: number): Promise<Landing> | undefined {
  const flight = flights.get(key)
  if (flight === undefined) return undefined
  if (now - flight.since <= MAX_FLIGHT_MS) return flight.landing
  flights.delete(key)
  return undefined
}

/**
 * Makes `landing` the flight for `key` from `now` until it settles; answers `false` (and
 * registers nothing) when another flight is already there.
 */
export function takeOff(key: string, landing: Promise<Landing>, now: number): boolean {
  if (flightFor(key, now)) return false
  const flight = { landing, since: now }
  flights.set(key, flight)
  const land = () => {
    if (flights.get(key) === flight) flights.delete(key)
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
