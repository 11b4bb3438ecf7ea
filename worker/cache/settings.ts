import * as v from 'valibot'
import { globAlternatives, MAX_GLOB_ALTERNATIVES } from './glob'

/**
 * `settings.cache`: the blog rules of the edge cache. HTTP caching itself (what may be stored,
 * for how long, when to revalidate) follows the origin's headers as RFC 9111 says; these
 * settings only fill in what the headers leave open.
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
  /** Path glob, e.g. `*.css` or `/wp-content/uploads/*`. */
  path: pathGlob,
  /** Content types (prefixes, e.g. `text/html`) the rule is limited to; unset = any. */
  types: v.optional(v.array(v.pipe(v.string('must be a string'), v.minLength(1)))),
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
  /** Bytes one isolate keeps (bodies and headers); 0 turns the tier off. */
  maxBytes: v.optional(bytes('maxBytes', 64 * MIB), 8 * MIB),
  /** Largest body kept; larger ones are always read from the Cache API. */
  maxEntryBytes: v.optional(bytes('maxEntryBytes', 8 * MIB), 256 * 1024),
  /** Longest a copy answers before the Cache API is read again (never past its freshness). */
  maxAgeSeconds: v.optional(
    v.pipe(seconds('maxAgeSeconds', 300), v.minValue(1, 'maxAgeSeconds must be at least 1')),
    5,
  ),
})

export const CacheSettingsSchema = v.strictObject({
  /** `false` turns the edge cache off: every request goes to an origin. */
  enabled: v.optional(v.boolean('must be true or false'), true),
  /**
   * Freshness for responses that carry no caching headers at all (no Cache-Control, Expires or
   * Pragma), by path: the first matching rule wins; no match, not cached. Applied only to
   * statuses that RFC 9111 lets a cache keep heuristically (200, 301, 404, ...).
   */
  defaultTtls: v.optional(v.array(DefaultTtlSchema, 'must be an array of { path, seconds }'), [
    { path: ASSET_PATHS, seconds: 86_400 },
    {
      path: '*',
      types: ['text/html', 'application/xhtml+xml', 'application/rss+xml', 'application/atom+xml'],
      seconds: 60,
    },
  ]),
  /** Paths (and everything under them) never served from or stored in the cache. */
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
  /** Readers carrying one of these cookies (name globs) are logged in: they bypass the cache. */
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
  /** Query parameters (name globs) dropped from the cache key and from the origin request. */
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
   * (on top of the origin's own `stale-if-error`); 0 turns the floor off.
   */
  staleIfErrorSeconds: v.optional(seconds('staleIfErrorSeconds'), 86_400),
  /**
   * Apply the floor even to responses whose headers forbid serving them stale (no-cache,
   * must-revalidate, proxy-revalidate, s-maxage). Off by default, as RFC 9111 §4.2.4 asks.
   */
  staleIfErrorOverridesOrigin: v.optional(v.boolean('must be true or false'), false),
  memory: v.optional(MemorySchema, {}),
  /** Cloudflare zone id for purging every data center (the `CF_ZONE_ID` variable wins). */
  purgeZoneId: v.optional(
    v.pipe(
      v.string('must be a string'),
      v.regex(/^[0-9a-f]{32}$/, 'must be a 32-character hexadecimal zone id'),
    ),
  ),
})

export type CacheSettings = v.InferOutput<typeof CacheSettingsSchema>
