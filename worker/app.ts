import { Hono } from 'hono'
import { probeNow, purgeCache, requireAdmin, setDrained } from './admin'
import type { Config } from './config'
import { loadConfig } from './config-loader'
import type { Env } from './env'
import { serve } from './pipeline'
import { errorPage } from './proxy'
import { statusAccess, statusJson, statusPage } from './status'

export type AppEnv = { Bindings: Env; Variables: { config: Config; publicUrl: URL } }

const app = new Hono<AppEnv>()

// Configuration first: an invalid list is a clear 5xx naming every problem, never a stack trace.
app.use('*', async (c, next) => {
  const result = loadConfig(c.env)
  if (!result.ok) {
    console.error(
      JSON.stringify({ message: 'georoute: invalid configuration', errors: result.errors }),
    )
    return errorPage(500, 'georoute: invalid configuration', result.errors.join('\n'))
  }
  const publicUrl = new URL(c.req.url)
  const publicHost = publicUrl.host
  if (result.config.originHosts.has(publicHost)) {
    const message = `an origin's url points at this Worker's own host (${publicHost}): requests would loop`
    console.error(JSON.stringify({ message: `georoute: invalid configuration: ${message}` }))
    return errorPage(500, 'georoute: invalid configuration', message)
  }
  c.set('config', result.config)
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
  }),
)

app.onError((error) => {
  // Only a bug reaches here: log it, and give the reader a plain page rather than a trace.
  console.error(
    JSON.stringify({
      message: 'georoute: unhandled error',
      error: String(error),
      stack: (error as Error).stack,
    }),
  )
  return errorPage(502, 'Something went wrong at the edge', 'Please try again in a moment.')
})

export default app
