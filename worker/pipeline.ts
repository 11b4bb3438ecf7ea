import { knownBuilds, noteSkew, observations, offExpectedBuild } from './builds'
import {
  type FetchOrigin,
  hitResponse,
  type Opened,
  openCache,
  type Pending,
  type Reader,
  type Served,
  throughCache,
} from './cache'
import { cacheRules } from './cache/rules'
import type { Config, ResolvedOrigin } from './config'
import {
  type BuildView,
  hitFitsReader,
  neededPosition,
  observe,
  readOrder,
  retryElsewhere,
} from './consistency'
import type { Env } from './env'
import { type CfLocation, locateReader, readerColo } from './geo'
import { coloHealth } from './health/colo-store'
import { RequestJudge } from './health/judge'
import { passiveThresholds } from './health/passive'
import { healthFromSnapshot, readSnapshot } from './health/snapshot'
import { measure, steered } from './health/steer'
import { healthView, hedgeDelay } from './health/view'
import { type RequestRecord, recordRequest } from './log'
import { memoizedOverrides, readOverrides } from './overrides'
import { type Attempt, errorPage, isRetryable, proxyRequest } from './proxy'
import { isLoop } from './proxy/headers'
import type { BodyFailure } from './proxy/idle'
import { isRefusedMethod } from './proxy/methods'
import { rankOrigins } from './routing'
import {
  readerSteering,
  type Steering,
  setBuildCookie,
  setSteeringCookies,
  steeringBeforeCache,
} from './steering'
import { isUnsafe, isWrite } from './writes'

/** Longest request URL accepted; longer ones get 414 rather than a failed subrequest. */
const MAX_URL_LENGTH = 16 * 1024

/** Everything one proxied request needs from the isolate and the platform. */
export interface RequestContext {
  env: Env
  ctx: ExecutionContext
  config: Config
  /** The reader's URL, parsed once. */
  publicUrl: URL
  /** Its path and origin (`https://host`), read once: the hit path needs nothing else of it. */
  path: string
  origin: string
}

/**
 * The request path for everything outside `/__georoute/`: cache, route, proxy, trace, log.
 * Never rejects: a bug gets the plain 502 page of `unhandled`.
 */
export async function serve(request: Request, context: RequestContext): Promise<Response> {
  try {
    const started = Date.now()
    const reader: Reader = { method: request.method, headers: request.headers }
    const refusal = refuse(request, reader, context.config)
    if (refusal) return finish(request, reader, context, started, { response: refusal, cacheMs: 0 })
    const { env, ctx, config, publicUrl, path, origin } = context
    const cacheContext = { env, ctx, settings: config.settings, publicUrl, path, origin }
    // Only a verified pin bypasses the cache: a forged or malformed one counts for nothing.
    const write = isWrite(reader.method, publicUrl.pathname, config.settings.writes)
    const early = steeringBeforeCache(request, reader.headers, env, config, write, started)
    const pin = early instanceof Promise ? await early : early
    // The overrides with this configuration's drain keys, read before the cache step needs the
    // purge generation: one KV read per memo period, not one there and one for routing.
    if (!memoizedOverrides(started, config.origins)) {
      await readOverrides(env.HEALTH, started, config.origins)
    }
    let opened: Opened = pin?.pinned
      ? { pending: { rules: cacheRules(config.settings) } }
      : await openCache(reader, cacheContext, started)
    // While this isolate sees origins disagree on the build (one boolean otherwise), a reader
    // kept on one build is not served a fresh entry another build made: fetched, not stored.
    if (opened.hit && !hitFitsReader(opened.hit.headers, reader, config)) {
      opened = { pending: { rules: cacheRules(config.settings) } }
    }
    if (opened.hit) {
      // A fresh hit: the reader's Response is built once, trace headers included.
      const { hit } = opened
      const totalMs = Date.now() - started
      const served = { cache: 'HIT' as const, origin: hit.origin, cacheMs: hit.cacheMs }
      const response = hitResponse(reader, hit, traceHeaders(served, totalMs))
      record(request, reader, context, { ...served, response }, totalMs)
      return response
    }
    const served = await route(request, context, started, opened.pending, pin)
    return finish(request, reader, context, started, served)
  } catch (error) {
    return unhandled(error, request.method)
  }
}

/** What the trace headers and the log line need to know of a served request. */
type Traced = Partial<Served> & { response: Response; cacheMs: number }

/** The trace headers (DESIGN.md) of a request the cache step served. */
function traceHeaders(served: Omit<Traced, 'response'>, totalMs: number): Record<string, string> {
  const originMs = served.outcome?.attempts.reduce((sum, a) => sum + a.ms, 0) ?? 0
  const asked = served.outcome?.origin?.id ?? 'none'
  const headers: Record<string, string> = { 'x-georoute-cache': served.cache ?? 'NONE' }
  const origin = producedBy(served)
  if (origin) headers['x-georoute-origin'] = origin
  headers['server-timing'] =
    `cache;dur=${served.cacheMs};desc="${served.cache}", origin;dur=${originMs};desc="${asked}", total;dur=${totalMs}`
  return headers
}

/**
 * The origin that produced the response: the cache's answer, or else the origin whose own
 * answer (a 5xx after failover) the proxy passed on.
 */
function producedBy(served: Omit<Traced, 'response'>): string | undefined {
  return served.origin ?? served.outcome?.origin?.id
}

/** Adds the trace headers to a response built on the way (server-timing joins the origin's). */
function finish(
  request: Request,
  reader: Reader,
  context: RequestContext,
  started: number,
  served: Traced,
) {
  const { response } = served
  const totalMs = Date.now() - started
  // RFC 9213 as on Cloudflare: `Cloudflare-CDN-Cache-Control` is for this cache only and is
  // not passed on (`CDN-Cache-Control` is); a stored copy's headers are already without it.
  if (served.outcome) response.headers.delete('cloudflare-cdn-cache-control')
  if (served.cache) {
    for (const [name, value] of Object.entries(traceHeaders(served, totalMs))) {
      if (name === 'server-timing') response.headers.append(name, value)
      else response.headers.set(name, value)
    }
  }
  record(request, reader, context, served, totalMs)
  return response
}

/** The log line (sampled, errors always) and the analytics data point. */
function record(
  request: Request,
  reader: Reader,
  context: RequestContext,
  served: Traced,
  totalMs: number,
) {
  const { status } = served.response
  const { sampleRate, hitSampleRate } = context.config.settings.logs
  const rate = served.cache === 'HIT' ? Math.min(hitSampleRate, sampleRate) : sampleRate
  const log = rate >= 1 || status >= 500 || Math.random() < rate
  const cf = request.cf as { colo?: unknown; country?: unknown } | undefined
  const attempts = served.outcome?.attempts ?? []
  // One walk over the attempts for both their time and their failures.
  let originMs = 0
  let failures: string[] | undefined
  for (const a of attempts) {
    originMs += a.ms
    if (!a.failure) continue
    failures ??= []
    failures.push(`${a.origin}: ${a.failure}${a.error ? ` [${a.error}]` : ''} (${a.ms} ms)`)
  }
  const entry: RequestRecord = {
    method: reader.method,
    path: context.path.slice(0, 512),
    status,
    origin: producedBy(served) ?? null,
    attempts: attempts.length,
    cache: served.cache ?? 'NONE',
    colo: typeof cf?.colo === 'string' ? cf.colo : null,
    country: typeof cf?.country === 'string' ? cf.country : null,
    totalMs,
    originMs,
    cacheMs: served.cacheMs,
  }
  if (failures) entry.failures = failures
  recordRequest(context.env, log, entry)
}

/**
 * Only a bug reaches here: log it, and give the reader a plain page rather than a trace. A write
 * (`method` unsafe) may have reached the origin: its page never invites sending it again.
 */
export function unhandled(error: unknown, method = 'GET'): Response {
  console.error(
    JSON.stringify({
      message: 'georoute: unhandled error',
      error: String(error),
      stack: (error as Error).stack,
    }),
  )
  const advice = isUnsafe(method)
    ? 'Your change may not have been saved. Check before sending it again.'
    : 'Please try again in a moment.'
  return errorPage(502, 'Something went wrong at the edge', advice)
}

/** Refused before the cache (loop, attack-only method, oversized URL): no cache status, no origin. */
function refuse(request: Request, reader: Reader, config: Config): Response | undefined {
  if (isRefusedMethod(reader.method, config.settings.proxy.allowMethods)) {
    return methodNotAllowed(reader.method)
  }
  if (isLoop(reader.headers)) {
    return errorPage(508, 'Loop detected', 'This request has already passed through georoute.')
  }
  if (request.url.length > MAX_URL_LENGTH) {
    return errorPage(414, 'URL too long', `Request URLs are limited to ${MAX_URL_LENGTH} bytes.`)
  }
  return undefined
}

/** Everything but a fresh hit: steering, then the cache step with routing for the origins. */
async function route(
  request: Request,
  { env, ctx, config, publicUrl }: RequestContext,
  started: number,
  pending: Pending,
  verified: Steering | undefined,
): Promise<Served> {
  const { routing, writes, health: healthSettings } = config.settings
  const write = isWrite(request.method, publicUrl.pathname, writes)
  // Costs nothing for readers without our cookies; a pin was verified before the cache.
  const read = verified ?? readerSteering(request, env, config, write, started)
  const steering = read instanceof Promise ? await read : read
  // Set by `fromOrigin` for the build cookie: the builds as known (setting on).
  let view: BuildView | undefined
  // Routing runs only when the cache must ask an origin: a hit skips all of it.
  const fromOrigin: FetchOrigin = async (upstream, url) => {
    const now = Date.now()
    const overridden = env.GEO_OVERRIDE === 'true'
    const override = overridden ? request.headers.get('x-georoute-geo') : null
    const reader = locateReader(request.cf as CfLocation | undefined, override)
    const coloOverride = overridden ? request.headers.get('x-georoute-colo') : null
    const colo = coloHealth(readerColo(request.cf as { colo?: unknown }, coloOverride))
    const bucketMs = healthSettings.localEvidence.windowMs / 2
    const cache = caches.default
    // All memoized per isolate: most requests read no KV and no colo record at all.
    const [overrides, snapshot] = await Promise.all([
      readOverrides(env.HEALTH, now, config.origins),
      readSnapshot(env.HEALTH, now, healthSettings.memoTtlMs),
      colo.refresh(cache, now, healthSettings.coloMemoMs),
    ])
    const probed = healthFromSnapshot(snapshot, now, healthSettings)
    if (healthSettings.build) {
      const builds = knownBuilds(config.origins, snapshot?.origins, observations(), now)
      view = { builds, skewed: noteSkew(builds, now) }
    }
    const offBuild = view && offExpectedBuild(view.builds, overrides.expectedBuild)
    const facts = (id: string) => colo.facts(id, now, bucketMs)
    const minSuccesses = healthSettings.localEvidence.minSuccesses
    const health = healthView(config.origins, probed, overrides, facts, minSuccesses, offBuild)
    if (write && config.primary) {
      const state = health.get(config.primary.id)
      if (state?.healthy === false || state?.drained) {
        const response = writeUnavailable(routing.retryAfterSeconds)
        return { response, attempts: [], failed: 'write-failed' }
      }
    }
    const needed = neededPosition(steering, config)
    const route =
      write && config.primary
        ? undefined
        : steered(
            rankOrigins(config.origins, reader, health, now, routing.defaultOrder),
            colo,
            facts,
            routing,
            now,
          )
    const ranked = route?.ranked ?? []
    const order =
      write && config.primary ? [config.primary] : readOrder(ranked, steering, config, view, needed)
    const thresholds = passiveThresholds(routing)
    // Steering measures an origin that could win readers with a copy of a safe request, in the
    // background: the reader is served by the chosen origin as usual and never waits for it.
    if (route?.explore && needed === undefined && isRetryable(upstream)) {
      const edge = { clientIp: request.headers.get('cf-connecting-ip'), publicUrl: url }
      ctx.waitUntil(measure(upstream, route.explore, colo, config, routing, edge))
    }
    // Passive health judges the request's attempts together: one URL's own failure blames no one.
    const judge = new RequestJudge(colo, config.origins.length, thresholds)
    // The data center's record is written in the background: never a wait for the reader.
    const share = () => {
      const at = Date.now()
      if (colo.writeDue(at, healthSettings.coloWriteIntervalMs)) {
        ctx.waitUntil(colo.write(cache, at, bucketMs))
      }
    }
    const proxyContext = {
      edge: {
        clientIp: request.headers.get('cf-connecting-ip'),
        publicUrl: url,
        ...(needed !== undefined && { minPosition: steering.minPosition }),
      },
      originHosts: config.originHosts,
      routing,
      onAttempt: (_origin: ResolvedOrigin, attempt: Attempt) => judge.attempt(attempt, Date.now()),
      onBodyEnd: (origin: ResolvedOrigin, failure?: BodyFailure) => {
        judge.body(origin.id, failure, Date.now())
        share()
      },
      hedgeDelayMs: (origin: ResolvedOrigin) => hedgeDelay(facts(origin.id).latencyMs, routing),
    }
    let outcome = await proxyRequest(upstream, order, proxyContext)
    observe(outcome, config, view)
    if (view) view.skewed = noteSkew(view.builds, Date.now())
    // A read that one build does not have (a content-hashed asset of the other): asked once of
    // an origin on another build before the 404 reaches the reader. Never a write.
    const other =
      !write && isRetryable(upstream)
        ? retryElsewhere(outcome, ranked, view, needed, config)
        : undefined
    if (other) {
      void outcome.response.body?.cancel()
      const again = await proxyRequest(upstream, [other], proxyContext)
      observe(again, config, view)
      outcome = { ...again, attempts: [...outcome.attempts, ...again.attempts] }
    }
    judge.settle(Date.now())
    share()
    return outcome
  }
  const served = await throughCache(
    request,
    { env, ctx, settings: config.settings, publicUrl },
    fromOrigin,
    pending,
  )
  if (served.outcome) {
    await setSteeringCookies(served.response, {
      env,
      config,
      publicUrl,
      write,
      steering,
      outcome: served.outcome,
      now: started,
    })
    if (view && !write && !steering.pinned && served.outcome.origin) {
      await setBuildCookie(served.response, {
        env,
        publicUrl,
        steering,
        servedBuild: view.builds.get(served.outcome.origin.id),
        skewed: view.skewed,
      })
    }
  }
  return served
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

/**
 * The answer to a refused method. 405 as nginx gives for TRACE; no `Allow` field: RFC 9110
 * §15.5.6 asks it of the origin server, and only the origin knows what a resource supports.
 */
function methodNotAllowed(method: string): Response {
  return errorPage(
    405,
    'Method not allowed',
    `This site does not accept ${method.slice(0, 32)} requests from the internet.`,
  )
}
