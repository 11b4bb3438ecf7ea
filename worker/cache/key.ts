/**
 * What a cached response is stored under, and what of the reader's request may reach the origin
 * when the answer is shared: the public scheme, host, path and normalized query are the key;
 * nothing else the reader sends may shape what is stored for everyone.
 */
import {
  connectionNamed,
  EDGE_FIELDS,
  type EdgeFacts,
  edgeValue,
  isForwarded,
  isProxyOnly,
} from '../proxy/headers'

// Inside our reserved `/__georoute/` space, so no reader path can produce or collide with a key.
const KEY_PREFIX = '/__georoute/cache/'

function decodeName(raw: string): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '))
  } catch {
    return raw
  }
}

/**
 * The query with ignored (tracking) parameters dropped and the rest stably sorted by name, so
 * `?b=2&a=1&utm_source=x` and `?a=1&b=2` are one entry. Values keep their encoding and, for a
 * repeated name, their order (`?tag=b&tag=a` may mean something else than `?tag=a&tag=b`).
 */
export function normalizedQuery(search: string, isIgnored: (name: string) => boolean): string {
  if (search.length <= 1) return ''
  const pairs: { name: string; raw: string }[] = []
  for (const raw of search.slice(1).split('&')) {
    if (raw === '') continue
    const eq = raw.indexOf('=')
    const name = decodeName(eq < 0 ? raw : raw.slice(0, eq))
    if (!isIgnored(name)) pairs.push({ name, raw })
  }
  if (pairs.length === 0) return ''
  pairs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  return `?${pairs.map((p) => p.raw).join('&')}`
}

/** The public URL as the cache and the origin see it: normalized query, no fragment. */
export function normalizedUrl(url: URL, isIgnored: (name: string) => boolean): URL {
  const query = normalizedQuery(url.search, isIgnored)
  if (query === url.search && url.hash === '') return url
  return withQuery(url, query)
}

/** A copy of `url` with `query` (normalized) as its query and no fragment. */
export function withQuery(url: URL, query: string): URL {
  const out = new URL(url)
  out.search = query
  out.hash = ''
  return out
}

/**
 * The Cache API key (a URL, as the Cache API wants): scheme and host of the public URL, the
 * purge generation (bumping it retires every key at once), then path and normalized query.
 */
export function cacheKey(normalized: URL, generation: number): string {
  const origin = `${normalized.protocol}//${normalized.host}`
  return keyOf(origin, normalized.pathname, normalized.search, generation)
}

/** The key from its parts: public origin (`https://host`), path, normalized query. */
export function keyOf(origin: string, path: string, query: string, generation: number): string {
  return `${origin}${KEY_PREFIX}${generation}${path}${query}`
}

// Fields that must not shape a response others will get. Cookies: only logged-in readers need
// them, and those bypass the cache. Conditionals, ranges and the reader's cache directives: we
// answer those ourselves from the full response. The rest: override headers that frameworks
// trust to build URLs, methods or hosts (cache poisoning through unkeyed input).
export const UNKEYED_NAMES: readonly string[] = [
  'cookie',
  'cache-control',
  'pragma',
  'if-none-match',
  'if-modified-since',
  'if-match',
  'if-unmodified-since',
  'if-range',
  'range',
  'forwarded',
  'x-host',
  'x-original-host',
  'x-original-url',
  'x-rewrite-url',
  'x-http-host-override',
  'x-http-method',
  'x-http-method-override',
  'x-method-override',
  'x-original-method',
  'x-real-ip',
  'x-url-scheme',
  'front-end-https',
]
const UNKEYED = new Set(UNKEYED_NAMES)

/** True for a request field that is not in the key: it never reaches a shareable request. */
export function isUnkeyed(name: string): boolean {
  return UNKEYED.has(name) || isProxyOnly(name)
}

/** True for a request field in the key: the fields a shareable request may carry. */
export const isKeyed = (name: string): boolean => !isUnkeyed(name)

/** The reader's headers, less everything not in the key: what a shareable request may carry. */
export function shareableHeaders(headers: Headers): Headers {
  const out = new Headers()
  headers.forEach((value, name) => {
    if (isKeyed(name)) out.append(name, value)
  })
  return out
}

/** The edge facts of a cache fill for this reader: as the proxy step is given them (pipeline.ts). */
export function fillEdge(headers: Headers, publicUrl: URL): EdgeFacts {
  return { clientIp: headers.get('cf-connecting-ip'), publicUrl }
}

/**
 * Whether the reader's field `name` reaches the origin on a cache fill (`askOrigin`): in the key
 * (`shareableHeaders`) and forwarded upstream (`isForwarded`; `named`: `connectionNamed`). The
 * edge's own fields (`EDGE_FIELDS`) are never the reader's.
 */
export function isSentOnFill(name: string, named: Set<string> | undefined): boolean {
  return !EDGE_FIELDS.includes(name) && !isUnkeyed(name) && isForwarded(name, named)
}

/**
 * The value the origin sees for the field `name` (lowercase) on a cache fill for this reader, or
 * undefined when it sees none: what `upstreamHeaders(shareableHeaders(reader), edge)` holds,
 * worked out for one name. `Vary` is matched on these (policy.ts), never on what the reader sent
 * where that is not what reached the origin.
 */
export function fillValue(
  name: string,
  reader: Headers,
  edge: EdgeFacts,
  named: Set<string> | undefined = connectionNamed(reader),
): string | undefined {
  if (EDGE_FIELDS.includes(name)) return edgeValue(name, reader, edge)
  return isSentOnFill(name, named) ? (reader.get(name) ?? undefined) : undefined
}
