import { describe, expect, it } from 'vitest'
import {
  DEFAULT_THRESHOLDS,
  ejectionLimit,
  next,
  PassiveHealth,
  type PassiveState,
  slowSample,
  type Verdict,
} from '../../worker/health/passive'

const T0 = Date.UTC(2026, 0, 1)
const FAILED_503: Verdict = { kind: 'failure', reason: 'status 503', conclusive: false }
const REFUSED: Verdict = { kind: 'failure', reason: 'connect error', conclusive: true }
const OK: Verdict = { kind: 'success', ms: 40 }

/** Feeds verdicts 100 ms apart; returns every state along the way. */
function run(verdicts: Verdict[], start?: PassiveState, thresholds = DEFAULT_THRESHOLDS) {
  const states: PassiveState[] = []
  let state = start
  verdicts.forEach((verdict, i) => {
    state = next(state, verdict, thresholds, T0 + (i + 1) * 100)
    states.push(state)
  })
  return states
}

const ejected = (state: PassiveState | undefined, at: number) =>
  state !== undefined && state.ejectedUntil > at

describe('the passive state machine', () => {
  it('does not eject an origin for one or two failing requests', () => {
    const states = run([FAILED_503, FAILED_503])
    expect(states.map((s) => ejected(s, T0 + 250))).toEqual([false, false])
    expect(states.at(-1)).toMatchObject({ failures: 2, lastFailure: 'status 503' })
  })

  it('ejects an origin on the third failing request in a row, for the base cool-down', () => {
    const state = run([FAILED_503, FAILED_503, FAILED_503]).at(-1)!
    expect(state).toMatchObject({ ejections: 1, ejectedAt: T0 + 300, failures: 0 })
    expect(state.ejectedUntil).toBe(T0 + 300 + DEFAULT_THRESHOLDS.baseEjectionMs)
  })

  it('starts the count over after a success', () => {
    const states = run([FAILED_503, FAILED_503, OK, FAILED_503, FAILED_503])
    expect(states.some((s) => s.ejections > 0)).toBe(false)
    expect(states.at(-1)?.failures).toBe(2)
  })

  it('ejects at once for a conclusive failure (a refused connection)', () => {
    expect(ejected(run([REFUSED])[0], T0 + 100)).toBe(true)
  })

  it('honours a configured count', () => {
    const thresholds = { ...DEFAULT_THRESHOLDS, failuresToEject: 5 }
    const states = run(Array(5).fill(FAILED_503), undefined, thresholds)
    expect(states.map((s) => s.ejections)).toEqual([0, 0, 0, 0, 1])
  })

  it('counts a failure but does not eject when there is no room', () => {
    const start = run([FAILED_503, FAILED_503]).at(-1)
    const state = next(start, FAILED_503, DEFAULT_THRESHOLDS, T0 + 300, false)
    expect(state).toMatchObject({ ejections: 0, failures: 3 })
    // The next failure with room ejects.
    expect(ejected(next(state, FAILED_503, DEFAULT_THRESHOLDS, T0 + 400), T0 + 400)).toBe(true)
  })

  it('does not extend an ejection when a last-resort try fails during it', () => {
    const [first] = run([REFUSED])
    const later = next(first, REFUSED, DEFAULT_THRESHOLDS, T0 + 1_000)
    expect(later.ejectedUntil).toBe(first!.ejectedUntil)
    expect(later.ejections).toBe(1)
  })

  it('doubles the cool-down when the origin is ejected again soon after', () => {
    const [first] = run([REFUSED])
    const again = next(first, REFUSED, DEFAULT_THRESHOLDS, first!.ejectedUntil + 1)
    expect(again.ejectedUntil - again.ejectedAt).toBe(2 * DEFAULT_THRESHOLDS.baseEjectionMs)
  })

  it('needs the full count again after an ejection ends', () => {
    const [first] = run([REFUSED])
    const after = next(first, FAILED_503, DEFAULT_THRESHOLDS, first!.ejectedUntil + 1)
    expect(after).toMatchObject({ ejections: 1, failures: 1 })
  })

  it('ends an ejection and keeps a latency average on success', () => {
    const [first] = run([REFUSED])
    const state = next(first, { kind: 'success', ms: 100 }, DEFAULT_THRESHOLDS, T0 + 500)
    expect(ejected(state, T0 + 500)).toBe(false)
    const second = next(state, { kind: 'success', ms: 200 }, DEFAULT_THRESHOLDS, T0 + 600)
    expect(second.latencyMs).toBeCloseTo(130)
    expect(second.sampledAt).toBe(T0 + 600)
  })

  it('dates the start of an ejection and its early end, not a success outside one', () => {
    const [first] = run([REFUSED])
    expect(first!.changedAt).toBe(T0 + 100)
    const ended = next(first, OK, DEFAULT_THRESHOLDS, T0 + 500)
    expect(ended.changedAt).toBe(T0 + 500)
    const later = next(ended, OK, DEFAULT_THRESHOLDS, T0 + 900)
    expect(later.changedAt).toBe(T0 + 500)
  })

  it('weighs a sample after a quiet second more than one in a busy stream', () => {
    const slow = next(undefined, { kind: 'success', ms: 300 }, DEFAULT_THRESHOLDS, T0)
    const busy = next(slow, { kind: 'success', ms: 10 }, DEFAULT_THRESHOLDS, T0 + 10)
    const quiet = next(slow, { kind: 'success', ms: 10 }, DEFAULT_THRESHOLDS, T0 + 1_000)
    expect(busy.latencyMs).toBeCloseTo(300 - 0.3 * 290)
    expect(quiet.latencyMs).toBeCloseTo(300 - (1 - Math.exp(-2)) * 290)
  })

  it('raises the latency average with a lost hedge, never lowers it', () => {
    const fast = next(undefined, { kind: 'success', ms: 10 }, DEFAULT_THRESHOLDS, T0)
    const slow = slowSample(fast, 310, T0 + 100)
    expect(slow.latencyMs).toBeCloseTo(100)
    expect(slow.sampledAt).toBe(T0 + 100)
    expect(slowSample(slow, 50, T0 + 200)).toBe(slow)
  })
})

describe('ejectionLimit', () => {
  it('never ejects a lone origin', () => {
    expect(ejectionLimit(1, 0.5)).toBe(0)
    expect(ejectionLimit(1, 1)).toBe(0)
  })

  it('ejects at least one of two or more, whatever the share', () => {
    expect(ejectionLimit(2, 0.5)).toBe(1)
    expect(ejectionLimit(3, 0.5)).toBe(1)
    expect(ejectionLimit(10, 0)).toBe(1)
  })

  it('rounds the share down', () => {
    expect(ejectionLimit(4, 0.5)).toBe(2)
    expect(ejectionLimit(5, 0.5)).toBe(2)
    expect(ejectionLimit(5, 0.6)).toBe(3)
    expect(ejectionLimit(3, 0.34)).toBe(1)
  })
})

describe('PassiveHealth', () => {
  it('ejects no more than half of three origins, even when all of them fail', () => {
    const passive = new PassiveHealth()
    for (const id of ['frankfurt', 'virginia', 'tokyo']) passive.record(id, REFUSED, T0, 3)
    expect(passive.ejectedCount(T0)).toBe(1)
    expect(ejected(passive.get('frankfurt'), T0)).toBe(true)
  })

  it('ejects the next failing origin once an earlier ejection has ended', () => {
    const passive = new PassiveHealth()
    passive.record('frankfurt', REFUSED, T0, 3)
    passive.record('virginia', REFUSED, T0, 3)
    const later = T0 + DEFAULT_THRESHOLDS.baseEjectionMs + 1
    passive.record('virginia', REFUSED, later, 3)
    expect(ejected(passive.get('virginia'), later)).toBe(true)
  })

  it('never ejects the only origin', () => {
    const passive = new PassiveHealth()
    passive.record('frankfurt', REFUSED, T0, 1)
    expect(passive.ejectedCount(T0)).toBe(0)
  })

  it('ejects two of four origins with the default share', () => {
    const passive = new PassiveHealth()
    for (const id of ['a', 'b', 'c', 'd']) passive.record(id, REFUSED, T0, 4)
    expect(passive.ejectedCount(T0)).toBe(2)
  })
})
