import type { RoutingSettings } from '../config'

/**
 * Passive health: what this isolate learns while proxying. An origin is ejected from this
 * isolate's ranking for a cool-down that doubles on each repeat (Envoy-style outlier ejection),
 * long before any probe notices. What counts as an origin's failure is decided per request in
 * `./judge.ts`; this module holds the per-origin state machine and the per-isolate map.
 */

export interface PassiveThresholds {
  /** First cool-down of an ejection. */
  baseEjectionMs: number
  /** Longest cool-down, however often the origin is ejected. */
  maxEjectionMs: number
  /** Failing requests in a row that eject an origin; a conclusive failure ejects at once. */
  failuresToEject: number
  /** Largest share of the origins ejected at once (at least one of two or more, never a lone one). */
  maxEjectedShare: number
}

export const DEFAULT_THRESHOLDS: PassiveThresholds = {
  baseEjectionMs: 5_000,
  maxEjectionMs: 300_000,
  failuresToEject: 3,
  maxEjectedShare: 0.5,
}

/** The thresholds that the `routing` settings give. */
export function passiveThresholds(routing: RoutingSettings): PassiveThresholds {
  return {
    baseEjectionMs: routing.ejectionBaseMs,
    maxEjectionMs: routing.ejectionMaxMs,
    failuresToEject: routing.ejectionFailures,
    maxEjectedShare: routing.ejectionMaxShare,
  }
}

/** What one request showed of one origin (see `./judge.ts`). */
export type Verdict =
  | { kind: 'success'; ms: number }
  /** `conclusive`: nothing in the request could have caused it (a refused connection). */
  | { kind: 'failure'; reason: string; conclusive: boolean }

/** One origin as this isolate sees it. */
export interface PassiveState {
  /** Ejections in a row; the next cool-down is base × 2^ejections. Reset by quiet time. */
  ejections: number
  ejectedAt: number
  ejectedUntil: number
  /** Requests in a row that failed on this origin since its last success or ejection. */
  failures: number
  /** Smoothed time to response headers of successful attempts (ms), for hedging and steering. */
  latencyMs?: number
  /** When `latencyMs` last took a sample. */
  sampledAt?: number
  lastFailure?: string
  /** When an ejection last started or ended early (0: never): the newer change wins a merge. */
  changedAt: number
}

const FRESH: PassiveState = {
  ejections: 0,
  ejectedAt: 0,
  ejectedUntil: 0,
  failures: 0,
  changedAt: 0,
}

/**
 * Weight of a new latency sample in the moving average: at least 0.3, which follows a change
 * within a handful of requests while one outlier moves it by less than a third; more after a
 * quiet spell (1 - e^(-gap/0.5 s)): a sample a second after the last one weighs 0.86, so an
 * origin measured only now and then (steering's re-measuring, once a second) is judged on its
 * last two samples, not on the fault it has recovered from.
 */
const LATENCY_ALPHA = 0.3
const LATENCY_TAU_MS = 500

function smoothed(state: PassiveState, ms: number, now: number): number {
  if (state.latencyMs === undefined) return ms
  const gap = Math.max(0, now - (state.sampledAt ?? now))
  const alpha = Math.max(LATENCY_ALPHA, 1 - Math.exp(-gap / LATENCY_TAU_MS))
  return state.latencyMs + alpha * (ms - state.latencyMs)
}

/**
 * The state after one request's verdict on this origin. A success ends an ejection and the
 * failure count. A failure ejects once it is conclusive or the `failuresToEject`-th in a row,
 * and only when `mayEject` (the share of ejected origins is below its bound); otherwise it is
 * counted, and the next failure ejects once there is room. Pure.
 */
export function next(
  state: PassiveState = FRESH,
  verdict: Verdict,
  thresholds: PassiveThresholds,
  now: number,
  mayEject = true,
): PassiveState {
  if (verdict.kind === 'success') {
    return {
      ...state,
      ejectedUntil: Math.min(state.ejectedUntil, now),
      changedAt: state.ejectedUntil > now ? now : state.changedAt,
      failures: 0,
      latencyMs: smoothed(state, verdict.ms, now),
      sampledAt: now,
    }
  }
  const lastFailure = verdict.reason
  // A failure during an ejection (a last-resort try) does not extend it again and again.
  if (state.ejectedUntil > now) return { ...state, lastFailure }
  const failures = state.failures + 1
  if (!mayEject || (!verdict.conclusive && failures < thresholds.failuresToEject)) {
    return { ...state, failures, lastFailure }
  }
  // Quiet for longer than the longest cool-down: start the doubling over.
  const quiet = now - state.ejectedUntil > thresholds.maxEjectionMs
  const ejections = quiet ? 0 : state.ejections
  const coolDown = Math.min(thresholds.baseEjectionMs * 2 ** ejections, thresholds.maxEjectionMs)
  return {
    ...state,
    ejections: ejections + 1,
    ejectedAt: now,
    ejectedUntil: now + coolDown,
    changedAt: now,
    failures: 0,
    lastFailure,
  }
}

/**
 * The state after an attempt that had no answer in `ms` (a hedge that lost): a lower bound of
 * the origin's latency, so it only ever raises the average. Without it an origin that turned
 * slow would keep its fast average, because the hedge's winner cancels every slow attempt.
 */
export function slowSample(state: PassiveState = FRESH, ms: number, now: number): PassiveState {
  if (state.latencyMs !== undefined && ms <= state.latencyMs) return state
  return { ...state, latencyMs: smoothed(state, ms, now), sampledAt: now }
}

/**
 * How many of `origins` may be ejected at once: `share` of them, at least one of two or more
 * (as Envoy ejects at least one host whatever `max_ejection_percent` says), none of one (there
 * is nowhere else to go, and a probe, not a reader's request, should say it is down).
 */
export function ejectionLimit(origins: number, share: number): number {
  if (origins < 2) return 0
  // The epsilon keeps 0.6 × 5 at 3 whatever the float rounding.
  return Math.max(1, Math.floor(origins * share + 1e-9))
}

/** This isolate's passive view: origin id → state. Lives as long as the isolate. */
export class PassiveHealth {
  readonly #states = new Map<string, PassiveState>()

  /** Applies one request's verdict on an origin, among `origins` configured ones. */
  record(
    originId: string,
    verdict: Verdict,
    now: number,
    origins: number,
    thresholds: PassiveThresholds = DEFAULT_THRESHOLDS,
  ): void {
    const state = this.#states.get(originId)
    const mayEject =
      verdict.kind === 'success' ||
      this.ejectedCount(now, originId) < ejectionLimit(origins, thresholds.maxEjectedShare)
    this.#states.set(originId, next(state, verdict, thresholds, now, mayEject))
  }

  /** An attempt at `originId` had no answer in `ms` (see `slowSample`). */
  observeSlow(originId: string, ms: number, now: number): void {
    this.#states.set(originId, slowSample(this.#states.get(originId), ms, now))
  }

  /** Every origin's state. */
  entries(): IterableIterator<[string, PassiveState]> {
    return this.#states.entries()
  }

  get(originId: string): PassiveState | undefined {
    return this.#states.get(originId)
  }

  /** Origins ejected at `now`, leaving `except` out. */
  ejectedCount(now: number, except?: string): number {
    let count = 0
    for (const [id, state] of this.#states) if (id !== except && state.ejectedUntil > now) count++
    return count
  }

  /** Forgets everything (tests). */
  clear(): void {
    this.#states.clear()
  }
}
