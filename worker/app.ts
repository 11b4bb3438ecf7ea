import { Hono } from 'hono'
import {
  clearBuild,
  isAdmin,
  probeNow,
  purgeCache,
  requireAdmin,
  setBuild,
  setDrained,
} from './admin'
import type { Config } from './config'
import { loadConfig } from './config-loader'
import type { AppEnv, Env } from './env'
import { serve, unhandled } from './pipeline'
import { errorPage } from './proxy'
import { statusAccess, statusJson, statusPage } from './status'

const app = new Hono<AppEnv>()

/**
 * The configuration for a request, or every problem that makes it invalid (each logged as one
 * JSON line, per request, so the operator's log names them).
 */
export function checkedConfig(env: Env, host: string): { config: Config } | { errors: string[] } {
  const result = loadConfig(env)
  let errors: string[]
  if (!result.ok) errors = result.errors
  else if (result.config.originHosts.has(host)) {
    errors = [`an origin's url points at this Worker's own host (${host}): requests would loop`]
  } else return { config: result.config }
  console.error(JSON.stringify({ message: 'georoute: invalid configuration', errors }))
  return { errors }
}

// Readers must not learn origin URLs or the ORIGINS value from an error: the log has them.
const MISCONFIGURED = "georoute is misconfigured; the operator's log names the problem."
const misconfigured = () => errorPage(500, 'georoute is misconfigured', MISCONFIGURED)

/**
 * The configuration for a request, or the 5xx page that replaces every answer while it is
 * invalid: a generic page (the problems go to the log), never a stack trace.
 */
export function configFor(env: Env, host: string): Config | Response {
  const checked = checkedConfig(env, host)
  return 'config' in checked ? checked.config : misconfigured()
}

app.use('*', async (c, next) => {
  const publicUrl = new URL(c.req.url)
  const checked = checkedConfig(c.env, publicUrl.host)
  if ('errors' in checked) {
    if (c.req.path !== '/__georoute/status') return misconfigured()
    // The status JSON says so to everyone, and lists the problems for the admin token only.
    const admin = await isAdmin(c)
    c.header('cache-control', 'no-store')
    return c.json(
      { configuration: 'invalid', error: MISCONFIGURED, ...(admin && { errors: checked.errors }) },
      500,
    )
  }
  c.set('config', checked.config)
  c.set('publicUrl', publicUrl)
  await next()
})

app.get('/__georoute', (c) => c.redirect('/__georoute/', 301))
app.get('/__georoute/', statusAccess, statusPage)
app.get('/__georoute/status', statusAccess, statusJson)
app.post('/__georoute/origins/:id/drain', requireAdmin, (c) => setDrained(c, true))
app.post('/__georoute/origins/:id/undrain', requireAdmin, (c) => setDrained(c, false))
app.post('/__georoute/probe', requireAdmin, probeNow)
app.post('/__georoute/purge', requireAdmin, purgeCache)
app.post('/__georoute/build', requireAdmin, setBuild)
app.delete('/__georoute/build', requireAdmin, clearBuild)

// Reserved paths are never proxied.
app.all('/__georoute/*', (c) => c.json({ error: 'not found' }, 404))

app.all('*', (c) =>
  serve(c.req.raw, {
    env: c.env,
    ctx: c.executionCtx,
    config: c.get('config'),
    publicUrl: c.get('publicUrl'),
    path: c.get('publicUrl').pathname,
    origin: c.get('publicUrl').origin,
  }),
)

app.onError((error, c) => unhandled(error, c.req.method))

export default app
