/**
 * The reader's `Range` (RFC 9110 §14): answered at the edge from the full 200 the cache is about
 * to send, stored or just fetched (the origin is always asked for the whole resource, key.ts).
 * One byte range gets a 206 with the stored headers and `Content-Range` (§15.3.7); a range past
 * the end gets a 416 (§15.5.17); anything else (several ranges, bad syntax, another unit, an
 * `If-Range` that does not match, an unknown length, an encoded body) gets the full 200, which a
 * server may always send (§14.2).
 *
 * `rangeDecision` and `ifRangeMatches` are pure; `rangeAnswer` builds the Response from them.
 */
import type { HeaderSource } from './conditional'
import type { Body, Reader } from './types'

/** What a `Range` asks of a representation of a given length. */
export type RangeDecision =
  /** Bytes `start` to `end`, both included (`end` < length). */
  | { kind: 'partial'; start: number; end: number }
  /** No byte of the representation is in the range: 416. */
  | { kind: 'unsatisfiable' }
  /** Answer the whole representation (200). */
  | { kind: 'ignore' }

const IGNORE: RangeDecision = { kind: 'ignore' }
const UNSATISFIABLE: RangeDecision = { kind: 'unsatisfiable' }

// `bytes=first-last`, `bytes=first-`, `bytes=-suffix` (§14.1.2), one range only: the unit is
// case-insensitive, whitespace may surround the range.
const ONE_RANGE = /^bytes[ \t]*=[ \t]*(?:(\d+)[ \t]*-[ \t]*(\d*)|-[ \t]*(\d+))[ \t]*$/i

/**
 * The range of a `Range` field value over a representation of `length` bytes (RFC 9110 §14.1.2):
 * first-last (last clipped to the end), first- (to the end), -suffix (the last bytes). Several
 * ranges, another unit or bad syntax: ignored (the full 200 is a valid answer to those).
 */
export function parseRange(header: string, length: number): RangeDecision {
  const match = ONE_RANGE.exec(header)
  if (!match) return IGNORE
  const [, first, last, suffix] = match
  if (suffix !== undefined) {
    const count = Number(suffix)
    // A suffix of zero bytes, or any suffix of an empty representation, selects nothing.
    if (!Number.isSafeInteger(count)) return IGNORE
    if (count === 0 || length === 0) return UNSATISFIABLE
    return { kind: 'partial', start: Math.max(0, length - count), end: length - 1 }
  }
  const start = Number(first)
  const end = last ? Number(last) : length - 1
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end)) return IGNORE
  // last < first is invalid syntax (§14.1.1): the field is ignored.
  if (last && end < start) return IGNORE
  if (start >= length) return UNSATISFIABLE
  return { kind: 'partial', start, end: Math.min(end, length - 1) }
}

/**
 * Whether an `If-Range` validator lets the range apply (RFC 9110 §13.1.5): a strong entity tag
 * equal to the response's strong `ETag`, or an HTTP date equal to its `Last-Modified`. A weak
 * tag never matches.
 */
export function ifRangeMatches(ifRange: string, response: HeaderSource): boolean {
  const value = ifRange.trim()
  if (value.startsWith('"')) {
    const etag = response.get('etag')?.trim()
    return etag !== undefined && etag === value
  }
  if (value.startsWith('W/')) return false
  const date = Date.parse(value)
  const modified = Date.parse(response.get('last-modified') ?? '')
  return Number.isFinite(date) && date === modified
}

/**
 * What to answer a reader's `range` (and `If-Range`) with, from a 200 of `length` bytes
 * (`undefined` when unknown) and its headers. An encoded body is never sliced: the runtime
 * holds it decoded, so its bytes are not the representation's (§8.4).
 */
export function rangeDecision(
  range: string,
  ifRange: string | null,
  response: HeaderSource,
  length: number | undefined,
): RangeDecision {
  if (length === undefined) return IGNORE
  const encoding = response.get('content-encoding')
  if (encoding && encoding.trim().toLowerCase() !== 'identity') return IGNORE
  if (ifRange !== null && !ifRangeMatches(ifRange, response)) return IGNORE
  return parseRange(range, length)
}

const DIGITS = /^\d+$/

/** A body's length: the bytes held, else a stream's `Content-Length`; `undefined` when unknown. */
export function bodyLength(body: Body, headers: HeaderSource): number | undefined {
  if (body instanceof Uint8Array) return body.byteLength
  if (body === null) return 0
  const declared = headers.get('content-length')?.trim()
  if (declared === undefined || !DIGITS.test(declared)) return undefined
  const length = Number(declared)
  return Number.isSafeInteger(length) ? length : undefined
}

/** A stream of the bytes `start` to `end` (included) of `source`; the rest is not read. */
export function sliceStream(
  source: ReadableStream<Uint8Array>,
  start: number,
  end: number,
): ReadableStream<Uint8Array> {
  let offset = 0
  const slicer = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      const from = Math.max(0, start - offset)
      const to = Math.min(chunk.byteLength, end + 1 - offset)
      offset += chunk.byteLength
      if (from < to) controller.enqueue(chunk.subarray(from, to))
      // The last byte is out: stop reading the source (a tee keeps feeding the cache's copy).
      if (offset > end) controller.terminate()
    },
  })
  return source.pipeThrough(slicer)
}

/**
 * The 206 or 416 for a GET's `Range` over a full 200 (`status`), or `undefined` when the full
 * answer stands (no `Range`, another status, or the range is ignored). Called by `answer` after
 * the reader's conditionals and HEAD: a `Range` on a HEAD is ignored (§14.2: ranges are GET's).
 */
export function rangeAnswer(
  reader: Reader,
  body: Body,
  headers: Headers | Record<string, string>,
  source: HeaderSource,
  status: number,
): Response | undefined {
  const range = reader.headers.get('range')
  if (range === null || status !== 200) return undefined
  const length = bodyLength(body, source)
  const decision = rangeDecision(range, reader.headers.get('if-range'), source, length)
  if (decision.kind === 'ignore' || length === undefined) return undefined
  const out = new Headers(headers)
  if (decision.kind === 'unsatisfiable') {
    if (body instanceof ReadableStream) void body.cancel()
    out.delete('content-length')
    out.set('content-range', `bytes */${length}`)
    return new Response(null, { status: 416, headers: out })
  }
  const { start, end } = decision
  const count = end - start + 1
  out.set('content-range', `bytes ${start}-${end}/${length}`)
  out.set('content-length', String(count))
  const part =
    body instanceof Uint8Array
      ? body.subarray(start, end + 1)
      : // A partial decision means a stream: a null body has no byte to select.
        sliceStream(body as ReadableStream, start, end).pipeThrough(new FixedLengthStream(count))
  return new Response(part, { status: 206, headers: out })
}
