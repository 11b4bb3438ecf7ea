import * as v from 'valibot'

/** Lowercase slug: letters, digits and dashes, starting with a letter or digit. */
const SLUG = /^[a-z0-9][a-z0-9-]{0,62}$/

const integer = (min: number, max: number, what: string) =>
  v.pipe(
    v.number('must be a number'),
    v.integer('must be a whole number'),
    v.minValue(min, `${what} must be at least ${min}`),
    v.maxValue(max, `${what} must be at most ${max}`),
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
  // Valibot runs every check of a pipe even after one fails: `new URL` must not throw here.
  v.check<string, string>((s) => !URL.canParse(s) || test(new URL(s)), message)

/** An http(s) base URL without credentials, query or fragment. */
const baseUrl = v.pipe(
  v.string('must be a string'),
  v.url('must be an absolute http or https URL'),
  urlCheck((u) => u.protocol === 'http:' || u.protocol === 'https:', 'must use http or https'),
  urlCheck((u) => u.username === '' && u.password === '', 'must not contain credentials'),
  urlCheck((u) => u.search === '' && u.hash === '', 'must not contain a query or fragment'),
)

const ProbeSchema = v.strictObject({
  /** Path probed on the origin. */
  path: v.optional(v.pipe(v.string(), v.startsWith('/', 'must start with /')), '/'),
  method: v.optional(v.picklist(['GET', 'HEAD'], 'must be GET or HEAD'), 'GET'),
  /** Accepted status range, inclusive. */
  expectStatus: v.optional(
    v.pipe(
      v.tuple([integer(100, 599, 'status'), integer(100, 599, 'status')], 'must be [min, max]'),
      v.check(([a, b]) => a <= b, 'must be [min, max] with min <= max'),
    ),
    [200, 399],
  ),
  /** Text that the body must contain. */
  bodyIncludes: v.optional(v.pipe(v.string(), v.minLength(1, 'must not be empty'))),
  timeoutMs: v.optional(integer(100, 60_000, 'timeoutMs'), 5_000),
  headers: v.optional(v.record(v.string(), v.string('must be a string')), {}),
})

export const OriginSchema = v.strictObject({
  /** Unique lowercase slug, shown in `x-georoute-origin`. */
  id: v.pipe(
    v.string('must be a string'),
    v.regex(SLUG, 'must be a lowercase slug (a-z, 0-9, -; at most 63 characters)'),
  ),
  /** Base URL of the origin; the request path is appended to its path. */
  url: baseUrl,
  lat: degrees(90),
  lon: degrees(180),
  /** The origin whose database takes writes (at most one). */
  primary: v.optional(v.boolean('must be true or false'), false),
  /** Relative preference: distance is divided by the weight (2 = looks twice as near). */
  weight: v.optional(
    v.pipe(
      v.number('must be a number'),
      v.finite('must be a finite number'),
      v.minValue(0.01, 'must be at least 0.01'),
      v.maxValue(100, 'must be at most 100'),
    ),
    1,
  ),
  /** Human name, e.g. the region. */
  label: v.optional(v.pipe(v.string(), v.maxLength(80, 'must be at most 80 characters'))),
  probe: v.optional(ProbeSchema, {}),
})

export const OriginListSchema = v.pipe(
  v.array(OriginSchema, 'must be an array of origins'),
  v.minLength(1, 'must list at least one origin'),
  v.maxLength(1000, 'must list at most 1000 origins'),
)

const RoutingSchema = v.strictObject({
  /** Time allowed for an origin's response headers, per attempt. */
  attemptTimeoutMs: v.optional(integer(100, 120_000, 'attemptTimeoutMs'), 10_000),
  /** Time allowed for the whole request across attempts. */
  deadlineMs: v.optional(integer(100, 300_000, 'deadlineMs'), 25_000),
  /** Origins tried at most, for a safe request. */
  maxAttempts: v.optional(integer(1, 10, 'maxAttempts'), 3),
  /** Origin ids in the order used when the reader's location is unknown. */
  defaultOrder: v.optional(v.array(v.pipe(v.string(), v.regex(SLUG, 'must be an origin id')))),
  /** Seconds in `Retry-After` when no origin can answer. */
  retryAfterSeconds: v.optional(integer(1, 3600, 'retryAfterSeconds'), 30),
  /** Start the next origin in parallel when the first is slow (GET/HEAD only). */
  hedge: v.optional(v.boolean('must be true or false'), true),
  /** Fixed hedge delay; unset = 3× the origin's observed latency, within the bounds below. */
  hedgeDelayMs: v.optional(integer(10, 60_000, 'hedgeDelayMs')),
  hedgeMinDelayMs: v.optional(integer(10, 60_000, 'hedgeMinDelayMs'), 150),
  hedgeMaxDelayMs: v.optional(integer(10, 60_000, 'hedgeMaxDelayMs'), 1_000),
  /** First passive ejection after a failed attempt; doubles on repeats up to the maximum. */
  ejectionBaseMs: v.optional(integer(100, 3_600_000, 'ejectionBaseMs'), 5_000),
  ejectionMaxMs: v.optional(integer(100, 3_600_000, 'ejectionMaxMs'), 300_000),
})

export const SettingsSchema = v.strictObject({
  routing: v.optional(RoutingSchema, {}),
})

export type OriginInput = v.InferInput<typeof OriginSchema>
export type Origin = v.InferOutput<typeof OriginSchema>
export type SettingsInput = v.InferInput<typeof SettingsSchema>
export type Settings = v.InferOutput<typeof SettingsSchema>
export type RoutingSettings = Settings['routing']

/** What `origins/` exports: the origin list plus optional settings. */
export interface ConfigInput {
  origins: OriginInput[]
  settings?: SettingsInput
}

/** A validated configuration, with each origin's URL parsed once. */
export interface Config {
  origins: readonly ResolvedOrigin[]
  settings: Settings
  primary: ResolvedOrigin | undefined
  /** Each origin's `host[:port]` → its base path (no trailing slash): for redirect rewriting. */
  originHosts: ReadonlyMap<string, string>
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
  const parsedSettings = v.safeParse(SettingsSchema, settings ?? {})
  const parsedOrigins = v.safeParse(OriginListSchema, origins)
  const errors = [
    ...(parsedOrigins.success ? [] : describe('origins', parsedOrigins.issues)),
    ...(parsedSettings.success ? [] : describe('settings', parsedSettings.issues)),
  ]
  if (!parsedOrigins.success || !parsedSettings.success) return { ok: false, errors }
  const cross = crossCheck(parsedOrigins.output, parsedSettings.output)
  if (cross.length > 0) return { ok: false, errors: cross }
  const resolved = parsedOrigins.output.map((origin, index) => ({
    ...origin,
    index,
    base: new URL(origin.url),
  }))
  return {
    ok: true,
    config: {
      origins: resolved,
      settings: parsedSettings.output,
      primary: resolved.find((o) => o.primary),
      originHosts: new Map(
        resolved.map((o) => [o.base.host, o.base.pathname.replace(/\/+$/, '')] as const),
      ),
    },
  }
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
