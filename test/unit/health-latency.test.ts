import { describe, expect, it } from 'vitest'
import { validateConfig } from '../../worker/config'
import {
  chooseFastest,
  estimatedLatencyMs,
  exploreTarget,
  type SteeringCandidate,
  steerReady,
} from '../../worker/health/latency'
import { type RankedOrigin, Tier } from '../../worker/routing'

const RULE = { marginMs: 50, ratio: 1.5 }

/** Candidates nearest first: `near` 500 km away, `far` 3,000 km, each with a measured latency. */
function pair(near: number | undefined, far: number | undefined): SteeringCandidate[] {
  return [
    { id: 'near', distanceKm: 500, weight: 1, latencyMs: near },
    { id: 'far', distanceKm: 3_000, weight: 1, latencyMs: far },
  ]
}
const chosenId = (c: SteeringCandidate[], previous?: string) =>
  c[chooseFastest(c, previous, RULE)]!.id

describe('estimatedLatencyMs', () => {
  it('estimates one round trip at 2/3 c over a route 1.5 times as long, plus 20 ms', () => {
    expect(estimatedLatencyMs(0)).toBe(20)
    // Frankfurt–Virginia, about 6,600 km.
    expect(estimatedLatencyMs(6_600)).toBeCloseTo(119)
    expect(estimatedLatencyMs(undefined)).toBe(20)
  })
})

describe('chooseFastest', () => {
  it('keeps readers on the nearest origin while nothing is measured', () => {
    expect(chosenId(pair(undefined, undefined))).toBe('near')
  })

  it('leaves the nearest when it is slower by both the margin and the ratio', () => {
    expect(chosenId(pair(320, 20))).toBe('far')
  })

  it('never sends readers to an origin on its distance estimate alone', () => {
    // Unmeasured `far` is estimated at 65 ms: it must be measured first (exploreTarget).
    expect(chosenId(pair(320, undefined))).toBe('near')
  })

  it('stays on the nearest when it is slower by the margin but not the ratio', () => {
    expect(chosenId(pair(400, 300))).toBe('near')
  })

  it('stays on the nearest when it is slower by the ratio but not the margin', () => {
    expect(chosenId(pair(40, 15))).toBe('near')
  })

  it('comes back to the nearest only once it is within half the margin (hysteresis)', () => {
    // Away on `far`; the nearest recovers to 60 ms slower, then 40, then 20.
    expect(chosenId(pair(80, 20), 'far')).toBe('far')
    expect(chosenId(pair(60, 20), 'far')).toBe('far')
    expect(chosenId(pair(44, 20), 'far')).toBe('near')
    // From the nearest, the same 60 ms gap does not make readers leave (ratio 3, margin 40).
    expect(chosenId(pair(60, 20))).toBe('near')
  })

  it('moves readers between two other origins only for the whole margin', () => {
    const three = [...pair(500, 100), { id: 'third', distanceKm: 6_000, weight: 1, latencyMs: 70 }]
    expect(chosenId(three, 'far')).toBe('far')
    three[2]!.latencyMs = 40
    expect(chosenId(three, 'far')).toBe('third')
  })

  it('divides the cost by the weight', () => {
    const weighted = pair(180, 130)
    expect(chosenId(weighted)).toBe('near')
    weighted[1]!.weight = 2
    expect(chosenId(weighted)).toBe('far')
  })

  it('does not flap between two origins of equal latency with noise', () => {
    // A fixed pseudo-random sequence: both origins 100 ms ± 40 ms per sample, smoothed as the
    // passive view does (α 0.3).
    let seed = 7
    const noise = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
      return (seed / 2 ** 31) * 80 - 40
    }
    const ewma = { near: 100, far: 100 }
    let previous: string | undefined
    let switches = 0
    for (let i = 0; i < 2_000; i++) {
      const id = i % 2 === 0 ? 'near' : 'far'
      ewma[id] += 0.3 * (100 + noise() - ewma[id])
      const chosen = chosenId(pair(ewma.near, ewma.far), previous)
      if (previous !== undefined && chosen !== previous) switches++
      previous = chosen
    }
    expect(switches).toBe(0)
  })
})

describe('exploreTarget', () => {
  const candidates = [
    ...pair(300, 20),
    { id: 'third', distanceKm: 9_000, weight: 1, latencyMs: 200 },
  ]
  const sampled = (times: Record<string, number>) => (id: string) => times[id]

  it('measures an unmeasured origin whose estimate beats a slow nearest one', () => {
    const unmeasured = pair(320, undefined)
    expect(exploreTarget(unmeasured, 0, sampled({}), -Infinity, 10_000, 2_000, RULE)).toBe(1)
    // Not when the nearest is fast enough that the estimate could not win.
    const fast = pair(60, undefined)
    expect(exploreTarget(fast, 0, sampled({}), -Infinity, 10_000, 2_000, RULE)).toBeUndefined()
  })

  it('measures nothing while readers are on their nearest origin and the others are known', () => {
    expect(
      exploreTarget(candidates, 0, sampled({}), -Infinity, 10_000, 2_000, RULE),
    ).toBeUndefined()
  })

  it('sends at most one request per interval to a nearer origin', () => {
    const at = sampled({ near: 1_000, far: 9_990 })
    expect(exploreTarget(candidates, 1, at, 5_000, 10_000, 2_000, RULE)).toBe(0)
    expect(exploreTarget(candidates, 1, at, 9_000, 10_000, 2_000, RULE)).toBeUndefined()
  })

  it('skips an origin measured within the interval, and never measures farther ones', () => {
    expect(
      exploreTarget(candidates, 1, sampled({ near: 9_000 }), 0, 10_000, 2_000, RULE),
    ).toBeUndefined()
    // Chosen `far`: `third` (farther) is never a target.
    expect(
      exploreTarget(candidates, 1, sampled({ near: 0, third: 0 }), 0, 10_000, 2_000, RULE),
    ).toBe(0)
  })
})

describe('steerReady', () => {
  const config = validateConfig([
    { id: 'near', url: 'https://a.example', lat: 0, lon: 0 },
    { id: 'far', url: 'https://b.example', lat: 0, lon: 20 },
    { id: 'down', url: 'https://c.example', lat: 0, lon: 1 },
  ])
  if (!config.ok) throw new Error(config.errors.join('\n'))
  const [near, far, down] = config.config.origins
  const ranked: RankedOrigin[] = [
    { origin: near!, tier: Tier.Ready, distanceKm: 10 },
    { origin: far!, tier: Tier.Ready, distanceKm: 2_000 },
    { origin: down!, tier: Tier.Degraded, distanceKm: 100 },
  ]
  const latency: Record<string, number> = { near: 400, far: 30 }
  const measured = (id: string) => ({ latencyMs: latency[id], sampledAt: 9_000 })
  const ids = (r: readonly RankedOrigin[]) => r.map((x) => x.origin.id)
  const quiet = { lastExploreAt: 9_500, now: 10_000, intervalMs: 2_000 }

  it('puts the fastest ready origin first and leaves degraded ones behind', () => {
    const result = steerReady(ranked, measured, undefined, RULE, quiet)
    expect(ids(result.ranked)).toEqual(['far', 'near', 'down'])
    expect(result).toMatchObject({ chosen: 'far', explore: undefined })
  })

  it('names the nearer origin to measure when one is due, without sending the reader there', () => {
    const due = { lastExploreAt: 0, now: 20_000, intervalMs: 2_000 }
    const result = steerReady(ranked, measured, 'far', RULE, due)
    expect(ids(result.ranked)).toEqual(['far', 'near', 'down'])
    expect(result.chosen).toBe('far')
    expect(result.explore?.origin.id).toBe('near')
  })

  it('leaves the ranking as it is while readers are on their nearest origin', () => {
    latency.near = 30
    const result = steerReady(ranked, measured, undefined, RULE, quiet)
    expect(result.ranked).toBe(ranked)
    latency.near = 400
  })

  it('never puts a degraded origin first, however fast it was', () => {
    latency.down = 1
    const result = steerReady(ranked, measured, undefined, RULE, quiet)
    expect(ids(result.ranked)[0]).toBe('far')
    delete latency.down
  })
})
