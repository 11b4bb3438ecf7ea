import type { ResolvedOrigin } from './config'
import { distanceBetween, type Point, pointAt, type ReaderLocation } from './geo'

/** What routing knows of one origin's health right now (absent = nothing known). */
export interface OriginHealth {
  /** From the probes' snapshot: `undefined` when unknown or stale. */
  healthy?: boolean
  /** Taken out of rotation by an operator. */
  drained?: boolean
  /** Passively ejected by this isolate until this time (ms since epoch). */
  ejectedUntil?: number
  /** Runs another build than the one the operator expects (`POST /__georoute/build`). */
  offBuild?: boolean
}

export type HealthLookup = ReadonlyMap<string, OriginHealth>

/** How much an origin is preferred: lower tiers are tried first. */
export const Tier = {
  /** Healthy or unknown, not ejected, not drained. */
  Ready: 0,
  /** Down by the probes, ejected here, or off the expected build: tried after every ready origin. */
  Degraded: 1,
  /** Drained by an operator: a last resort when nothing else is left. */
  Drained: 2,
} as const
export type Tier = (typeof Tier)[keyof typeof Tier]

export interface RankedOrigin {
  origin: ResolvedOrigin
  tier: Tier
  /** Great-circle distance from the reader, `undefined` when the reader's location is unknown. */
  distanceKm: number | undefined
}

const NO_HEALTH: OriginHealth = {}

/** Each origin's point, worked out once per resolved configuration (which lives per isolate). */
const points = new WeakMap<ResolvedOrigin, Point>()

function originPoint(origin: ResolvedOrigin): Point {
  let point = points.get(origin)
  if (point === undefined) {
    point = pointAt(origin.lat, origin.lon)
    points.set(origin, point)
  }
  return point
}

function tierOf(health: OriginHealth, now: number): Tier {
  if (health.drained) return Tier.Drained
  if (health.healthy === false || health.offBuild) return Tier.Degraded
  if (health.ejectedUntil !== undefined && health.ejectedUntil > now) return Tier.Degraded
  return Tier.Ready
}

/**
 * Orders origins for one request: ready before degraded before drained, then nearest first
 * (distance divided by weight), then the configured default order, then list position.
 * Pure: touches no I/O, so it costs microseconds and is easy to test.
 */
export function rankOrigins(
  origins: readonly ResolvedOrigin[],
  reader: ReaderLocation | undefined,
  health: HealthLookup,
  now: number,
  defaultOrder?: readonly string[],
): RankedOrigin[] {
  const ranked: RankedOrigin[] = []
  const scores: number[] = []
  const from = reader && pointAt(reader.lat, reader.lon)
  for (const origin of origins) {
    const distance = from && distanceBetween(from, originPoint(origin))
    let score: number
    if (distance !== undefined) score = distance / origin.weight
    else {
      const position = defaultOrder ? defaultOrder.indexOf(origin.id) : -1
      score = position >= 0 ? position : (defaultOrder?.length ?? 0) + origin.index
    }
    ranked.push({
      origin,
      tier: tierOf(health.get(origin.id) ?? NO_HEALTH, now),
      distanceKm: distance,
    })
    scores.push(score)
  }
  // Sort positions, not objects: the scores stay out of the result without copying each entry.
  const order = ranked.map((_, i) => i)
  order.sort(
    (a, b) =>
      ranked[a]!.tier - ranked[b]!.tier ||
      scores[a]! - scores[b]! ||
      ranked[a]!.origin.index - ranked[b]!.origin.index,
  )
  return order.map((i) => ranked[i]!)
}
