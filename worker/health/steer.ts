import type { Config, ResolvedOrigin, RoutingSettings } from '../config'
import { proxyRequest, type UpstreamRequest } from '../proxy'
import { type RankedOrigin, Tier } from '../routing'
import type { ColoFacts } from './colo'
import type { ColoHealth } from './colo-store'
import { RequestJudge } from './judge'
import { steerReady } from './latency'
import { passiveThresholds } from './passive'

/**
 * Latency-aware steering on the request path (`settings.routing.steering`): the ranking
 * reordered for the reader's data center, and the background measurement of an origin that
 * could win readers. The decisions are pure (`./latency.ts`); this is their thin I/O layer.
 */

/**
 * The ranking with `settings.routing.steering` applied for readers entering `colo`: with
 * `fastest`, the ready origin that is fastest from here goes first (worker/health/latency.ts),
 * remembered per nearest origin so that the next choice has hysteresis; and the origin to
 * measure alongside this request, when one is due.
 */
export function steered(
  ranked: readonly RankedOrigin[],
  colo: ColoHealth,
  facts: (originId: string) => ColoFacts,
  routing: RoutingSettings,
  now: number,
): { ranked: readonly RankedOrigin[]; explore?: ResolvedOrigin } {
  const nearest = ranked[0]
  if (routing.steering !== 'fastest' || nearest?.tier !== Tier.Ready) return { ranked }
  const result = steerReady(
    ranked,
    facts,
    colo.chosen.get(nearest.origin.id),
    { marginMs: routing.steeringMarginMs, ratio: routing.steeringRatio },
    { lastExploreAt: colo.lastExploreAt, now, intervalMs: routing.exploreIntervalMs },
  )
  if (result.chosen) colo.chosen.set(nearest.origin.id, result.chosen)
  if (!result.explore) return { ranked: result.ranked }
  colo.lastExploreAt = now
  return { ranked: result.ranked, explore: result.explore.origin }
}

/**
 * Sends a copy of a safe request to `origin` and records what it shows, discarding the body.
 * No answer within `routing.hedgeMaxDelayMs` (1 s) counts like a hedge lost by far: a slow
 * lower bound and a failure towards ejection (the readers' own origin answered meanwhile), so
 * an origin that hangs is not measured again and again.
 */
export async function measure(
  upstream: UpstreamRequest,
  origin: ResolvedOrigin,
  colo: ColoHealth,
  config: Config,
  routing: RoutingSettings,
  edge: { clientIp: string | null; publicUrl: URL },
): Promise<void> {
  const thresholds = passiveThresholds(routing)
  const judge = new RequestJudge(colo, config.origins.length, thresholds)
  const timeoutMs = Math.min(routing.hedgeMaxDelayMs, routing.attemptTimeoutMs)
  const outcome = await proxyRequest(withoutCredentials(upstream), [origin], {
    edge,
    originHosts: config.originHosts,
    routing: { ...routing, maxAttempts: 1, attemptTimeoutMs: timeoutMs },
    onAttempt: (_origin, attempt) => {
      const now = Date.now()
      if (attempt.failure !== 'timeout') return judge.attempt(attempt, now)
      colo.observeSlow(origin.id, attempt.ms, now)
      const reason = `slow: no answer in ${attempt.ms} ms (measuring)`
      colo.record(
        origin.id,
        { kind: 'failure', reason, conclusive: false },
        now,
        config.origins.length,
        thresholds,
      )
    },
    onBodyEnd: (o, failure) => judge.body(o.id, failure, Date.now()),
    hedgeDelayMs: () => undefined,
  })
  judge.settle(Date.now())
  await outcome.response.body?.cancel()
}

/**
 * The measurement's copy of a reader's request, without the reader's credentials: a copy sent
 * to an origin the reader did not ask for must not act for them there (a logged-in GET counted
 * twice, a session touched on a second origin). Only the time to response headers is kept.
 */
export function withoutCredentials(upstream: UpstreamRequest): UpstreamRequest {
  const { headers } = upstream
  if (!headers.has('cookie') && !headers.has('authorization')) return upstream
  const copy = new Headers(headers)
  copy.delete('cookie')
  copy.delete('authorization')
  return { method: upstream.method, headers: copy, body: null, shared: upstream.shared }
}
