import type { ResolvedOrigin, RoutingSettings } from '../config'
import type { Overrides } from '../overrides'
import type { HealthLookup, OriginHealth } from '../routing'
import type { PassiveHealth } from './passive'

/**
 * Merges what routing needs to know of each origin: the probes' verdict (`probed`, absent or
 * stale = unknown), the operator's drains, and this isolate's passive ejections. Probes that
 * saw an origin come back up after this isolate ejected it end the ejection early. Origins in
 * `offBuild` run another build than the operator expects.
 */
export function healthView(
  origins: readonly ResolvedOrigin[],
  probed: ReadonlyMap<string, { healthy: boolean; since: number }>,
  overrides: Overrides,
  passive: PassiveHealth,
  offBuild?: ReadonlySet<string>,
): HealthLookup {
  const view = new Map<string, OriginHealth>()
  for (const origin of origins) {
    const health: OriginHealth = {}
    const verdict = probed.get(origin.id)
    if (verdict) health.healthy = verdict.healthy
    if (overrides.drained.includes(origin.id)) health.drained = true
    if (offBuild?.has(origin.id)) health.offBuild = true
    const ejection = passive.get(origin.id)
    const recoveredSince = verdict?.healthy && ejection && verdict.since > ejection.ejectedAt
    if (ejection?.ejectedUntil && !recoveredSince) health.ejectedUntil = ejection.ejectedUntil
    view.set(origin.id, health)
  }
  return view
}

/** How long to wait for `origin` before hedging: 3× its observed latency, within bounds. */
export function hedgeDelay(
  origin: ResolvedOrigin,
  routing: RoutingSettings,
  passive: PassiveHealth,
): number | undefined {
  if (!routing.hedge) return undefined
  if (routing.hedgeDelayMs !== undefined) return routing.hedgeDelayMs
  const latency = passive.get(origin.id)?.latencyMs
  if (latency === undefined) return routing.hedgeMaxDelayMs
  return Math.min(routing.hedgeMaxDelayMs, Math.max(routing.hedgeMinDelayMs, 3 * latency))
}
