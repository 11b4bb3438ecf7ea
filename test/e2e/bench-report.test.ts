import { describe, expect, it } from 'vitest'
import { checkGoals, hitBreakdown, missBreakdown } from '../../scripts/lib/bench-report.mjs'

/** A report row as runRounds summarizes it. */
const row = (label: string, ratio: number, cpuUs: number, rps = 1000 * ratio) => ({
  label,
  note: undefined,
  rps,
  ratio,
  cpuRatio: 1 / ratio,
  cpuUs,
  p50One: 400,
  p99: 5000,
  errors: 0,
  requests: 10_000,
  roundRps: [rps],
})

const miss = (rulesRatio: number) => ({
  id: 'miss',
  title: 'Cache-miss path',
  about: '',
  path: '/latest',
  rows: [
    row('bare Worker', 1, 200),
    row('georoute', 0.5, 400),
    row('bare Worker + cache lookup', 0.4, 500),
    row('georoute, cache off', 0.55, 360),
    row('bare Worker + DESIGN.md header rules + log line', rulesRatio, 200 / rulesRatio),
  ],
})

describe('bench report: the cache-miss bound', () => {
  it('says no conforming proxy reaches the goal when the rules alone fall short of it', () => {
    const lines = missBreakdown(miss(0.7))
    expect(lines[0]).toContain('reaches 0.70× of the bare Worker')
    expect(lines[0]).toContain('below the 0.9× goal, which no conforming proxy reaches here')
  })

  it('claims no such bound when the rules alone meet the goal', () => {
    const lines = missBreakdown(miss(0.95))
    expect(lines[0]).toContain('reaches 0.95× of the bare Worker')
    expect(lines.join('\n')).not.toContain('no conforming proxy')
  })

  it('judges the goal on the georoute row, not on the reference rows', () => {
    const goals = checkGoals({ scenarios: [miss(0.95)] })
    const missGoal = goals.find((g) => g.label.startsWith('cache-miss'))
    expect(missGoal).toMatchObject({ met: false, detail: '0.50×' })
  })
})

const hit = (offRatio: number) => ({
  id: 'hit',
  title: 'Cache-hit path',
  about: '',
  path: '/posts/hello-world',
  rows: [
    row('bare cache Worker', 1, 400),
    row('georoute', 3, 130),
    row('bare cache Worker + Age, trace headers + log line', 0.85, 470),
    row('georoute, memory tier off', offRatio, 400 / offRatio),
    row('bare memory Worker', 4, 100),
  ],
})

describe('hitBreakdown', () => {
  it('sets the memory tier against the bare memory Worker, and says what the Cache API path does', () => {
    const lines = hitBreakdown(hit(0.8))
    expect(lines[0]).toContain('memory tier at 3.00× of the bare cache Worker (130 µs CPU per hit)')
    expect(lines[0]).toContain("georoute's own work on a memory hit is about 30 µs")
    expect(lines[1]).toContain('0.80× (500 µs)')
    expect(lines[1]).toContain('below the 0.9× goal')
  })

  it('claims no shortfall when the Cache API path meets the goal too', () => {
    expect(hitBreakdown(hit(0.95)).join('\n')).not.toContain('below')
  })

  it('says nothing without the rows it compares', () => {
    expect(hitBreakdown({ ...hit(0.8), rows: hit(0.8).rows.slice(0, 3) })).toEqual([])
  })
})
