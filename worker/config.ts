import * as v from 'valibot'
import { CacheSettingsSchema } from './cache/settings'
import { REFUSED_METHODS } from './proxy/methods'

/** Lowercase slug: letters, digits and dashes, starting with a letter or digit. */
const SLUG = /^[a-z0-9][a-z0-9-]{0,62}$/

const integer = (min: number, max: number, what: string) =>
  v.pipe(
    v.number('must be a number'),
    v.integer('must be a whole number'),
    v.minValue(min, `${what} must be at least ${min}`),
    v.maxValue(max, `${what} must be at most ${max}`),
  )

/** A share from 0 to 1 (sampling rates, the ejection cap). */
const fraction = () =>
  v.pipe(
    v.number('must be a number'),
    v.minValue(0, 'must be between 0 and 1'),
    v.maxValue(1, 'must be between 0 and 1'),
  )

const degrees = (limit: number) =>
  v.pipe(
    v.number('must be a number'),
    v.finite('must be a finite number'),
    v.minValue(-limit, `must be between -${limit} and ${limit}`),
    v.maxValue(limit, `must be between -${limit} and ${limit}`),
  )

/** `check` on a parsed URL; an unparsable one passes here because `v.url` already reports it. */
const urlCheck = (test: (url: URL) => boolean, message: string) =>
  // Without `abortPipeEarly` valibot runs every check of a pipe: `new URL` must never throw here.
  v.check<string, string>((s) => !URL.canParse(s) || test(new URL(s)), message)

/** An http(s) base URL without credentials, query or fragment. */
const baseUrl = v.pipe(
  v.string('must be a string'),
  v.url('must be an absolute http or https URL'),
  urlCheck((u) => u.protocol === 'http:' || u.protocol === 'https:', 'must use http or https'),
  urlCheck((u) => u.username === '' && u.password === '', 'must not contain credentials'),
  urlCheck((u) => u.search === '' && u.hash === '', 'must not contain a query or fragment'),
)

/** `origins[].probe`: the health probe the cron sends the origin. */
const ProbeSchema = v.strictObject({
  /** Path probed on the origin (appended to its URL's path). Default: `/`. */
  path: v.optional(v.pipe(v.string(), v.startsWith('/', 'must start with /')), '/'),
  /** HTTP method of the probe: `GET` or `HEAD`. Default: `GET`. */
  method: v.optional(v.picklist(['GET', 'HEAD'], 'must be GET or HEAD'), 'GET'),
  /** Statuses that count as healthy, `[min, max]` inclusive. Default: `[200, 399]`. */
  expectStatus: v.optional(
    v.pipe(
      v.tuple([integer(100, 599, 'status'), integer(100, 599, 'status')], 'must be [min, max]'),
      v.check(([a, b]) => a <= b, 'must be [min, max] with min <= max'),
    ),
    [200, 399],
  ),
  /** Text the body must contain to count as healthy (GET only). Default: unset, not checked. */
  bodyIncludes: v.optional(v.pipe(v.string(), v.minLength(1, 'must not be empty'))),
  /**
   * Time allowed for the whole probe. Default: 8000, generous: the cron runs in an arbitrary data
   * center, maybe far from the origin.
   */
  timeoutMs: v.optional(integer(100, 60_000, 'timeoutMs'), 8_000),
  /** Extra request headers sent with the probe (e.g. a health-check token). Default: none. */
  headers: v.optional(v.record(v.string(), v.string('must be a string')), {}),
})

/** One entry of the origin list (`origins/` or the `ORIGINS` variable). */
export const OriginSchema = v.strictObject({
  /** Required. Unique lowercase slug, shown in `x-georoute-origin`. */
  id: v.pipe(
    v.string('must be a string'),
    v.regex(SLUG, 'must be a lowercase slug (a-z, 0-9, -; at most 63 characters)'),
  ),
  /** Required. Base URL of the origin (http or https); the request path is appended to its path. */
  url: baseUrl,
  /** Required. Latitude of the origin in degrees, -90 to 90: readers go to the nearest. */
  lat: degrees(90),
  /** Required. Longitude of the origin in degrees, -180 to 180. */
  lon: degrees(180),
  /**
   * The origin whose database takes writes (at most one). Default: false; with no primary,
   * writes go to the nearest healthy origin like reads (still sent once, never cached).
   */
  primary: v.optional(v.boolean('must be true or false'), false),
  /** Relative preference: distance is divided by it (2 = looks twice as near). Default: 1. */
  weight: v.optional(
    v.pipe(
      v.number('must be a number'),
      v.finite('must be a finite number'),
      v.minValue(0.01, 'must be at least 0.01'),
      v.maxValue(100, 'must be at most 100'),
    ),
    1,
  ),
  /** Human name, e.g. the region, on the status page and in webhooks. Default: unset, the id. */
  label: v.optional(v.pipe(v.string(), v.maxLength(80, 'must be at most 80 characters'))),
  /** The health probe (see `ProbeSchema`). Default: every field's, `GET /` expecting 2xx-3xx. */
  probe: v.optional(ProbeSchema, {}),
})

export const OriginListSchema = v.pipe(
  v.array(OriginSchema, 'must be an array of origins'),
  v.minLength(1, 'must list at least one origin'),
  v.maxLength(1000, 'must list at most 1000 origins'),
)

/** `settings.routing`: how a request is sent to the origins. */
const RoutingSchema = v.strictObject({
  /** Time allowed for an origin's response headers, per attempt. Default: 10000. */
  attemptTimeoutMs: v.optional(integer(100, 120_000, 'attemptTimeoutMs'), 10_000),
  /**
   * Longest silence of an origin in the middle of a body, once its headers are in: the reader's
   * answer is then cut (never stored) and the origin charged with a failure. Counts only while
   * georoute waits for the origin, never while a slow reader catches up. Default: 10000, as long
   * as an origin gets for its headers: a blog page arrives in a few chunks within milliseconds,
   * and a large download keeps flowing. 0 turns it off (an origin that streams events with
   * longer pauses). A body of declared length up to 64 KiB is read whole before the answer goes
   * out and must arrive whole within this time (worker/proxy/idle.ts `wholeBody`).
   */
  bodyIdleTimeoutMs: v.optional(integer(0, 600_000, 'bodyIdleTimeoutMs'), 10_000),
  /** Time allowed for the whole request across attempts. Default: 25000. */
  deadlineMs: v.optional(integer(100, 300_000, 'deadlineMs'), 25_000),
  /** Origins tried at most, for a safe request. Default: 3. */
  maxAttempts: v.optional(integer(1, 10, 'maxAttempts'), 3),
  /** Origin ids in the order used when the reader's location is unknown. Default: list order. */
  defaultOrder: v.optional(v.array(v.pipe(v.string(), v.regex(SLUG, 'must be an origin id')))),
  /** Seconds in `Retry-After` when no origin can answer. Default: 30. */
  retryAfterSeconds: v.optional(integer(1, 3600, 'retryAfterSeconds'), 30),
  /** Start the next origin in parallel when the first is slow (GET/HEAD only). Default: true. */
  hedge: v.optional(v.boolean('must be true or false'), true),
  /** Fixed hedge delay. Default: unset, 3× the origin's observed latency within the bounds. */
  hedgeDelayMs: v.optional(integer(10, 60_000, 'hedgeDelayMs')),
  /** Shortest hedge delay derived from latency. Default: 150. */
  hedgeMinDelayMs: v.optional(integer(10, 60_000, 'hedgeMinDelayMs'), 150),
  /** Longest hedge delay derived from latency, and the delay while none is known. Default: 1000. */
  hedgeMaxDelayMs: v.optional(integer(10, 60_000, 'hedgeMaxDelayMs'), 1_000),
  /** First passive ejection of an origin; doubles on repeats up to the maximum. Default: 5000. */
  ejectionBaseMs: v.optional(integer(100, 3_600_000, 'ejectionBaseMs'), 5_000),
  /**
   * Longest passive ejection; after this long without one the doubling starts over.
   * Default: 300000 (5 minutes).
   */
  ejectionMaxMs: v.optional(integer(100, 3_600_000, 'ejectionMaxMs'), 300_000),
  /**
   * Requests in a row whose attempt at an origin failed (a 5xx or timeout while another origin
   * answered the same request well, or a hedge lost by far) before that origin is ejected. A
   * refused connection ejects at once. Default 3: each counted failure is already confirmed by
   * another origin's answer, so it is stronger evidence than each of Envoy's 5 consecutive
   * 5xx; one or two requests never eject, and under load three come within milliseconds.
   */
  ejectionFailures: v.optional(integer(1, 100, 'ejectionFailures'), 3),
  /**
   * Largest share of the origins ejected at once, rounded down but at least one when there
   * are two or more; a lone origin is never ejected. Default 0.5, Envoy's panic threshold:
   * when passive health would take out more than half, the signal is more likely wrong than
   * the origins, and readers must keep somewhere to go. 3 origins: 1; 4: 2.
   */
  ejectionMaxShare: v.optional(fraction(), 0.5),
  /**
   * How readers are ordered among the ready origins: `nearest` by distance (divided by weight)
   * only; `fastest` by the time to response headers measured from the reader's data center
   * where known, a distance-based estimate where not, leaving the nearest only when it is
   * slower by both `steeringMarginMs` and `steeringRatio` (worker/health/latency.ts).
   * Default: `fastest`.
   */
  steering: v.optional(
    v.picklist(['nearest', 'fastest'], 'must be "nearest" or "fastest"'),
    'fastest',
  ),
  /**
   * How much slower (ms) the nearest ready origin must be before readers leave it; they come
   * back once it is within half of this (hysteresis). Default: 50, above the jitter of a
   * healthy origin's time to headers and below what a reader notices.
   */
  steeringMarginMs: v.optional(integer(0, 60_000, 'steeringMarginMs'), 50),
  /**
   * And how many times slower it must be: 1.5 keeps a 20 ms origin from losing readers to a
   * 10 ms one over a margin that no reader feels. Default: 1.5.
   */
  steeringRatio: v.optional(
    v.pipe(
      v.number('must be a number'),
      v.minValue(1, 'must be between 1 and 10'),
      v.maxValue(10, 'must be between 1 and 10'),
    ),
    1.5,
  ),
  /**
   * At most once per this many ms (per data center and isolate), a GET or HEAD is also sent in
   * the background to an origin that could win readers, to measure it: a nearer one while readers are steered away (so a
   * recovered nearest wins them back within a few seconds), or one never measured whose
   * distance estimate beats the chosen origin. Default: 1000, a bounded share (1 % at 100
   * misses/s) that brings readers back within about 4 s of a recovery.
   */
  exploreIntervalMs: v.optional(integer(100, 600_000, 'exploreIntervalMs'), 1_000),
})

const pathPrefix = v.pipe(v.string('must be a string'), v.startsWith('/', 'must start with /'))

/** `settings.writes.position`: where origins report their database position. */
const PositionSchema = v.strictObject({
  /** Required. Response header with the origin's position (e.g. `x-db-position`). */
  header: v.pipe(
    v.string('must be a string'),
    v.regex(/^[a-z0-9-]{1,64}$/, 'must be a lowercase header name'),
  ),
  /**
   * `integer` (a decimal LSN or commit counter, any size) or `pg-lsn` (PostgreSQL's `16/B374D848`).
   * Default: `integer`.
   */
  kind: v.optional(v.picklist(['integer', 'pg-lsn'], 'must be "integer" or "pg-lsn"'), 'integer'),
})

/** `settings.writes`: which requests are writes, and where their reader reads next. */
const WritesSchema = v.strictObject({
  /**
   * Paths (and everything under them) that always go to the primary, whatever the method.
   * Default: the admin, login, comment and XML-RPC paths of WordPress and Ghost.
   */
  paths: v.optional(v.array(pathPrefix, 'must be an array of paths'), [
    '/wp-admin',
    '/wp-login.php',
    '/wp-comments-post.php',
    '/xmlrpc.php',
    '/ghost',
    '/admin',
    '/login',
  ]),
  /** Read-your-writes: seconds a reader stays on the primary after a write. Default: 30. */
  pinSeconds: v.optional(integer(0, 3600, 'pinSeconds'), 30),
  /** Keep each reader on the origin that first served them (signed cookie). Default: false. */
  affinity: v.optional(v.boolean('must be true or false'), false),
  /** Lifetime of the affinity cookie, in seconds. Default: 3600. */
  affinitySeconds: v.optional(integer(60, 30 * 86_400, 'affinitySeconds'), 3600),
  /**
   * Read-your-writes by replication position (`PositionSchema`): the pin carries the position
   * of the primary's answer to the write, and reads go to the nearest origin known to be past it.
   * Default: unset, the pin sends every read of `pinSeconds` to the primary.
   */
  position: v.optional(PositionSchema),
})

/** `settings.health`: the cron's probes and how their results are written and read. */
const HealthSchema = v.strictObject({
  /** Time between probe rounds in one cron run (the cron fires each minute). Default: 10000. */
  intervalMs: v.optional(integer(1_000, 60_000, 'intervalMs'), 10_000),
  /** Rounds per cron run at most. Default: unset, as many as fit the minute and the budget. */
  maxRounds: v.optional(integer(1, 60, 'maxRounds')),
  /** Failed probes in a row before an origin is marked down. Default: 2. */
  fall: v.optional(integer(1, 100, 'fall'), 2),
  /** Successful probes in a row before a down origin is marked up again. Default: 2. */
  rise: v.optional(integer(1, 100, 'rise'), 2),
  /** Subrequests one cron run may make: probes, KV, webhooks (free plan: 50). Default: 45. */
  subrequestBudget: v.optional(integer(4, 10_000, 'subrequestBudget'), 45),
  /** An unchanged snapshot is rewritten this often, to show probes still run. Default: 600000. */
  heartbeatMs: v.optional(integer(60_000, 86_400_000, 'heartbeatMs'), 600_000),
  /**
   * Change writes are paced by a token bucket: it holds `writeBurst` writes and refills one per
   * `minWriteIntervalMs`. An outage and its recovery are written at once; an origin flapping
   * all day costs at most about 740 writes/day with the defaults, even when a cron run reads a
   * snapshot up to 60 s stale (see worker/health/snapshot.ts). Default: 240000 (4 minutes).
   */
  minWriteIntervalMs: v.optional(integer(0, 3_600_000, 'minWriteIntervalMs'), 240_000),
  /** Change writes the token bucket holds (see `minWriteIntervalMs`). Default: 10. */
  writeBurst: v.optional(integer(1, 100, 'writeBurst'), 10),
  /** How long an isolate reuses the snapshot it read before reading KV again. Default: 10000. */
  memoTtlMs: v.optional(integer(0, 300_000, 'memoTtlMs'), 10_000),
  /** Grace past a missed heartbeat before readers call the snapshot unknown. Default: 300000. */
  staleAfterMs: v.optional(integer(10_000, 86_400_000, 'staleAfterMs'), 300_000),
  /**
   * How long an isolate reuses the data center's shared health record (Cache API) before
   * reading it again. Default: 1000: another isolate's ejection protects this one within
   * about a second, for at most one Cache API read per second per isolate on the miss path.
   */
  coloMemoMs: v.optional(integer(0, 60_000, 'coloMemoMs'), 1_000),
  /**
   * Counts and latency are written to the data center's record at most this often per
   * isolate; an ejection or its end is written at once. Default: 3000.
   */
  coloWriteIntervalMs: v.optional(integer(0, 600_000, 'coloWriteIntervalMs'), 3_000),
  /**
   * Readers as probes: when this data center's own recent requests to an origin succeed, the
   * probes' "down" does not demote it here (see docs/HOW-IT-WORKS.md).
   */
  localEvidence: v.optional(
    v.strictObject({
      /**
       * Successful requests needed. Default: 5, more than the failed probes (`fall`, 2) that
       * mark an origin down, so a few lucky requests do not outvote them.
       */
      minSuccesses: v.optional(integer(1, 10_000, 'minSuccesses'), 5),
      /**
       * How recent they must be, with no failure at all in the same window. Default: 30000,
       * three probe intervals: older evidence is no answer to a fresh probe verdict.
       */
      windowMs: v.optional(integer(1_000, 3_600_000, 'windowMs'), 30_000),
    }),
    {},
  ),
  /**
   * Response header in which origins state their build id (e.g. `x-build-id`): turns on build
   * skew protection (HOW-IT-WORKS.md). Default: unset, off.
   */
  build: v.optional(
    v.pipe(
      v.string('must be a string'),
      v.regex(/^[a-z0-9-]{1,64}$/, 'must be a lowercase header name'),
    ),
  ),
  /**
   * Origins on different builds for longer than this are reported: status page, status JSON and
   * the webhook. Default: 15, longer than a rolling deploy of a few origins takes. 0 reports at once.
   */
  buildSkewAlertMinutes: v.optional(integer(0, 1440, 'buildSkewAlertMinutes'), 15),
})

/** `settings.logs`: the per-request log line and analytics point. */
const LogsSchema = v.strictObject({
  /**
   * Share of requests that write their JSON log line (the Analytics Engine point is written for
   * every request): 1 = every request, 0 = none. Lower it on very busy blogs; errors (status
   * >= 500) are always logged. Default: 1.
   */
  sampleRate: v.optional(fraction(), 1),
  /**
   * Share of fresh cache hits (`x-georoute-cache: HIT`) that write their line, at most
   * `sampleRate`: a hit is most of a busy blog's traffic, and its line names no origin attempt
   * (the platform records the invocation anyway, and the Analytics Engine point is written for
   * every request), while misses and errors are what an operator reads. 1 logs every hit.
   * Default: 0.01.
   */
  hitSampleRate: v.optional(fraction(), 0.01),
})

/** `settings.status`: who sees the status page and JSON, and how much. */
const StatusSchema = v.strictObject({
  /** Who sees `/__georoute/` and `/__georoute/status`: `public` or `admin`. Default: `public`. */
  access: v.optional(v.picklist(['public', 'admin'], 'must be "public" or "admin"'), 'public'),
  /** Show probe reasons and origin URLs to readers without the admin token too. Default: false. */
  publicDetail: v.optional(v.boolean('must be true or false'), false),
})

const ProxySchema = v.strictObject({
  /**
   * Methods that georoute otherwise refuses with 405 (TRACE, TRACK, PURGE, BAN, CONNECT: they
   * only ever serve an attack from the public internet) and forwards when listed here, as
   * writes: to the primary, once. Default none. Any other method is always forwarded.
   */
  allowMethods: v.optional(
    v.array(
      v.picklist(
        REFUSED_METHODS,
        `must be one of ${REFUSED_METHODS.join(', ')} (every other method is always forwarded)`,
      ),
      'must be an array of methods',
    ),
    [],
  ),
})

/** `settings` in `origins/` (or the `SETTINGS` variable): every section and field is optional. */
export const SettingsSchema = v.strictObject({
  /** Attempts, timeouts, hedging and passive ejection (`RoutingSchema`). Default: its fields'. */
  routing: v.optional(RoutingSchema, {}),
  /** Access to the status page and JSON (`StatusSchema`). Default: its fields'. */
  status: v.optional(StatusSchema, {}),
  /** Probes and the health snapshot in KV (`HealthSchema`). Default: its fields'. */
  health: v.optional(HealthSchema, {}),
  /** Request logging (`LogsSchema`). Default: its fields'. */
  logs: v.optional(LogsSchema, {}),
  /** Write paths, read-your-writes and affinity (`WritesSchema`). Default: its fields'. */
  writes: v.optional(WritesSchema, {}),
  /** The edge cache (worker/cache/settings.ts). Default: its fields'. */
  cache: v.optional(CacheSettingsSchema, {}),
  /** Methods refused unless allowed (`ProxySchema`). Default: its fields'. */
  proxy: v.optional(ProxySchema, {}),
})

export type OriginInput = v.InferInput<typeof OriginSchema>
export type Origin = v.InferOutput<typeof OriginSchema>
export type SettingsInput = v.InferInput<typeof SettingsSchema>
export type Settings = v.InferOutput<typeof SettingsSchema>
export type RoutingSettings = Settings['routing']
export type StatusSettings = Settings['status']
export type HealthSettings = Settings['health']

/** What `origins/` exports: the origin list plus optional settings. */
export interface ConfigInput {
  origins: OriginInput[]
  settings?: SettingsInput
}

/** A validated configuration, with each origin's URL parsed once. */
/**
 * Each origin host (`host[:port]`) → the base paths of the origins on it, without trailing
 * slash (`''` at the root), longest first.
 */
export type OriginHosts = ReadonlyMap<string, readonly string[]>

export interface Config {
  origins: readonly ResolvedOrigin[]
  settings: Settings
  primary: ResolvedOrigin | undefined
  /** Each origin host → the base paths of the origins on it: for redirect rewriting. */
  originHosts: OriginHosts
}

export interface ResolvedOrigin extends Origin {
  /** Position in the list: the deterministic tie-break. */
  index: number
  base: URL
}

export type ConfigResult = { ok: true; config: Config } | { ok: false; errors: string[] }

/** Identity helper that gives `origins/` files type checking and editor hints. */
export function defineConfig(config: ConfigInput): ConfigInput {
  return config
}

function issuePath(prefix: string, path: readonly v.IssuePathItem[]): string {
  let out = prefix
  for (const item of path) {
    out += typeof item.key === 'number' ? `[${item.key}]` : `.${String(item.key)}`
  }
  return out
}

function describe(prefix: string, issues: readonly v.BaseIssue<unknown>[]): string[] {
  return issues.map((issue) => {
    // Nested unions report their own sub-issues; the first one is the most specific.
    const leaf = issue.issues?.[0] ?? issue
    const path = leaf.path ?? []
    // A strict object reports an unknown key as an issue at that key, expecting `never`.
    if (leaf.type === 'strict_object' && leaf.expected === 'never') {
      const key = String(path.at(-1)?.key)
      return `${issuePath(prefix, path.slice(0, -1))}: unknown field "${key}"`
    }
    // A missing key is reported at that key, expecting its quoted name; a non-object as `Object`.
    if (leaf.type === 'strict_object' && leaf.received === 'undefined' && path.length > 0) {
      return `${issuePath(prefix, path)}: is required`
    }
    if (leaf.type === 'strict_object' && leaf.expected === 'Object') {
      return `${issuePath(prefix, path)}: must be an object`
    }
    return `${issuePath(prefix, path)}: ${leaf.message}`
  })
}

/** Cross-origin rules a schema cannot express: unique ids, one primary, distinct hosts. */
function crossCheck(origins: readonly Origin[], settings: Settings): string[] {
  const errors: string[] = []
  const seen = new Map<string, number>()
  const hosts = new Map<string, number>()
  let primary = -1
  origins.forEach((origin, i) => {
    const first = seen.get(origin.id)
    if (first !== undefined) {
      errors.push(`origins[${i}].id: duplicate id "${origin.id}" (also origins[${first}])`)
    } else seen.set(origin.id, i)
    if (origin.primary) {
      if (primary >= 0) {
        errors.push(
          `origins[${i}].primary: only one origin may be primary (origins[${primary}] is too)`,
        )
      } else primary = i
    }
    if (origin.probe.method === 'HEAD' && origin.probe.bodyIncludes !== undefined) {
      errors.push(`origins[${i}].probe.bodyIncludes: needs method GET (a HEAD answer has no body)`)
    }
    const base = new URL(origin.url)
    const host = `${base.protocol}//${base.host}${base.pathname}`
    const same = hosts.get(host)
    if (same !== undefined) {
      errors.push(`origins[${i}].url: same URL as origins[${same}] ("${origin.url}")`)
    } else hosts.set(host, i)
  })
  for (const [i, id] of (settings.routing.defaultOrder ?? []).entries()) {
    if (!seen.has(id)) {
      errors.push(`settings.routing.defaultOrder[${i}]: no origin has id "${id}"`)
    }
  }
  return errors
}

/** Validates an origin list and settings; returns every problem with its path. */
export function validateConfig(origins: unknown, settings: unknown = {}): ConfigResult {
  // One message per field: the first check that fails says enough.
  const parsedSettings = v.safeParse(SettingsSchema, settings ?? {}, { abortPipeEarly: true })
  const parsedOrigins = v.safeParse(OriginListSchema, origins, { abortPipeEarly: true })
  const errors = [
    ...(parsedOrigins.success ? [] : describe('origins', parsedOrigins.issues)),
    ...(parsedSettings.success ? [] : describe('settings', parsedSettings.issues)),
  ]
  if (!parsedOrigins.success || !parsedSettings.success) return { ok: false, errors }
  const cross = crossCheck(parsedOrigins.output, parsedSettings.output)
  if (cross.length > 0) return { ok: false, errors: cross }
  // Computed fields first: `{ ...origin, index }` gives every origin its own hidden class in V8,
  // and ranking 1,000 such origins costs ~3× more per origin (scripts/lib/bench-routing.mjs).
  const resolved = parsedOrigins.output.map((origin, index) => ({
    index,
    base: new URL(origin.url),
    ...origin,
  }))
  return {
    ok: true,
    config: {
      origins: resolved,
      settings: parsedSettings.output,
      primary: resolved.find((o) => o.primary),
      originHosts: originHosts(resolved.map((o) => o.base)),
    },
  }
}

/** Each origin host → the base paths of the origins on it, longest first. */
function originHosts(bases: readonly URL[]): Map<string, string[]> {
  const hosts = new Map<string, string[]>()
  for (const base of bases) {
    const paths = hosts.get(base.host) ?? []
    const path = base.pathname.replace(/\/+$/, '')
    if (!paths.includes(path)) paths.push(path)
    hosts.set(base.host, paths)
  }
  for (const paths of hosts.values()) paths.sort((a, b) => b.length - a.length)
  return hosts
}

/** Parses the `ORIGINS` variable (JSON) and validates it with the file's settings. */
export function configFromVariable(json: string, settings: unknown): ConfigResult {
  let list: unknown
  try {
    list = JSON.parse(json)
  } catch (error) {
    return { ok: false, errors: [`ORIGINS: not valid JSON (${(error as Error).message})`] }
  }
  return validateConfig(list, settings)
}
