import * as v from 'valibot'
import { globAlternatives, MAX_GLOB_ALTERNATIVES } from './glob'

/**
 * `settings.cache`: the blog rules of the edge cache. HTTP caching itself (what may be stored,
 * for how long, when to revalidate) follows the origin's headers as RFC 9111 says; these
 * settings only fill in what the headers leave open. Each field's comment gives its meaning and
 * default; leaving a field out means its default.
 */

const seconds = (what: string, max = 31_536_000) =>
  v.pipe(
    v.number('must be a number'),
    v.integer('must be a whole number'),
    v.minValue(0, `${what} must be at least 0`),
    v.maxValue(max, `${what} must be at most ${max}`),
  )

/**
 * `*` is any run of characters, `{a,b}` one of the alternatives; matched case-insensitively
 * (worker/cache/glob.ts).
 */
const glob = v.pipe(
  v.string('must be a string'),
  v.minLength(1, 'must not be empty'),
  v.maxLength(500, 'must be at most 500 characters'),
  v.check((s) => !/[{}]/.test(s.replace(/\{[^{}]*\}/g, '')), 'has an unbalanced { or }'),
  v.check(
    (s) => globAlternatives(s) <= MAX_GLOB_ALTERNATIVES,
    `stands for more than ${MAX_GLOB_ALTERNATIVES} patterns once its {a,b} groups are expanded`,
  ),
)

const pathGlob = v.pipe(glob, v.regex(/^[/*]/, 'must start with / or *'))

const pathPrefix = v.pipe(v.string('must be a string'), v.startsWith('/', 'must start with /'))

/** File types a blog serves as static assets: safe to keep for long when nothing else is said. */
export const ASSET_PATHS =
  '*.{css,js,mjs,map,png,jpg,jpeg,gif,webp,avif,svg,ico,bmp,woff,woff2,ttf,otf,eot,mp3,mp4,webm,ogg,wav,pdf,zip,txt}'

const DefaultTtlSchema = v.strictObject({
  /** Required. Path glob the rule covers, e.g. `*.css` or `/wp-content/uploads/*`. */
  path: pathGlob,
  /** Content types (prefixes, e.g. `text/html`) the rule is limited to. Default: any type. */
  types: v.optional(v.array(v.pipe(v.string('must be a string'), v.minLength(1)))),
  /** Required. Seconds of freshness given to a matching response. */
  seconds: seconds('seconds'),
})

const MIB = 1024 * 1024

const bytes = (what: string, max: number) =>
  v.pipe(
    v.number('must be a number'),
    v.integer('must be a whole number'),
    v.minValue(0, `${what} must be at least 0`),
    v.maxValue(max, `${what} must be at most ${max} (${max / MIB} MiB)`),
  )

/**
 * The memory tier (worker/cache/memory.ts): each isolate keeps small fresh pages in memory and
 * answers hits for them without a Cache API read. A purge or an invalidation reaches the
 * copies other isolates hold within `maxAgeSeconds`.
 */
const MemorySchema = v.strictObject({
  /** Bytes one isolate keeps (bodies and headers); 0 turns the tier off. Default: 8 MiB. */
  maxBytes: v.optional(bytes('maxBytes', 64 * MIB), 8 * MIB),
  /** Largest body kept; larger ones are always read from the Cache API. Default: 256 KiB. */
  maxEntryBytes: v.optional(bytes('maxEntryBytes', 8 * MIB), 256 * 1024),
  /**
   * Seconds a held copy answers before the Cache API is read again (never past its freshness).
   * Default: 5.
   */
  maxAgeSeconds: v.optional(
    v.pipe(seconds('maxAgeSeconds', 300), v.minValue(1, 'maxAgeSeconds must be at least 1')),
    5,
  ),
})

/**
 * Request collapsing (worker/cache/collapse.ts): concurrent misses for one page in an isolate
 * share one origin request, the others waiting for its answer to be stored.
 */
const CollapseSchema = v.strictObject({
  /**
   * Longest a miss waits for the same page's origin request already in flight in its isolate
   * (until that answer is stored) before asking the origin itself; 0 turns collapsing off.
   * Keep it below `routing.attemptTimeoutMs`. Default: 3000.
   */
  maxWaitMs: v.optional(
    v.pipe(
      v.number('must be a number'),
      v.integer('must be a whole number'),
      v.minValue(0, 'maxWaitMs must be at least 0'),
      v.maxValue(60_000, 'maxWaitMs must be at most 60000'),
    ),
    3000,
  ),
})

export const CacheSettingsSchema = v.strictObject({
  /** `false` turns the edge cache off: every request goes to an origin. Default: true. */
  enabled: v.optional(v.boolean('must be true or false'), true),
  /**
   * Freshness for responses that carry no caching headers at all (no Cache-Control, targeted
   * CDN-Cache-Control, Expires or Pragma), by path: the first matching rule wins; no match,
   * heuristic freshness from Last-Modified (`heuristicFraction`), else not cached. Applied only to
   * statuses that RFC 9111 lets a cache keep heuristically (200, 301, 404, ...). Default: static
   * assets (`ASSET_PATHS`) 1 day; HTML pages and RSS/Atom feeds 60 seconds; nothing else.
   */
  defaultTtls: v.optional(v.array(DefaultTtlSchema, 'must be an array of { path, seconds }'), [
    { path: ASSET_PATHS, seconds: 86_400 },
    {
      path: '*',
      types: ['text/html', 'application/xhtml+xml', 'application/rss+xml', 'application/atom+xml'],
      seconds: 60,
    },
  ]),
  /**
   * Heuristic freshness (RFC 9111 §4.2.2) for a response with `Last-Modified` but no explicit
   * freshness (no `max-age`, `s-maxage` or `Expires`) and no `defaultTtls` rule: this share of
   * the time since it was last modified, for the statuses RFC 9111 lets a cache keep
   * heuristically (200, 301, 404, ...) or with `public`; 0 turns heuristics off. A response
   * without `Last-Modified` (a dynamic page without validators) gets none. Default: 0.1.
   */
  heuristicFraction: v.optional(
    v.pipe(
      v.number('must be a number'),
      v.minValue(0, 'heuristicFraction must be at least 0'),
      v.maxValue(1, 'heuristicFraction must be at most 1'),
    ),
    0.1,
  ),
  /** The longest heuristic freshness, in seconds. Default: 86400 (1 day). */
  heuristicMaxSeconds: v.optional(seconds('heuristicMaxSeconds'), 86_400),
  /**
   * Paths (and everything under them) never served from or stored in the cache; `writes.paths`
   * always bypass too. Default: the admin, login, cart and account paths of WordPress,
   * WooCommerce and Ghost.
   */
  bypassPaths: v.optional(v.array(pathPrefix, 'must be an array of paths'), [
    '/wp-admin',
    '/wp-login.php',
    '/wp-cron.php',
    '/xmlrpc.php',
    '/ghost',
    '/admin',
    '/login',
    '/cart',
    '/checkout',
    '/my-account',
  ]),
  /**
   * Readers carrying one of these cookies (name globs) are logged in: they bypass the cache.
   * Default: the login, post-password, commenter, cart and member cookies of WordPress,
   * WooCommerce and Ghost.
   */
  bypassCookies: v.optional(v.array(glob, 'must be an array of cookie names'), [
    'wordpress_logged_in_*',
    'wordpress_sec_*',
    'wp-postpass_*',
    'comment_author_*',
    'woocommerce_items_in_cart',
    'wp_woocommerce_session_*',
    'ghost-admin-api-session',
    'ghost-members-ssr*',
  ]),
  /**
   * Query parameters (name globs) dropped from the cache key and from the origin request.
   * Default: the tracking parameters of common analytics and ad platforms (`utm_*`, `fbclid`, ...).
   */
  ignoredParams: v.optional(v.array(glob, 'must be an array of parameter names'), [
    'utm_*',
    'fbclid',
    'gclid',
    'gbraid',
    'wbraid',
    'dclid',
    'msclkid',
    'mc_cid',
    'mc_eid',
    '_ga',
    '_gl',
    'igshid',
    'yclid',
    'twclid',
    'ttclid',
  ]),
  /**
   * When every origin fails, a stale copy is served for at least this long past its freshness
   * (on top of the origin's own `stale-if-error`); 0 turns the floor off. Default: 86400 (1 day).
   */
  staleIfErrorSeconds: v.optional(seconds('staleIfErrorSeconds'), 86_400),
  /**
   * Apply the floor even to responses whose headers forbid serving them stale (no-cache,
   * must-revalidate, proxy-revalidate, s-maxage). Default: false, as RFC 9111 §4.2.4 asks.
   */
  staleIfErrorOverridesOrigin: v.optional(v.boolean('must be true or false'), false),
  /** The memory tier in front of the Cache API (see `MemorySchema`). Default: every field's. */
  memory: v.optional(MemorySchema, {}),
  /** Request collapsing for concurrent misses (see `CollapseSchema`). Default: every field's. */
  collapse: v.optional(CollapseSchema, {}),
  /**
   * Cloudflare zone id for purging URLs in every data center (the `CF_ZONE_ID` variable wins).
   * Default: unset, a URL purge reaches only the data center that receives it.
   */
  purgeZoneId: v.optional(
    v.pipe(
      v.string('must be a string'),
      v.regex(/^[0-9a-f]{32}$/, 'must be a 32-character hexadecimal zone id'),
    ),
  ),
})

export type CacheSettings = v.InferOutput<typeof CacheSettingsSchema>
