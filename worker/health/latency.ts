import { type RankedOrigin, Tier } from '../routing'

/**
 * Latency-aware steering: which ready origin readers entering one data center are sent to.
 * Pure: the facts (each origin's distance, weight and measured time to response headers from
 * this data center) and the previous choice in, the choice out.
 */

/** Light in fibre covers about 200 km per ms (2/3 c). */
const FIBRE_KM_PER_MS = 200
/** Real routes run about 1.5× the great-circle distance (detours, peering points). */
const ROUTE_FACTOR = 1.5
/** What an origin takes to answer on top of the wire: a blog page from a warm application. */
const ESTIMATE_BASE_MS = 20

/**
 * The time to response headers expected from an origin `distanceKm` away, before any request
 * measured it: one round trip on a pooled connection (2 × 1.5 × d / 200 km/ms = 0.015 ms per
 * km) plus 20 ms for the origin. Frankfurt–Virginia (6,600 km): ~120 ms. An unknown distance
 * counts as the base alone: every origin then ties and the configured order decides.
 */
export function estimatedLatencyMs(distanceKm: number | undefined): number {
  if (distanceKm === undefined) return ESTIMATE_BASE_MS
  return ESTIMATE_BASE_MS + (2 * ROUTE_FACTOR * distanceKm) / FIBRE_KM_PER_MS
}

/** One ready origin as steering sees it. */
export interface SteeringCandidate {
  id: string
  distanceKm: number | undefined
  /** Relative preference (`origins[].weight`): the cost is divided by it. */
  weight: number
  /** Smoothed time to response headers measured from this data center; `undefined` if none. */
  latencyMs: number | undefined
}

/** When readers leave their nearest origin (`settings.routing.steering*`). */
export interface SteeringRule {
  marginMs: number
  ratio: number
}

/** What an origin is expected to cost a reader, in ms (divided by its weight). */
export function steeringCost(candidate: SteeringCandidate): number {
  const ms = candidate.latencyMs ?? estimatedLatencyMs(candidate.distanceKm)
  return ms / candidate.weight
}

/** True when `a` is slower than `b` by more than `marginMs` and by more than `ratio` times. */
const slowerBy = (a: number, b: number, marginMs: number, ratio: number) =>
  a - b > marginMs && a > ratio * b

/**
 * The position in `candidates` (ready origins, nearest first) that readers are sent to. The
 * nearest, unless a measured one is faster by the whole margin (ms and ratio); once away,
 * readers come back to the nearest as soon as it is within half the margin, and move between
 * two other origins only for the whole margin. The band between half and the whole margin is
 * the hysteresis: two origins of similar latency never trade readers back and forth. An origin
 * never measured from here is not chosen on its estimate alone (a slow page would make every
 * far origin look faster than the nearest): `exploreTarget` measures it first.
 */
export function chooseFastest(
  candidates: readonly SteeringCandidate[],
  previous: string | undefined,
  rule: SteeringRule,
): number {
  if (candidates.length < 2) return 0
  const costs = candidates.map(steeringCost)
  let current = previous === undefined ? 0 : candidates.findIndex((c) => c.id === previous)
  if (current < 0 || candidates[current]!.latencyMs === undefined) current = 0
  let best = current
  for (let i = 0; i < costs.length; i++) {
    if (candidates[i]!.latencyMs !== undefined && costs[i]! < costs[best]!) best = i
  }
  if (current !== 0) {
    const halfRatio = 1 + (rule.ratio - 1) / 2
    if (!slowerBy(costs[0]!, costs[current]!, rule.marginMs / 2, halfRatio)) return 0
  }
  if (best !== current && slowerBy(costs[current]!, costs[best]!, rule.marginMs, rule.ratio)) {
    return best
  }
  return current
}

/**
 * The origin one request should measure instead of going to the chosen one, or `undefined`:
 * at most once per `intervalMs` (`lastExploreAt`), an origin that could win readers and whose
 * latency from here is unknown or older than the interval. Those are the origins nearer than
 * the chosen one (a recovered nearest wins its readers back) and unmeasured ones whose
 * distance estimate beats the chosen one by the margin. The one measured longest ago goes
 * first, nearer before farther.
 */
export function exploreTarget(
  candidates: readonly SteeringCandidate[],
  chosen: number,
  sampledAt: (id: string) => number | undefined,
  lastExploreAt: number,
  now: number,
  intervalMs: number,
  rule: SteeringRule,
): number | undefined {
  if (now - lastExploreAt < intervalMs || candidates.length < 2) return undefined
  const chosenCost = steeringCost(candidates[chosen]!)
  let target: number | undefined
  let oldest = Number.POSITIVE_INFINITY
  for (let i = 0; i < candidates.length; i++) {
    if (i === chosen) continue
    const candidate = candidates[i]!
    const promising =
      i < chosen ||
      (candidate.latencyMs === undefined &&
        slowerBy(chosenCost, steeringCost(candidate), rule.marginMs, rule.ratio))
    if (!promising) continue
    const at = sampledAt(candidate.id) ?? Number.NEGATIVE_INFINITY
    // Measured a moment ago (a hedge, another reader): nothing to learn yet.
    if (now - at < intervalMs) continue
    if (at < oldest) {
      oldest = at
      target = i
    }
  }
  return target
}

/** What steering did to one request's ranking. */
export interface Steered {
  ranked: readonly RankedOrigin[]
  /** The origin readers of this data center are sent to (the first ready one). */
  chosen: string | undefined
  /** An origin to measure alongside this request (`exploreTarget`), if one is due. */
  explore: RankedOrigin | undefined
}

/**
 * `ranked` (ready origins first, nearest first) with the fastest ready origin moved to the
 * front (`chooseFastest`), and the origin to measure alongside this request when one is due.
 * The reader never waits for a measurement: the caller sends it in the background. Degraded
 * and drained origins keep their places behind: steering only reorders the ready tier.
 */
export function steerReady(
  ranked: readonly RankedOrigin[],
  measured: (id: string) => { latencyMs: number | undefined; sampledAt: number | undefined },
  previous: string | undefined,
  rule: SteeringRule,
  explore: { lastExploreAt: number; now: number; intervalMs: number },
): Steered {
  const candidates: SteeringCandidate[] = []
  for (const r of ranked) {
    if (r.tier !== Tier.Ready) break
    const m = measured(r.origin.id)
    candidates.push({
      id: r.origin.id,
      distanceKm: r.distanceKm,
      weight: r.origin.weight,
      latencyMs: m.latencyMs,
    })
  }
  if (candidates.length === 0) return { ranked, chosen: undefined, explore: undefined }
  const chosen = chooseFastest(candidates, previous, rule)
  const target = exploreTarget(
    candidates,
    chosen,
    (id) => measured(id).sampledAt,
    explore.lastExploreAt,
    explore.now,
    explore.intervalMs,
    rule,
  )
  const id = candidates[chosen]!.id
  const probe = target === undefined ? undefined : ranked[target]
  // The common case, readers on their nearest origin: the ranking as it is, not copied.
  if (chosen === 0) return { ranked, chosen: id, explore: probe }
  const order = [ranked[chosen]!, ...ranked.filter((_, i) => i !== chosen)]
  return { ranked: order, chosen: id, explore: probe }
}
