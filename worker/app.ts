import { Hono } from 'hono'
import { probeNow, purgeCache, requireAdmin, setDrained } from './admin'
import type { Config } from './config'
import { loadConfig } from './config-loader'
import type { AppEnv, Env } from './env'
import { serve, unhandled } from './pipeline'
import { errorPage } from './proxy'
import { statusAccess, statusJson, statusPage } from './status'

const app = new Hono<AppEnv>()

/**
 * The configuration for a request, or the 5xx page that replaces every answer while it is
 * invalid: a clear page naming every problem, and a log line, never a stack trace.
 */
export function configFor(env: Env, host: string): Config | Response {
  const result = loadConfig(env)
  if (!result.ok) {
    console.error(
      JSON.stringify({ message: 'georoute: invalid configuration', errors: result.errors }),
    )
    return errorPage(500, 'georoute: invalid configuration', result.errors.join('\n'))
  }
  if (result.config.originHosts.has(host)) {
    const message = `an origin's url points at this Worker's own host (${host}): requests would loop`
    console.error(JSON.stringify({ message: `georoute: invalid configuration: ${message}` }))
    return errorPage(500, 'georoute: invalid configuration', message)
  }
  return result.config
}

app.use('*', async (c, next) => {
  const publicUrl = new URL(c.req.url)
  const config = configFor(c.env, publicUrl.host)
  if (config instanceof Response) return config
  c.set('config', config)
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
