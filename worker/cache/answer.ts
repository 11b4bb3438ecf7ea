/** The last step of every cache path: the reader's Response from a body, its headers and status. */
import { notModified, notModifiedResponse, recordSource } from './conditional'
import { rangeAnswer } from './range'
import type { Body, Reader } from './types'

// Statuses whose responses never have a body (RFC 9110 §15).
const NULL_BODY = new Set([101, 103, 204, 205, 304])

/** The reader's response: a 304 for their own validators, no body for HEAD, 206 for a Range. */
export function answer(
  reader: Reader,
  body: Body,
  headers: Headers | Record<string, string>,
  status: number,
): Response {
  const source = headers instanceof Headers ? headers : recordSource(headers)
  const conditional = notModified(reader.headers, status, source)
  if (conditional || reader.method === 'HEAD' || NULL_BODY.has(status)) {
    if (body instanceof ReadableStream) void body.cancel()
    return conditional ? notModifiedResponse(source) : new Response(null, { status, headers })
  }
  return (
    rangeAnswer(reader, body, headers, source, status) ?? new Response(body, { status, headers })
  )
}
