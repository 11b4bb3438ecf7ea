/**
 * Passive health: what this isolate sees while proxying. A connect error, timeout or 5xx ejects
 * the origin from this isolate's ranking at once, for a cool-down that doubles on each repeat
 * (Envoy-style outlier ejection), long before any probe notices. Pure transitions, plus one
 * per-isolate map that the proxy feeds.
 */

export interface EjectionSettings {
  /** First cool-down after a failure. */
  baseEjectionMs: number
  /** Longest cool-down, however often the origin fails. */
  maxEjectionMs: number
}

export const DEFAULT_EJECTION: EjectionSettings = { baseEjectionMs: 5_000, maxEjectionMs: 300_000 }

/** One origin as this isolate sees it. */
export interface PassiveState {
  /** Ejections in a row; the next cool-down is base × 2^ejections. Reset by quiet time. */
  ejections: number
  ejectedAt: number
  ejectedUntil: number
  /** Hedges lost in a row: an origin that keeps losing is treated as failing. */
  hedgesLost?: number
  /** Smoothed time to response headers of successful attempts (ms), for hedging. */
  latencyMs?: number
  lastFailure?: string
}

const FRESH: PassiveState = { ejections: 0, ejectedAt: 0, ejectedUntil: 0 }

/** Weight of a new latency sample in the moving average. */
const LATENCY_ALPHA = 0.2

/** Hedges lost in a row before an origin counts as failing (a hung origin, not a slow one). */
export const HEDGES_LOST_TO_EJECT = 3

/** The state after a failed attempt: ejected for a cool-down that grows with repeats. */
export function afterFailure(
  state: PassiveState = FRESH,
  reason: string,
  now: number,
  settings: EjectionSettings = DEFAULT_EJECTION,
): PassiveState {
  // A failure during an ejection (a last-resort try) does not extend it again and again.
  if (state.ejectedUntil > now) return { ...state, lastFailure: reason }
  // Quiet for longer than the longest cool-down: start the doubling over.
  const quiet = now - state.ejectedUntil > settings.maxEjectionMs
  const ejections = quiet ? 0 : state.ejections
  const coolDown = Math.min(settings.baseEjectionMs * 2 ** ejections, settings.maxEjectionMs)
  return {
    ...state,
    ejections: ejections + 1,
    ejectedAt: now,
    ejectedUntil: now + coolDown,
    lastFailure: reason,
  }
}

/** The state after a successful attempt: ejection lifted, latency average updated. */
export function afterSuccess(
  state: PassiveState = FRESH,
  latencyMs: number,
  now: number,
): PassiveState {
  const average =
    state.latencyMs === undefined
      ? latencyMs
      : state.latencyMs + LATENCY_ALPHA * (latencyMs - state.latencyMs)
  return {
    ...state,
    ejectedUntil: Math.min(state.ejectedUntil, now),
    latencyMs: average,
    hedgesLost: 0,
  }
}

/** The state after another origin answered first: ejected once it keeps losing. */
export function afterLostHedge(
  state: PassiveState = FRESH,
  now: number,
  settings: EjectionSettings = DEFAULT_EJECTION,
): PassiveState {
  const hedgesLost = (state.hedgesLost ?? 0) + 1
  if (hedgesLost < HEDGES_LOST_TO_EJECT) return { ...state, hedgesLost }
  return { ...afterFailure(state, `slow: lost ${hedgesLost} hedges`, now, settings), hedgesLost: 0 }
}

/** This isolate's passive view: origin id → state. Lives as long as the isolate. */
export class PassiveHealth {
  readonly #states = new Map<string, PassiveState>()

  /** Records one proxied attempt's outcome. */
  record(
    originId: string,
    outcome: { failure?: string; ms: number; lostHedge?: boolean },
    now: number,
    settings: EjectionSettings = DEFAULT_EJECTION,
  ): void {
    const state = this.#states.get(originId)
    let next: PassiveState
    if (outcome.lostHedge) next = afterLostHedge(state, now, settings)
    else if (outcome.failure !== undefined)
      next = afterFailure(state, outcome.failure, now, settings)
    else next = afterSuccess(state, outcome.ms, now)
    this.#states.set(originId, next)
  }

  get(originId: string): PassiveState | undefined {
    return this.#states.get(originId)
  }

  /** Forgets everything (tests). */
  clear(): void {
    this.#states.clear()
  }
}

/** The isolate-wide passive view that the request path feeds and reads. */
export const passiveHealth = new PassiveHealth()
