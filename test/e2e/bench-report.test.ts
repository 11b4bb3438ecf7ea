import { describe, expect, it } from 'vitest'
import { checkGoals, hitBreakdown, missBreakdown } from '../../scripts/lib/bench-report.mjs'

/** A report row as runRounds summarizes it. */
const row = (
  label: string,
  ratio: number,
  cpuUs: number,
  rps = 1000 * ratio,
  rounds: { rps: number[]; cpuUs: number[] } = { rps: [rps], cpuUs: [cpuUs] },
) => ({
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
  roundRps: rounds.rps,
  roundCpuUs: rounds.cpuUs,
})

const RULES = 'bare Worker + DESIGN.md header rules + log line'

/** The miss scenario over three rounds; georoute and the contract row per round as given. */
const miss = (
  georoute: { rps: number[]; cpuUs: number[] },
  rules: { rps: number[]; cpuUs: number[] },
) => ({
  id: 'miss',
  title: 'Cache-miss path',
  about: '',
  path: '/latest',
  rows: [
    row('bare Worker', 1, 200),
    row('georoute', 0.5, 400, 500, georoute),
    row('bare Worker + cache lookup', 0.4, 500),
    row('georoute, cache off', 0.55, 360),
    row(RULES, 0.7, 280, 700, rules),
  ],
})

const missGoals = (scenario: ReturnType<typeof miss>) =>
  checkGoals({ scenarios: [scenario] }).filter((g) => g.label.startsWith('cache-miss'))

describe('bench report: the cache-miss goal', () => {
  it('pairs georoute with the contract row round by round, throughput and CPU', () => {
    // Round 2 ran on a busier machine: every row slowed down, the ratios did not move.
    const scenario = miss(
      { rps: [630, 315, 630], cpuUs: [320, 640, 320] },
      { rps: [700, 350, 700], cpuUs: [280, 560, 280] },
    )
    expect(missGoals(scenario)).toMatchObject([
      { label: `cache-miss throughput ≥ 0.9× the ${RULES} row`, met: true, detail: '0.90×' },
      { label: `cache-miss CPU per request ≤ 1.2× the ${RULES} row`, met: true, detail: '1.14×' },
    ])
  })

  it('misses on CPU alone when throughput is met but each request costs too much', () => {
    const scenario = miss(
      { rps: [660, 660, 660], cpuUs: [350, 350, 350] },
      { rps: [700, 700, 700], cpuUs: [280, 280, 280] },
    )
    expect(missGoals(scenario).map((g) => [g.met, g.detail])).toEqual([
      [true, '0.94×'],
      [false, '1.25×'],
    ])
  })

  it('judges georoute against the contract row, not against the bare Worker', () => {
    // 0.70× of the contract row, whatever its own ratio to the bare Worker says.
    const scenario = miss({ rps: [490], cpuUs: [400] }, { rps: [700], cpuUs: [280] })
    expect(missGoals(scenario).map((g) => [g.met, g.detail])).toEqual([
      [false, '0.70×'],
      [false, '1.43×'],
    ])
  })

  it('says not measured when the contract row did not run', () => {
    const scenario = miss({ rps: [500], cpuUs: [400] }, { rps: [700], cpuUs: [280] })
    scenario.rows = scenario.rows.filter((r) => r.label !== RULES)
    expect(missGoals(scenario).map((g) => g.met)).toEqual([undefined, undefined])
  })

  it('names the paired ratios and the CPU georoute adds in the notes', () => {
    const lines = missBreakdown(miss({ rps: [490], cpuUs: [400] }, { rps: [700], cpuUs: [280] }))
    expect(lines[0]).toContain('georoute reaches 0.70× of its throughput (goal ≥ 0.9×)')
    expect(lines[0]).toContain('at 1.43× of its CPU per request (goal ≤ 1.2×)')
    expect(lines[0]).toContain('+120 µs per request')
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

  it('holds the memory tier to 3× and the Cache API path to 0.9× of the bare cache Worker', () => {
    const goals = checkGoals({ scenarios: [hit(0.85)] }).filter((g) => /hit/.test(g.label))
    expect(goals.map((g) => [g.label, g.met, g.detail])).toEqual([
      ['memory-tier hit throughput ≥ 3× the bare cache Worker', true, '3.00×'],
      ['Cache API hit throughput (memory tier off) ≥ 0.9× the bare cache Worker', false, '0.85×'],
    ])
  })

  it('misses the error goal when any georoute row had a failed answer, and names it', () => {
    const failing = {
      ...hit(0.95),
      rows: hit(0.95).rows.map((r) => (r.label === 'georoute' ? { ...r, errors: 76 } : r)),
    }
    const errorGoal = (scenario: ReturnType<typeof hit>) =>
      checkGoals({ scenarios: [scenario] }).find((g) => g.label.startsWith('no failed answer'))
    expect(errorGoal(hit(0.95))).toMatchObject({
      met: true,
      detail: expect.stringMatching(/^0 in /),
    })
    expect(errorGoal(failing)).toMatchObject({ met: false, detail: 'georoute: 76 of 10,000' })
  })

  it('says nothing without the rows it compares', () => {
    expect(hitBreakdown({ ...hit(0.8), rows: hit(0.8).rows.slice(0, 3) })).toEqual([])
  })
})
