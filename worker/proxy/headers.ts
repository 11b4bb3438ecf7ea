import type { OriginHosts } from '../config'

/** Our token in `CDN-Loop` (RFC 8586): a request that already carries it has looped back. */
export const CDN_LOOP_TOKEN = 'georoute'

// RFC 9110 §7.6.1: connection-specific fields, plus the proxy-only ones, never forwarded.
const HOP_BY_HOP = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]

// Set by us from what the edge saw, or proxy-only fields that origin frameworks trust to build
// URLs (Rails, Spring, Symfony): a reader's own values are never forwarded.
const EDGE_SET = [
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'forwarded',
  'x-real-ip',
  'x-forwarded-port',
  'x-forwarded-prefix',
  'x-forwarded-scheme',
  'x-forwarded-ssl',
  'x-original-url',
  'x-rewrite-url',
]

// The client's address or the host, as one CDN, load balancer or platform or another names it
// (Akamai and Cloudflare, Fastly, Imperva, Sucuri, Rackspace, IIS ARR, WebLogic, Google, Microsoft).
// WordPress plugins and frameworks read them to log, rate-limit, allow admin access or build URLs;
// an origin behind georoute gets the reader's address in X-Forwarded-For only. Every
// `X-Forwarded-*` is dropped as a family too (`isProxyOnly`).
const CLIENT_OR_HOST = [
  'true-client-ip',
  'x-client-ip',
  'client-ip',
  'x-cluster-client-ip',
  'fastly-client-ip',
  'incap-client-ip',
  'x-sucuri-clientip',
  'x-arr-clientip',
  'wl-proxy-client-ip',
  'proxy-client-ip',
  'x-originating-ip',
  'x-remote-ip',
  'x-remote-addr',
  'x-proxyuser-ip',
  'x-appengine-user-ip',
  'x-original-forwarded-for',
  'forwarded-for',
  'x-forwarded',
  'x-host',
  'x-backend-host',
  'x-original-host',
  'x-http-host-override',
]

// Set only by a proxy in front of the origin: a reader's own values never pass.
const PROXY_ONLY = new Set([...EDGE_SET, ...CLIENT_OR_HOST])

/**
 * True for a field only a proxy may set (the client's address, the host, the URL), or one whose
 * name has an underscore: CGI, PHP and WSGI turn `X-Forwarded-Host` and `X_Forwarded_Host` alike
 * into `HTTP_X_FORWARDED_HOST`, so the second would pass for the first (nginx and Apache drop
 * such names for the same reason). Never forwarded from the reader, on any request.
 */
export function isProxyOnly(name: string): boolean {
  return PROXY_ONLY.has(name) || name.includes('_') || name.startsWith('x-forwarded-')
}

// Ours, or describing the reader's connection to the edge rather than ours to the origin.
// `Expect: 100-continue` asks the next hop for a 100 before the body is sent: the edge already
// holds the body (the runtime answered the reader's expectation), and the runtime's fetch takes
// an origin's 100 for the final answer, losing the real one. Envoy strips it the same way.
// `x-georoute-min-position` is set by the edge alone (`EdgeFacts.minPosition`).
const INTERNAL = [
  'x-georoute-geo',
  'x-georoute-min-position',
  'host',
  'cf-connecting-ip',
  'cf-worker',
  'cf-ew-via',
  'expect',
]

/** Removes hop-by-hop fields and every field named in `Connection`. */
export function stripHopByHop(headers: Headers): void {
  const named = headers.get('connection')
  if (named) {
    for (const name of named.split(',')) {
      const trimmed = name.trim().toLowerCase()
      if (trimmed && /^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(trimmed)) headers.delete(trimmed)
    }
  }
  for (const name of HOP_BY_HOP) headers.delete(name)
}

/** True when `CDN-Loop` already lists our token: the request came back through us. */
export function isLoop(headers: Headers): boolean {
  const value = headers.get('cdn-loop')
  if (!value) return false
  return value.split(',').some((entry) => {
    const token = entry.trim().split(';')[0]?.trim().toLowerCase()
    return token === CDN_LOOP_TOKEN
  })
}

/** What the edge itself saw of the reader's request. */
export interface EdgeFacts {
  /** `CF-Connecting-IP`, set by Cloudflare; the reader cannot forge it at the edge. */
  clientIp: string | null
  /** The public URL the reader asked for. */
  publicUrl: URL
  /**
   * The replication position a pinned reader's read needs (`settings.writes.position`), sent
   * as `x-georoute-min-position` so an origin may wait for its replica to reach it.
   */
  minPosition?: string
}

// Never forwarded from the reader, whatever `Connection` says (and neither is `isProxyOnly`).
const NOT_FORWARDED = new Set([...HOP_BY_HOP, ...INTERNAL])

/** The field names listed in `Connection` (RFC 9110 §7.6.1), lowercased. */
export function connectionNamed(headers: Headers): Set<string> | undefined {
  const value = headers.get('connection')
  if (!value) return undefined
  return new Set(value.split(',').map((name) => name.trim().toLowerCase()))
}

/**
 * True when the reader's field `name` (lowercase) is passed on to the origin; `named` holds the
 * fields the reader's `Connection` lists (`connectionNamed`). The edge's own fields
 * (`EDGE_FIELDS`) replace the reader's whatever this says.
 */
export function isForwarded(name: string, named: Set<string> | undefined): boolean {
  return !NOT_FORWARDED.has(name) && !isProxyOnly(name) && !named?.has(name)
}

/** The fields the edge sets on every upstream request, from what it saw (`edgeValue`). */
export const EDGE_FIELDS = ['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'cdn-loop']

/**
 * The value the edge gives one of `EDGE_FIELDS` upstream (undefined: not sent), whatever the
 * reader sent under that name: the client's address, the public scheme and host, and `CDN-Loop`
 * with our token added to the reader's.
 */
export function edgeValue(name: string, incoming: Headers, edge: EdgeFacts): string | undefined {
  switch (name) {
    case 'x-forwarded-for':
      return edge.clientIp || undefined
    case 'x-forwarded-proto':
      return edge.publicUrl.protocol.slice(0, -1)
    case 'x-forwarded-host':
      return edge.publicUrl.host
    case 'cdn-loop': {
      const loop = incoming.get('cdn-loop')
      return loop ? `${loop}, ${CDN_LOOP_TOKEN}` : CDN_LOOP_TOKEN
    }
    default:
      return undefined
  }
}

/** Every field name the upstream rules above treat apart (for tests that compare rule sets). */
export const RULED_NAMES: readonly string[] = [
  ...HOP_BY_HOP,
  ...EDGE_SET,
  ...CLIENT_OR_HOST,
  ...INTERNAL,
  ...EDGE_FIELDS,
]

/**
 * What a cache fill sends instead of all the reader's fields: only those `keep` passes (the ones
 * in the cache key), and `add` (a revalidation's validators) set over them.
 */
export interface SharedFields {
  keep: (name: string) => boolean
  add?: Record<string, string>
}

/**
 * Headers for the origin: the reader's, less hop-by-hop and spoofable ones, plus ours. With
 * `shared` (a cache fill), what `upstreamHeaders(<the kept fields, add set over them>, edge)`
 * gives, built in the same one pass.
 */
export function upstreamHeaders(
  incoming: Headers,
  edge: EdgeFacts,
  shared?: SharedFields,
): Headers {
  // One pass over the reader's fields (cheaper than copying all and deleting ~25 names).
  const named = connectionNamed(incoming)
  const headers = new Headers()
  for (const [name, value] of incoming) {
    if (isForwarded(name, named) && (!shared || shared.keep(name))) headers.append(name, value)
  }
  if (shared?.add) {
    for (const [name, value] of Object.entries(shared.add)) {
      if (isForwarded(name, named)) headers.set(name, value)
    }
  }
  for (const name of EDGE_FIELDS) {
    const value = edgeValue(name, incoming, edge)
    if (value !== undefined) headers.set(name, value)
  }
  if (edge.minPosition) headers.set('x-georoute-min-position', edge.minPosition)
  return headers
}

/**
 * Rewrites a `Location` that points at one of the origins' own hosts to the public host, so a
 * reader is never redirected past the edge. Other locations are returned unchanged.
 */
export function rewriteLocation(
  location: string,
  originHosts: OriginHosts,
  publicUrl: URL,
): string {
  // Relative references already resolve against the public host.
  if (!/^([a-z][a-z0-9+.-]*:)?\/\//i.test(location)) return location
  let target: URL
  try {
    target = new URL(location, publicUrl)
  } catch {
    return location
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') return location
  const basePaths = originHosts.get(target.host)
  if (basePaths === undefined) return location
  // The origin whose URL space holds the target: the longest base path that prefixes it.
  const { pathname } = target
  const basePath = basePaths.find(
    (base) => base !== '' && (pathname === base || pathname.startsWith(`${base}/`)),
  )
  const path = basePath ? pathname.slice(basePath.length) || '/' : pathname
  return `${publicUrl.protocol}//${publicUrl.host}${path}${target.search}${target.hash}`
}

export type { OriginHosts }

/** Response headers for the reader: hop-by-hop removed, redirects pointed at the public host. */
export function downstreamHeaders(
  upstream: Headers,
  originHosts: OriginHosts,
  publicUrl: URL,
): Headers {
  const headers = new Headers(upstream)
  stripHopByHop(headers)
  const location = headers.get('location')
  if (location) headers.set('location', rewriteLocation(location, originHosts, publicUrl))
  return headers
}
