import type { Config } from './config'
import type { Env } from './env'
import { type CfLocation, locateReader } from './geo'
import { passiveHealth } from './health/passive'
import { healthView, hedgeDelay } from './health/view'
import { readOverrides } from './overrides'
import { errorPage, type ProxyOutcome, proxyRequest } from './proxy'
import { isLoop } from './proxy/headers'
import { rankOrigins } from './routing'
import { preferFirst, readerSteering, setSteeringCookies } from './steering'
import { isWrite } from './writes'

/** Longest request URL accepted; longer ones get 414 rather than a failed subrequest. */
const MAX_URL_LENGTH = 16 * 1024

/** Everything one proxied request needs from the isolate and the platform. */
export interface RequestContext {
  env: Env
  ctx: ExecutionContext
  config: Config
}

/** The request path for everything outside `/__georoute/`: route, proxy, trace. */
export async function serve(request: Request, { env, config }: RequestContext): Promise<Response> {
  const started = Date.now()
  if (isLoop(request.headers)) {
    return errorPage(508, 'Loop detected', 'This request has already passed through georoute.')
  }
  if (request.url.length > MAX_URL_LENGTH) {
    return errorPage(414, 'URL too long', `Request URLs are limited to ${MAX_URL_LENGTH} bytes.`)
  }
  const publicUrl = new URL(request.url)
  const override = env.GEO_OVERRIDE === 'true' ? request.headers.get('x-georoute-geo') : null
  const reader = locateReader(request.cf as CfLocation | undefined, override)
  const { routing, writes } = config.settings
  const overrides = await readOverrides(env.HEALTH, started)
  const health = healthView(config.origins, new Map(), overrides, passiveHealth)
  const write = isWrite(request.method, publicUrl.pathname, writes)
  const steering = await readerSteering(request, env, config, write, started)
  if (write && config.primary) {
    const state = health.get(config.primary.id)
    if (state?.healthy === false || state?.drained) {
      return writeUnavailable(routing.retryAfterSeconds)
    }
  }
  const ranked =
    write && config.primary
      ? [config.primary]
      : preferFirst(
          rankOrigins(config.origins, reader, health, started, routing.defaultOrder),
          steering.prefer,
        )
  const outcome: ProxyOutcome = await proxyRequest(request, ranked, {
    edge: { clientIp: request.headers.get('cf-connecting-ip'), publicUrl },
    originHosts: config.originHosts,
    routing,
    onAttempt: (origin, attempt) =>
      passiveHealth.record(origin.id, attempt, Date.now(), {
        baseEjectionMs: routing.ejectionBaseMs,
        maxEjectionMs: routing.ejectionMaxMs,
      }),
    hedgeDelayMs: (origin) => hedgeDelay(origin, routing, passiveHealth),
  })
  const { response } = outcome
  const originMs = outcome.attempts.reduce((sum, a) => sum + a.ms, 0)
  if (outcome.origin) response.headers.set('x-georoute-origin', outcome.origin.id)
  response.headers.append(
    'server-timing',
    `origin;dur=${originMs};desc="${outcome.origin?.id ?? 'none'}", total;dur=${Date.now() - started}`,
  )
  await setSteeringCookies(response, {
    env,
    config,
    publicUrl,
    write,
    steering,
    outcome,
    now: started,
  })
  return response
}

/** The primary is down or drained: a write gets a clear 503, never a replica. */
function writeUnavailable(retryAfterSeconds: number): Response {
  return errorPage(
    503,
    'Changes are paused for a moment',
    `The server that saves changes is unavailable. Nothing was sent; please try again in ${retryAfterSeconds} seconds.`,
    { 'retry-after': String(retryAfterSeconds) },
  )
}
