/**
 * The reader's own conditional GET/HEAD (RFC 9110 §13): answered at the edge with 304 when the
 * validators they hold still match the response we are about to send.
 */

// One member of an If-None-Match list (RFC 9110 §8.8.3): `W/` (case-sensitive) then a quoted
// opaque tag. Anything else (`w/"x"`, `x` unquoted) is no entity-tag and matches nothing.
const ENTITY_TAG = /(?:^|,)\s*((?:W\/)?"[^"]*")\s*(?=,|$)/g
const opaque = (tag: string) => tag.replace(/^W\//, '')

/** Where header values are read from: a `Headers`, or a record with lower-case names. */
export type HeaderSource = Pick<Headers, 'get'>

/** A record with lower-case names, read like `Headers`. */
export const recordSource = (record: Record<string, string>): HeaderSource => ({
  get: (name) => (Object.hasOwn(record, name) ? (record[name] as string) : null),
})

/** True when `If-None-Match` (weak comparison) or else `If-Modified-Since` says "not modified". */
export function notModified(
  request: HeaderSource,
  status: number,
  response: HeaderSource,
): boolean {
  if (status !== 200) return false
  const ifNoneMatch = request.get('if-none-match')
  // §13.2.2: with If-None-Match present, If-Modified-Since is ignored.
  if (ifNoneMatch !== null) {
    const etag = response.get('etag')
    if (!etag) return false
    if (ifNoneMatch.trim() === '*') return true
    const own = opaque(etag.trim())
    for (const [, tag] of ifNoneMatch.matchAll(ENTITY_TAG)) {
      if (opaque(tag as string) === own) return true
    }
    return false
  }
  const since = Date.parse(request.get('if-modified-since') ?? '')
  // RFC 9111 §4.3.2: without a Last-Modified, the response's Date stands in for it.
  const modified = Date.parse(response.get('last-modified') ?? response.get('date') ?? '')
  return Number.isFinite(since) && Number.isFinite(modified) && modified <= since
}

// §15.4.5: what a 304 carries, so the reader's cache can update its stored copy.
const KEPT = [
  'cache-control',
  'content-location',
  'date',
  'etag',
  'expires',
  'vary',
  'last-modified',
  'age',
]

/** The 304 for a reader whose copy is current. */
export function notModifiedResponse(headers: HeaderSource): Response {
  const kept = new Headers()
  for (const name of KEPT) {
    const value = headers.get(name)
    if (value !== null) kept.set(name, value)
  }
  return new Response(null, { status: 304, headers: kept })
}
