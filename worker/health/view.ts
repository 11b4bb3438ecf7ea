import type { ResolvedOrigin, RoutingSettings } from '../config'
import type { Overrides } from '../overrides'
import type { HealthLookup, OriginHealth } from '../routing'
import { type ColoFacts, hasLocalEvidence } from './colo'

/**
 * Merges what routing needs to know of each origin, as seen from the reader's data center: the
 * probes' verdict (`probed`, absent or stale = unknown), the operator's drains, and the data
 * center's ejections (`facts`: its isolates' shared record with this isolate's own). A probe
 * "down" does not demote an origin that this data center's own recent requests show working
 * (`hasLocalEvidence`); a probe "up" never ends an ejection before its cool-down: the probe may
 * have run from elsewhere, and the ejection comes from readers here.
 * Origins in `offBuild` run another build than the operator expects. An origin nothing is known
 * of has no entry (routing reads it as ready).
 */
export function healthView(
  origins: readonly ResolvedOrigin[],
  probed: ReadonlyMap<string, { healthy: boolean; since: number }>,
  overrides: Overrides,
  facts: (originId: string) => ColoFacts | undefined,
  minSuccesses: number,
  offBuild?: ReadonlySet<string>,
): HealthLookup {
  const view = new Map<string, OriginHealth>()
  const drains = overrides.drained.length > 0
  for (const origin of origins) {
    const local = facts(origin.id)
    const verdict = probed.get(origin.id)
    const drained = drains && overrides.drained.includes(origin.id)
    const off = offBuild?.has(origin.id) === true
    // Nothing known (most origins, most of the time): no entry, which routing reads as ready.
    if (!verdict && !drained && !off && !local?.ejectedUntil) continue
    const health: OriginHealth = {}
    if (verdict && (verdict.healthy || !hasLocalEvidence(local, minSuccesses))) {
      health.healthy = verdict.healthy
    }
    if (drained) health.drained = true
    if (off) health.offBuild = true
    if (local?.ejectedUntil) health.ejectedUntil = local.ejectedUntil
    view.set(origin.id, health)
  }
  return view
}

/** How long to wait for an origin of `latencyMs` before hedging: 3× that, within bounds. */
export function hedgeDelay(
  latencyMs: number | undefined,
  routing: RoutingSettings,
): number | undefined {
  if (!routing.hedge) return undefined
  if (routing.hedgeDelayMs !== undefined) return routing.hedgeDelayMs
  if (latencyMs === undefined) return routing.hedgeMaxDelayMs
  return Math.min(routing.hedgeMaxDelayMs, Math.max(routing.hedgeMinDelayMs, 3 * latencyMs))
}
