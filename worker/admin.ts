import type { Context, MiddlewareHandler } from 'hono'
import { parseBuild } from './builds'
import { purge } from './cache'
import type { AppEnv } from './env'
import { runHealthChecks } from './health/scheduled'
import { setDrain, setExpectedBuild } from './overrides'

const encoder = new TextEncoder()

/** Compares two secrets in constant time: both are hashed first so lengths leak nothing. */
export async function sameSecret(given: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([
    crypto.subtle.digest('SHA-256', encoder.encode(given)),
    crypto.subtle.digest('SHA-256', encoder.encode(expected)),
  ])
  return crypto.subtle.timingSafeEqual(a, b)
}

/** The bearer token of a request, or `undefined`. */
function bearer(header: string | undefined): string | undefined {
  const match = header?.match(/^Bearer\s+(\S+)\s*$/i)
  return match?.[1]
}

/** Whether the request carries the admin token (`false` too when the admin API is disabled). */
export async function isAdmin(c: Context<AppEnv>): Promise<boolean> {
  const expected = c.env.ADMIN_TOKEN
  const token = bearer(c.req.header('authorization'))
  return !!expected && token !== undefined && (await sameSecret(token, expected))
}

/**
 * Guards admin routes: disabled (403) while `ADMIN_TOKEN` is unset, 401 without a bearer token,
 * 403 with a wrong one. Every admin call that gets through is logged.
 */
export const requireAdmin: MiddlewareHandler<AppEnv> = async (c, next) => {
  const expected = c.env.ADMIN_TOKEN
  if (!expected) {
    return c.json(
      { error: 'the admin API is disabled: set the ADMIN_TOKEN secret to enable it' },
      403,
    )
  }
  const token = bearer(c.req.header('authorization'))
  if (token === undefined) {
    c.header('www-authenticate', 'Bearer realm="georoute"')
    return c.json({ error: 'missing bearer token' }, 401)
  }
  if (!(await sameSecret(token, expected))) return c.json({ error: 'wrong token' }, 403)
  console.log(
    JSON.stringify({ message: 'georoute: admin action', method: c.req.method, path: c.req.path }),
  )
  await next()
}

/** Takes an origin out of rotation (`drain`) or puts it back (`undrain`). */
export async function setDrained(c: Context<AppEnv>, drained: boolean): Promise<Response> {
  const id = c.req.param('id')
  const config = c.get('config')
  if (!config.origins.some((o) => o.id === id)) {
    return c.json({ error: `no origin has id ${JSON.stringify(id)}` }, 404)
  }
  const overrides = await setDrain(c.env.HEALTH, id!, drained, config.origins)
  return c.json({ id, drained, drainedOrigins: overrides.drained })
}

/**
 * `POST /__georoute/probe`: one probe round now, outside the cron. With one round, its verdict
 * counts (thresholds never exceed a run's rounds); writes follow the cron's rules.
 */
export async function probeNow(c: Context<AppEnv>): Promise<Response> {
  const config = c.get('config')
  const health = { ...config.settings.health, maxRounds: 1 }
  const oneRound = { ...config, settings: { ...config.settings, health } }
  const report = await runHealthChecks(oneRound, Date.now(), {
    kv: c.env.HEALTH,
    ...(c.env.HEALTH_WEBHOOK_URL ? { webhookUrl: c.env.HEALTH_WEBHOOK_URL } : {}),
  })
  return c.json(report)
}

/** `POST /__georoute/purge`: `{ "urls": [...] }` or `{ "all": true }` (see worker/cache/purge.ts). */
export async function purgeCache(c: Context<AppEnv>): Promise<Response> {
  const body = await c.req.json().catch(() => undefined)
  const result = await purge(body, {
    env: c.env,
    publicUrl: new URL(c.req.url),
    settings: c.get('config').settings,
  })
  return c.json(result.body, result.status)
}

/**
 * `POST /__georoute/build` `{ "expect": "<build id>" }`, for a deploy pipeline: origins known to
 * run another build rank as degraded until they catch up. `DELETE` clears it.
 */
export async function setBuild(c: Context<AppEnv>): Promise<Response> {
  if (!c.get('config').settings.health.build) {
    return c.json({ error: 'settings.health.build is not set: origins report no build' }, 409)
  }
  const body: unknown = await c.req.json().catch(() => undefined)
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return c.json({ error: 'body: must be a JSON object { "expect": "<build id>" }' }, 400)
  }
  const unknown = Object.keys(body).filter((key) => key !== 'expect')
  if (unknown.length > 0) return c.json({ error: `${unknown[0]}: unknown field` }, 400)
  const raw = (body as { expect?: unknown }).expect
  const expect = typeof raw === 'string' ? parseBuild(raw) : undefined
  if (expect === undefined || expect !== raw) {
    return c.json(
      { error: 'expect: must be a build id (1 to 128 of A-Z a-z 0-9 . _ : + @ ~ -)' },
      400,
    )
  }
  await setExpectedBuild(c.env.HEALTH, expect)
  return c.json({ expect })
}

/** `DELETE /__georoute/build`: no build is expected any more; every origin ranks as before. */
export async function clearBuild(c: Context<AppEnv>): Promise<Response> {
  await setExpectedBuild(c.env.HEALTH, null)
  return c.json({ expect: null })
}
