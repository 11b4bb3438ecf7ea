/**
 * The path as origin stacks route it, for MATCHING only (write paths, cache bypass paths): the
 * URL sent upstream is never changed. Servers route spellings of one path alike that a plain
 * prefix test tells apart, so `/wp%2Dadmin/`, `//wp-admin/`, `/wp-admin;x/` and
 * `/index.php/wp-admin/` must all match `/wp-admin`, or they reach a replica and are cached.
 */

// Anything that may need work: a percent-escape, a path parameter, a backslash, an empty or dot
// segment, a front controller. Most paths have none and are returned as they are.
const NEEDS_WORK = /%|;|\\|\/\/|\/\.|\/index\.php\//i
const ENCODED_RUN = /(?:%[0-9a-f]{2})+/gi
const ASCII_ESCAPE = /%([0-7][0-9a-f])/gi

/** Decodes one run of escapes: as UTF-8 when it is, else its ASCII escapes only. */
function decodeRun(run: string): string {
  try {
    return decodeURIComponent(run)
  } catch {
    return run.replace(ASCII_ESCAPE, (_, hex: string) =>
      String.fromCharCode(Number.parseInt(hex, 16)),
    )
  }
}

/**
 * `pathname` normalised the way the stacks behind an origin may read it, so that a path that
 * reaches a handler there matches the prefix of that handler here:
 *
 * - percent-escapes decoded once, all of them (RFC 3986 §2.3 says unreserved ones are the same
 *   character; nginx decodes the rest too, `%2F` included, before it matches locations);
 * - `\` read as `/` (IIS does);
 * - path parameters (`;…`, RFC 3986 §3.3) dropped from each segment (Tomcat, Jetty and Spring
 *   route `/wp-admin;x/` as `/wp-admin/`);
 * - empty segments collapsed (nginx's `merge_slashes`), `.` and `..` resolved (RFC 3986 §5.2.4);
 * - an `index.php` segment with more path after it dropped: PHP front controllers (WordPress,
 *   Drupal, Laravel) route `/index.php/wp-admin/` by its PATH_INFO, as `/wp-admin/`.
 *
 * Case is kept: the matchers compare without it (`/WP-ADMIN/` reaches wp-admin on
 * case-insensitive file systems and some routers; a needless bypass only costs a cache miss).
 */
export function normalizedRoutePath(pathname: string): string {
  if (!NEEDS_WORK.test(pathname)) return pathname
  const decoded = pathname.replace(ENCODED_RUN, decodeRun).replace(/\\/g, '/')
  const segments: string[] = []
  const parts = decoded.split('/')
  let trailingSlash = false
  for (const part of parts) {
    const semicolon = part.indexOf(';')
    const segment = semicolon < 0 ? part : part.slice(0, semicolon)
    trailingSlash = segment === '' || segment === '.' || segment === '..'
    if (segment === '' || segment === '.') continue
    if (segment === '..') segments.pop()
    else segments.push(segment)
  }
  // A front controller followed by more path routes by that path; alone, it is itself.
  const routed = segments.filter(
    (segment, i) => i === segments.length - 1 || segment.toLowerCase() !== 'index.php',
  )
  const path = `/${routed.join('/')}`
  return trailingSlash && routed.length > 0 ? `${path}/` : path
}
