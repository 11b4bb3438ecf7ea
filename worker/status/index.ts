import type { Context } from 'hono'
import { isAdmin } from '../admin'
import type { AppEnv } from '../app'
import { type CfLocation, locateReader } from '../geo'
import { passiveHealth } from '../health/passive'
import { readOverrides } from '../overrides'
import { buildStatus, type ProbeRecord, type StatusReport } from './model'

/** Gathers the status facts for one request: full detail with the admin token. */
export async function statusReport(c: Context<AppEnv>): Promise<StatusReport> {
  const now = Date.now()
  const config = c.get('config')
  const cf = c.req.raw.cf as (CfLocation & { colo?: unknown }) | undefined
  const override = c.env.GEO_OVERRIDE === 'true' ? c.req.header('x-georoute-geo') : null
  const [overrides, detail] = await Promise.all([readOverrides(c.env.HEALTH, now), isAdmin(c)])
  const probes = new Map<string, ProbeRecord>()
  return buildStatus({
    config,
    probes,
    snapshotUpdatedAt: null,
    overrides,
    passive: passiveHealth,
    cf,
    reader: locateReader(cf, override),
    detail,
    now,
  })
}

/** `GET /__georoute/status`: the status as JSON, never cached by anyone. */
export async function statusJson(c: Context<AppEnv>): Promise<Response> {
  c.header('cache-control', 'no-store')
  return c.json(await statusReport(c))
}
