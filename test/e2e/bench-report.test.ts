import { describe, expect, it } from 'vitest'
import { checkGoals, missBreakdown } from '../../scripts/lib/bench-report.mjs'

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
