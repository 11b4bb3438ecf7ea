import type { ProbeFailure, ProbeResult } from './probe'

/** Hysteresis: how many probes in a row change an origin's state. */
export interface Thresholds {
  /** Failures in a row that mark a healthy origin down. */
  fall: number
  /** Successes in a row that mark a down origin up again. */
  rise: number
}

/** What the probes know of one origin; times are ms since the epoch. */
export interface OriginState {
  healthy: boolean
  /** When `healthy` last changed (or when the origin was first seen). */
  since: number
  /** Time of the latest probe, `null` before the first. */
  lastCheck: number | null
  latencyMs: number | null
  /** Status code of the latest probe, `null` when the origin did not answer. */
  status: number | null
  /** Probes in a row that succeeded (0 after a failure). */
  successes: number
  /** Probes in a row that failed (0 after a success). */
  failures: number
  /** Why the latest probe failed, or why the origin is down; `null` when all is well. */
  reason: ProbeFailure | null
  /** The build its probes last reported (`settings.health.build`); absent when off or unknown. */
  build?: string
}

/**
 * A newly seen origin starts healthy, as routing treats an unknown origin: a new or redeployed
 * origin gets traffic at once, and needs `fall` failures like any other to be marked down.
 */
export function initialState(now: number): OriginState {
  return {
    healthy: true,
    since: now,
    lastCheck: null,
    latencyMs: null,
    status: null,
    successes: 0,
    failures: 0,
    reason: null,
  }
}

/** The state after one probe: down after `fall` failures in a row, up after `rise` successes. */
export function next(
  state: OriginState,
  result: ProbeResult,
  thresholds: Thresholds,
  now: number,
): OriginState {
  const observed = {
    lastCheck: now,
    latencyMs: result.latencyMs,
    status: result.status ?? null,
  }
  if (result.ok) {
    const successes = state.successes + 1
    const healthy = state.healthy || successes >= thresholds.rise
    return {
      ...observed,
      healthy,
      since: healthy === state.healthy ? state.since : now,
      successes,
      failures: 0,
      // A down origin keeps the reason it went down for until it is back up.
      reason: healthy ? null : state.reason,
    }
  }
  const failures = state.failures + 1
  const healthy = state.healthy && failures < thresholds.fall
  return {
    ...observed,
    healthy,
    since: healthy === state.healthy ? state.since : now,
    successes: 0,
    failures,
    reason: result.reason ?? 'connect error',
  }
}
