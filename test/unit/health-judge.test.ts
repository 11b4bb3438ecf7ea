import { describe, expect, it } from 'vitest'
import { type AttemptFacts, judge, RequestJudge } from '../../worker/health/judge'
import { DEFAULT_THRESHOLDS, PassiveHealth } from '../../worker/health/passive'

const T0 = Date.UTC(2026, 0, 1)

const ok = (origin: string, ms = 20): AttemptFacts => ({ origin, ms, status: 200 })
/** An HTTP answer; as the proxy reports it, a failure from 500 up. */
const status = (origin: string, code: number): AttemptFacts => ({
  origin,
  ms: 20,
  status: code,
  ...(code >= 500 && { failure: `status ${code}` }),
})
const refused = (origin: string): AttemptFacts => ({ origin, ms: 2, failure: 'connect error' })
const timedOut = (origin: string): AttemptFacts => ({ origin, ms: 10_000, failure: 'timeout' })
const lost = (origin: string, ms: number): AttemptFacts => ({
  origin,
  ms,
  failure: 'timeout',
  lostHedge: true,
})

describe('judge', () => {
  it('counts a success at once', () => {
    expect(judge(ok('a', 35), [], false)).toEqual({ kind: 'success', ms: 35 })
  })

  it('blames an origin for a 503 that another origin answered well', () => {
    expect(judge(status('a', 503), [ok('b')], false)).toEqual({
      kind: 'failure',
      reason: 'status 503',
      conclusive: false,
    })
  })

  it('blames an origin for a 500 that another origin answered with a 404', () => {
    expect(judge(status('a', 500), [status('b', 404)], false)).toMatchObject({ kind: 'failure' })
    // 404 is below 500: not a failure, a success for b.
    expect(judge(status('b', 404), [status('a', 500)], false)).toMatchObject({ kind: 'success' })
  })

  it('blames nobody for a 5xx that every tried origin gave', () => {
    const attempts = [status('a', 500), status('b', 500), status('c', 503)]
    for (const attempt of attempts) {
      const others = attempts.filter((a) => a !== attempt)
      expect(judge(attempt, others, false)).toBe('pending')
      expect(judge(attempt, others, true)).toBe('blameless')
    }
  })

  it('blames nobody for a 5xx when it was the only origin tried', () => {
    expect(judge(status('a', 503), [], true)).toBe('blameless')
  })

  it('blames nobody for a timeout on every origin (a page that is slow everywhere)', () => {
    expect(judge(timedOut('a'), [timedOut('b')], true)).toBe('blameless')
  })

  it('blames an origin that timed out while another answered the request', () => {
    expect(judge(timedOut('a'), [ok('b')], false)).toMatchObject({ conclusive: false })
  })

  it('holds a refused connection as conclusive once another origin answered, even a 5xx', () => {
    expect(judge(refused('a'), [status('b', 503)], false)).toEqual({
      kind: 'failure',
      reason: 'connect error',
      conclusive: true,
    })
  })

  it('holds a refused connection as conclusive when it was the only origin tried', () => {
    expect(judge(refused('a'), [], false)).toBe('pending')
    expect(judge(refused('a'), [], true)).toMatchObject({ conclusive: true })
    expect(judge(refused('a'), [timedOut('b')], true)).toMatchObject({ conclusive: true })
  })

  it('blames nobody when every tried origin refused the request', () => {
    expect(judge(refused('a'), [refused('b'), refused('c')], true)).toBe('blameless')
  })

  it('does not count a hedge lost to an origin that started first', () => {
    // a answered after 600 ms; b, started 200 ms later, had run 400 ms when it was cancelled.
    expect(judge(lost('b', 400), [ok('a', 600)], true)).toBe('blameless')
  })

  it('does not count a hedge lost to an origin that was only a little faster', () => {
    // b started 200 ms after a and answered in 500 ms; a had been given 700 ms.
    expect(judge(lost('a', 700), [ok('b', 500)], true)).toBe('blameless')
  })

  it('counts a hedge lost by far: the winner answered in half the time or less', () => {
    expect(judge(lost('a', 230), [ok('b', 30)], true)).toEqual({
      kind: 'failure',
      reason: 'slow: no answer in 230 ms, b answered in 30 ms',
      conclusive: false,
    })
  })
})

describe('RequestJudge', () => {
  const ORIGINS = 3

  /** Runs one request's attempts through a judge, then settles it. */
  function request(passive: PassiveHealth, attempts: AttemptFacts[], at: number) {
    const judge = new RequestJudge(passive, ORIGINS, DEFAULT_THRESHOLDS)
    for (const attempt of attempts) judge.attempt(attempt, at)
    judge.settle(at)
  }

  it('ejects nothing for one request that got 500 from every origin', () => {
    const passive = new PassiveHealth()
    request(passive, [status('a', 500), status('b', 500), status('c', 500)], T0)
    expect(passive.ejectedCount(T0)).toBe(0)
    expect(passive.get('a')).toBeUndefined()
  })

  it('ejects an origin after three requests that it failed and another answered', () => {
    const passive = new PassiveHealth()
    request(passive, [status('a', 503), ok('b')], T0)
    request(passive, [status('a', 503), ok('b')], T0 + 10)
    expect(passive.ejectedCount(T0 + 10)).toBe(0)
    request(passive, [status('a', 503), ok('b')], T0 + 20)
    expect(passive.get('a')?.ejectedUntil).toBeGreaterThan(T0 + 20)
  })

  it('counts one request once for an origin', () => {
    const passive = new PassiveHealth()
    const judge = new RequestJudge(passive, ORIGINS)
    judge.attempt(status('a', 503), T0)
    judge.attempt(ok('b'), T0)
    judge.attempt({ ...status('a', 503), ms: 30 }, T0)
    judge.settle(T0)
    expect(passive.get('a')?.failures).toBe(1)
  })

  it('ejects an origin that refused a connection as soon as another answered', () => {
    const passive = new PassiveHealth()
    const judge = new RequestJudge(passive, ORIGINS)
    judge.attempt(refused('a'), T0)
    expect(passive.ejectedCount(T0)).toBe(0)
    judge.attempt(ok('b'), T0 + 5)
    expect(passive.get('a')?.ejectedUntil).toBeGreaterThan(T0 + 5)
  })

  it('judges a hedge that is cancelled after the request returned', () => {
    const passive = new PassiveHealth()
    for (let i = 0; i < 3; i++) {
      const judge = new RequestJudge(passive, ORIGINS)
      judge.attempt(ok('b', 20), T0 + i)
      judge.settle(T0 + i)
      judge.attempt(lost('a', 220), T0 + i)
    }
    expect(passive.get('a')?.ejectedUntil).toBeGreaterThan(T0 + 2)
  })

  it('counts a good answer only once its body has ended whole', () => {
    const passive = new PassiveHealth()
    const judge = new RequestJudge(passive, ORIGINS)
    judge.attempt({ ...ok('a'), bodyPending: true }, T0)
    judge.settle(T0)
    expect(passive.get('a')).toBeUndefined()
    judge.body('a', undefined, T0 + 50)
    expect(passive.get('a')).toMatchObject({ failures: 0, latencyMs: 20 })
  })

  it('ejects an origin whose bodies stalled three requests in a row', () => {
    const passive = new PassiveHealth()
    for (let i = 0; i < 3; i++) {
      const judge = new RequestJudge(passive, ORIGINS)
      judge.attempt({ ...ok('a'), bodyPending: true }, T0 + i)
      judge.settle(T0 + i)
      judge.body('a', 'body stalled', T0 + i)
    }
    expect(passive.get('a')).toMatchObject({ lastFailure: 'body stalled' })
    expect(passive.get('a')?.ejectedUntil).toBeGreaterThan(T0 + 2)
  })

  it('does not let a success elsewhere in the request reset another origin', () => {
    const passive = new PassiveHealth()
    request(passive, [status('a', 503), ok('b')], T0)
    request(passive, [status('a', 503), ok('b')], T0 + 10)
    expect(passive.get('a')?.failures).toBe(2)
    expect(passive.get('b')?.failures).toBe(0)
  })
})
