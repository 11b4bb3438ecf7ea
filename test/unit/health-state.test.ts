import { describe, expect, it } from 'vitest'
import type { ProbeResult } from '../../worker/health/probe'
import { initialState, next, type OriginState } from '../../worker/health/state'

const OK: ProbeResult = { ok: true, status: 200, latencyMs: 40 }
const TIMEOUT: ProbeResult = { ok: false, latencyMs: 8000, reason: 'timeout' }
const DOWN_503: ProbeResult = { ok: false, status: 503, latencyMs: 30, reason: 'status 503' }
const DEFAULTS = { fall: 2, rise: 2 }
const T0 = Date.UTC(2026, 0, 1)

/** Feeds probe results 10 s apart; returns every state along the way. */
function run(
  results: ProbeResult[],
  thresholds = DEFAULTS,
  start: OriginState = initialState(T0),
): OriginState[] {
  const states: OriginState[] = []
  let state = start
  results.forEach((result, i) => {
    state = next(state, result, thresholds, T0 + (i + 1) * 10_000)
    states.push(state)
  })
  return states
}

const last = (states: OriginState[]) => states.at(-1)!
const downAfterTwo = () => last(run([TIMEOUT, TIMEOUT]))

describe('the health state machine', () => {
  it('starts an origin healthy, as routing treats an unknown one', () => {
    expect(initialState(T0)).toMatchObject({ healthy: true, since: T0, successes: 0, failures: 0 })
  })

  it('keeps an origin up after a single lost probe', () => {
    expect(last(run([TIMEOUT]))).toMatchObject({ healthy: true, failures: 1, reason: 'timeout' })
  })

  it('marks an origin down after fall failures in a row, since the second one', () => {
    expect(downAfterTwo()).toMatchObject({ healthy: false, since: T0 + 20_000, reason: 'timeout' })
  })

  it('does not flap when every other probe is lost', () => {
    const states = run([TIMEOUT, OK, TIMEOUT, OK, TIMEOUT, OK, TIMEOUT])
    expect(states.every((s) => s.healthy)).toBe(true)
  })

  it('keeps a down origin down after a single good probe', () => {
    const state = last(run([OK], DEFAULTS, downAfterTwo()))
    expect(state).toMatchObject({ healthy: false, successes: 1, reason: 'timeout' })
  })

  it('brings a down origin back after rise successes in a row, clearing the reason', () => {
    const down = downAfterTwo()
    const state = last(run([OK, OK], DEFAULTS, down))
    expect(state).toMatchObject({ healthy: true, since: T0 + 20_000, reason: null })
  })

  it('starts the rise count over when a recovering origin fails again', () => {
    const states = run([OK, DOWN_503, OK], DEFAULTS, downAfterTwo())
    expect(states.map((s) => s.healthy)).toEqual([false, false, false])
    expect(last(states)).toMatchObject({ successes: 1, reason: 'status 503' })
  })

  it('keeps since while the state holds', () => {
    const states = run([OK, OK, TIMEOUT, OK])
    expect(states.map((s) => s.since)).toEqual([T0, T0, T0, T0])
  })

  it('records the latest status, latency and time of each probe', () => {
    const state = last(run([OK, DOWN_503]))
    expect(state).toMatchObject({ lastCheck: T0 + 20_000, status: 503, latencyMs: 30 })
    expect(last(run([TIMEOUT]))).toMatchObject({ status: null, latencyMs: 8000 })
  })

  it('follows configured thresholds: down at the first failure with fall 1', () => {
    expect(last(run([TIMEOUT], { fall: 1, rise: 3 })).healthy).toBe(false)
  })

  it('follows configured thresholds: up only after three successes with rise 3', () => {
    const thresholds = { fall: 1, rise: 3 }
    const down = last(run([TIMEOUT], thresholds))
    const states = run([OK, OK, OK], thresholds, down)
    expect(states.map((s) => s.healthy)).toEqual([false, false, true])
  })
})
