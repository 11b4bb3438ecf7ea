import type { Context, MiddlewareHandler } from 'hono'
import { isAdmin, requireAdmin } from '../admin'
import { isSkewed, knownBuilds, observations, skewSeenHereSince } from '../builds'
import { heldNow } from '../cache/memory'
import type { HealthSettings } from '../config'
import type { AppEnv } from '../env'
import { type CfLocation, locateReader, readerColo } from '../geo'
import type { ColoFacts } from '../health/colo'
import { coloHealth } from '../health/colo-store'
import { steerReady } from '../health/latency'
import { healthFromSnapshot, isStale, readSnapshot, type Snapshot } from '../health/snapshot'
import { healthView } from '../health/view'
import { readOverrides } from '../overrides'
import { rankOrigins, Tier } from '../routing'
import { type BuildFacts, buildStatus, type ProbeRecord, type StatusReport } from './model'
import { StatusPage } from './page'

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())

/** The probes' records for the page; none (all `unknown`) when the snapshot is missing or stale. */
function probeRecords(
  snapshot: Snapshot | undefined,
  now: number,
  health: HealthSettings,
): Map<string, ProbeRecord> {
  const records = new Map<string, ProbeRecord>()
  if (!snapshot || isStale(snapshot, now, health)) return records
  for (const [id, state] of Object.entries(snapshot.origins)) {
    records.set(id, {
      healthy: state.healthy,
      since: iso(state.since),
      lastCheck: iso(state.lastCheck),
      latencyMs: state.latencyMs,
      reason: state.reason,
    })
  }
  return records
}

/**
 * The builds as this isolate knows them (its observations, the probes' snapshot), and since
 * when they disagree: the probes' record of the skew, else this isolate's first sight of it.
 */
function buildFacts(
  origins: readonly { id: string }[],
  snapshot: Snapshot | undefined,
  now: number,
  expected: string | undefined,
  health: HealthSettings,
): BuildFacts {
  const fresh = snapshot && !isStale(snapshot, now, health) ? snapshot : undefined
  const builds = knownBuilds(origins, fresh?.origins, observations(), now)
  const skewed = isSkewed(builds)
  const since = skewed ? (fresh?.skew?.since ?? skewSeenHereSince() ?? now) : undefined
  return {
    builds,
    expected: expected ?? null,
    skewSince: since,
    alertMinutes: health.buildSkewAlertMinutes,
  }
}

/** Guards the status page and JSON when `settings.status.access` is `admin`; open otherwise. */
export const statusAccess: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (c.get('config').settings.status.access === 'admin') return requireAdmin(c, next)
  await next()
}

/** Reasons and URLs: for the admin, or for everyone when `settings.status.publicDetail` is on. */
async function showDetail(c: Context<AppEnv>): Promise<boolean> {
  return c.get('config').settings.status.publicDetail || isAdmin(c)
}

/** Gathers the status facts for one request: full detail with the admin token (or by setting). */
export async function statusReport(c: Context<AppEnv>): Promise<StatusReport> {
  const now = Date.now()
  const config = c.get('config')
  const cf = c.req.raw.cf as (CfLocation & { colo?: unknown }) | undefined
  const overridden = c.env.GEO_OVERRIDE === 'true'
  const override = overridden ? c.req.header('x-georoute-geo') : null
  const colo = coloHealth(readerColo(cf, overridden ? c.req.header('x-georoute-colo') : null))
  const { health } = config.settings
  const [overrides, snapshot, detail] = await Promise.all([
    readOverrides(c.env.HEALTH, now, config.origins),
    readSnapshot(c.env.HEALTH, now, health.memoTtlMs),
    showDetail(c),
    colo.refresh(caches.default, now, health.coloMemoMs),
  ])
  const bucketMs = health.localEvidence.windowMs / 2
  const facts = new Map<string, ColoFacts>()
  for (const o of config.origins) facts.set(o.id, colo.facts(o.id, now, bucketMs))
  const reader = locateReader(cf, override)
  // Where a reader here would be sent: the same ranking and steering as a request, unrecorded.
  const lookup = (id: string) => facts.get(id)
  const { minSuccesses } = health.localEvidence
  const view = healthView(
    config.origins,
    healthFromSnapshot(snapshot, now, health),
    overrides,
    lookup,
    minSuccesses,
  )
  const { routing } = config.settings
  const ranked = rankOrigins(config.origins, reader, view, now, routing.defaultOrder)
  const nearest = ranked[0]
  const sentTo =
    routing.steering === 'fastest' && nearest?.tier === Tier.Ready
      ? steerReady(
          ranked,
          (id) => facts.get(id) ?? { latencyMs: undefined, sampledAt: undefined },
          colo.chosen.get(nearest.origin.id),
          { marginMs: routing.steeringMarginMs, ratio: routing.steeringRatio },
          { lastExploreAt: now, now, intervalMs: routing.exploreIntervalMs },
        ).chosen
      : nearest?.origin.id
  return buildStatus({
    config,
    probes: probeRecords(snapshot, now, health),
    snapshotUpdatedAt: snapshot ? iso(snapshot.updatedAt) : null,
    overrides,
    facts: lookup,
    colo: colo.colo,
    sentTo,
    minSuccesses,
    cf,
    reader,
    memory: { ...heldNow(), maxBytes: config.settings.cache.memory.maxBytes },
    detail,
    now,
    ...(health.build && {
      builds: buildFacts(config.origins, snapshot, now, overrides.expectedBuild, health),
    }),
  })
}

/** `GET /__georoute/status`: the status as JSON, never cached by anyone. */
export async function statusJson(c: Context<AppEnv>): Promise<Response> {
  c.header('cache-control', 'no-store')
  return c.json(await statusReport(c))
}

/** `GET /__georoute/`: the human status page, never cached by anyone. */
export async function statusPage(c: Context<AppEnv>): Promise<Response> {
  c.header('cache-control', 'no-store')
  return c.html(StatusPage({ report: await statusReport(c) }))
}
