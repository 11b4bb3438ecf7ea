/**
 * Your blog's origins: edit this list, then run `npm run check`.
 *
 * Each origin is one full copy of the blog (application + database replica) in one place.
 * georoute sends every reader to the nearest healthy one. Fields:
 * - `id`      lowercase slug, unique; shown to readers in the `x-georoute-origin` header
 * - `url`     base URL (http or https); the reader's path is appended to it
 * - `lat/lon` where the origin runs, in degrees (a data center's city is close enough)
 * - `primary` true on the one origin whose database takes writes (at most one)
 * - `weight`  optional preference: distance is divided by it (default 1)
 * - `label`   optional human name, e.g. the region
 * - `probe`   optional health probe: { path, method, expectStatus: [min, max], bodyIncludes,
 *             timeoutMs, headers }
 *
 * The `ORIGINS` variable (a JSON array of the same objects) replaces this list when set,
 * e.g. per environment in wrangler.toml.
 */
import { defineConfig } from '../worker/config'

export default defineConfig({
  origins: [
    {
      id: 'frankfurt',
      label: 'Frankfurt (eu-central)',
      url: 'https://fra.blog.example.com',
      lat: 50.11,
      lon: 8.68,
      primary: true,
      probe: { path: '/healthz' },
    },
    {
      id: 'virginia',
      label: 'Virginia (us-east)',
      url: 'https://iad.blog.example.com',
      lat: 38.95,
      lon: -77.45,
      probe: { path: '/healthz' },
    },
    {
      id: 'tokyo',
      label: 'Tokyo (ap-northeast)',
      url: 'https://nrt.blog.example.com',
      lat: 35.68,
      lon: 139.69,
      probe: { path: '/healthz' },
    },
  ],
  settings: {
    routing: {
      // Time an origin has to send response headers before the next one is tried (GET/HEAD).
      attemptTimeoutMs: 10_000,
      // Time a reader waits at most, across all attempts.
      deadlineMs: 25_000,
      maxAttempts: 3,
    },
    // The edge cache (every field optional; defaults shown). What may be cached and for how
    // long follows your origins' headers (RFC 9111); these rules fill in what they leave open.
    cache: {
      // false sends every request to an origin.
      enabled: true,
      // Freshness for responses that send no Cache-Control, Expires or Pragma, by path (first
      // match wins, none = not cached). Defaults: static assets 1 day, pages and feeds 60 s:
      //   defaultTtls: [{ path: '*.{css,js,png,jpg,svg,woff2,...}', seconds: 86_400 },
      //                 { path: '*', types: ['text/html', 'application/rss+xml', ...], seconds: 60 }],
      // Never cached (nor are settings.writes.paths), e.g. shop pages:
      //   bypassPaths: ['/wp-admin', '/wp-login.php', '/ghost', '/admin', '/cart', ...],
      // Readers carrying one of these cookies (name globs) are logged in and bypass the cache:
      //   bypassCookies: ['wordpress_logged_in_*', 'wp-postpass_*', 'comment_author_*', ...],
      // Query parameters dropped from the cache key and from the origin request:
      //   ignoredParams: ['utm_*', 'fbclid', 'gclid', 'mc_eid', ...],
      // When every origin fails, serve a stale copy up to this long past its freshness (0 = off).
      staleIfErrorSeconds: 86_400,
      // Also for pages whose headers forbid stale copies (no-cache, must-revalidate, s-maxage).
      staleIfErrorOverridesOrigin: false,
      // With the CF_API_TOKEN secret, URL purges reach every data center (CF_ZONE_ID wins):
      //   purgeZoneId: '0123456789abcdef0123456789abcdef',
    },
  },
})
