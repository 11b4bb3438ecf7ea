import { Hono } from 'hono'
import type { Config } from './config'
import { loadConfig } from './config-loader'
import type { Env } from './env'
import { type CfLocation, locateReader } from './geo'
import { errorPage, proxyRequest } from './proxy'
import { isLoop } from './proxy/headers'
import { rankOrigins } from './routing'

export type AppEnv = { Bindings: Env; Variables: { config: Config } }

/** Longest request URL accepted; longer ones get 414 rather than a failed subrequest. */
const MAX_URL_LENGTH = 16 * 1024

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

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
  const publicHost = new URL(c.req.url).host
  if (result.config.originHosts.has(publicHost)) {
    const message = `an origin's url points at this Worker's own host (${publicHost}): requests would loop`
    console.error(JSON.stringify({ message: `georoute: invalid configuration: ${message}` }))
    return errorPage(500, 'georoute: invalid configuration', message)
  }
  c.set('config', result.config)
  await next()
})

// Reserved paths are never proxied.
app.all('/__georoute/*', (c) => c.json({ error: 'not found' }, 404))

app.all('*', async (c) => {
  const request = c.req.raw
  const started = Date.now()
  if (isLoop(request.headers)) {
    return errorPage(508, 'Loop detected', 'This request has already passed through georoute.')
  }
  if (request.url.length > MAX_URL_LENGTH) {
    return errorPage(414, 'URL too long', `Request URLs are limited to ${MAX_URL_LENGTH} bytes.`)
  }
  const config = c.get('config')
  const publicUrl = new URL(request.url)
  const override = c.env.GEO_OVERRIDE === 'true' ? request.headers.get('x-georoute-geo') : null
  const reader = locateReader(request.cf as CfLocation | undefined, override)
  const { routing } = config.settings
  const ranked =
    UNSAFE.has(request.method) && config.primary
      ? [config.primary]
      : rankOrigins(config.origins, reader, new Map(), started, routing.defaultOrder).map(
          (r) => r.origin,
        )
  const outcome = await proxyRequest(request, ranked, {
    edge: { clientIp: request.headers.get('cf-connecting-ip'), publicUrl },
    originHosts: config.originHosts,
    routing,
  })
  const { response } = outcome
  const originMs = outcome.attempts.reduce((sum, a) => sum + a.ms, 0)
  if (outcome.origin) response.headers.set('x-georoute-origin', outcome.origin.id)
  response.headers.append(
    'server-timing',
    `origin;dur=${originMs};desc="${outcome.origin?.id ?? 'none'}", total;dur=${Date.now() - started}`,
  )
  return response
})

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
