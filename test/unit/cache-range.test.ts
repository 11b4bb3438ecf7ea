import { describe, expect, it } from 'vitest'
import { recordSource } from '../../worker/cache/conditional'
import {
  bodyLength,
  ifRangeMatches,
  parseRange,
  rangeAnswer,
  rangeDecision,
  sliceStream,
} from '../../worker/cache/range'

const LAST_MODIFIED = 'Tue, 01 Jan 2030 00:00:00 GMT'
const stored = new Headers({ etag: '"v1"', 'last-modified': LAST_MODIFIED })

describe('parseRange', () => {
  it('selects a byte-range-spec', () => {
    expect(parseRange('bytes=5-9', 20)).toEqual({ kind: 'partial', start: 5, end: 9 })
  })

  it('runs an open range to the end', () => {
    expect(parseRange('bytes=5-', 20)).toEqual({ kind: 'partial', start: 5, end: 19 })
  })

  it('selects the last bytes for a suffix range', () => {
    expect(parseRange('bytes=-5', 20)).toEqual({ kind: 'partial', start: 15, end: 19 })
  })

  it('takes the whole representation for a suffix longer than it', () => {
    expect(parseRange('bytes=-50', 20)).toEqual({ kind: 'partial', start: 0, end: 19 })
  })

  it('clips a last-byte-pos past the end', () => {
    expect(parseRange('bytes=15-99', 20)).toEqual({ kind: 'partial', start: 15, end: 19 })
  })

  it('accepts the unit in any case and whitespace around the range', () => {
    expect(parseRange('Bytes = 1 - 2 ', 20)).toEqual({ kind: 'partial', start: 1, end: 2 })
  })

  it('is unsatisfiable when the first byte is past the end', () => {
    expect(parseRange('bytes=20-', 20)).toEqual({ kind: 'unsatisfiable' })
    expect(parseRange('bytes=25-30', 20)).toEqual({ kind: 'unsatisfiable' })
  })

  it('is unsatisfiable for a zero-length suffix or an empty representation', () => {
    expect(parseRange('bytes=-0', 20)).toEqual({ kind: 'unsatisfiable' })
    expect(parseRange('bytes=-5', 0)).toEqual({ kind: 'unsatisfiable' })
    expect(parseRange('bytes=0-', 0)).toEqual({ kind: 'unsatisfiable' })
  })

  it('ignores several ranges (the full answer is allowed)', () => {
    expect(parseRange('bytes=0-1,5-6', 20)).toEqual({ kind: 'ignore' })
  })

  it('ignores invalid syntax, a backwards range and other units', () => {
    for (const header of ['bytes=9-5', 'bytes=a-b', 'bytes=-', 'bytes 0-1', 'items=0-1', '']) {
      expect(parseRange(header, 20), header).toEqual({ kind: 'ignore' })
    }
  })
})

describe('ifRangeMatches', () => {
  it('matches the stored strong ETag exactly', () => {
    expect(ifRangeMatches('"v1"', stored)).toBe(true)
    expect(ifRangeMatches('"v2"', stored)).toBe(false)
  })

  it('never matches a weak entity tag', () => {
    const weak = new Headers({ etag: 'W/"v1"' })
    expect(ifRangeMatches('W/"v1"', weak)).toBe(false)
    expect(ifRangeMatches('"v1"', weak)).toBe(false)
  })

  it('matches a date equal to Last-Modified only', () => {
    expect(ifRangeMatches(LAST_MODIFIED, stored)).toBe(true)
    expect(ifRangeMatches('Wed, 02 Jan 2030 00:00:00 GMT', stored)).toBe(false)
    expect(ifRangeMatches('not a date', stored)).toBe(false)
  })
})

describe('rangeDecision', () => {
  it('ignores the range when the length is unknown', () => {
    expect(rangeDecision('bytes=0-1', null, stored, undefined)).toEqual({ kind: 'ignore' })
  })

  it('ignores the range of an encoded body', () => {
    const gzip = new Headers({ 'content-encoding': 'gzip' })
    expect(rangeDecision('bytes=0-1', null, gzip, 10)).toEqual({ kind: 'ignore' })
  })

  it('ignores the range when If-Range does not match', () => {
    expect(rangeDecision('bytes=0-1', '"v0"', stored, 10)).toEqual({ kind: 'ignore' })
  })

  it('applies the range when If-Range matches', () => {
    expect(rangeDecision('bytes=0-1', '"v1"', stored, 10)).toEqual({
      kind: 'partial',
      start: 0,
      end: 1,
    })
  })
})

describe('bodyLength', () => {
  it('is the bytes held, else a valid Content-Length, else unknown', () => {
    expect(bodyLength(new Uint8Array(3), recordSource({}))).toBe(3)
    expect(bodyLength(new Blob(['abcd']).stream(), recordSource({ 'content-length': '4' }))).toBe(4)
    expect(bodyLength(new Blob(['abcd']).stream(), recordSource({}))).toBeUndefined()
    expect(bodyLength(new Blob(['a']).stream(), recordSource({ 'content-length': '1x' }))).toBe(
      undefined,
    )
  })
})

const chunked = (...parts: string[]) =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      for (const part of parts) controller.enqueue(new TextEncoder().encode(part))
      controller.close()
    },
  })

describe('sliceStream', () => {
  it('gives the selected bytes across chunk boundaries', async () => {
    const text = await new Response(sliceStream(chunked('0123', '4567', '89'), 3, 8)).text()
    expect(text).toBe('345678')
  })

  it('stops reading the source after the last byte', async () => {
    let cancelled = false
    let pulls = 0
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulls++
        controller.enqueue(new Uint8Array([65, 66]))
      },
      cancel() {
        cancelled = true
      },
    })
    expect(await new Response(sliceStream(endless, 0, 2)).text()).toBe('ABA')
    expect(cancelled).toBe(true)
    expect(pulls).toBeLessThan(10)
  })
})

describe('rangeAnswer', () => {
  const reader = (headers: Record<string, string>, method = 'GET') => ({
    method,
    headers: new Headers(headers),
  })
  const body = () => new TextEncoder().encode('0123456789')
  const headers = { etag: '"v1"', 'content-length': '10', 'cache-control': 'max-age=60' }

  it('answers 206 with Content-Range, Content-Length and the stored headers', async () => {
    const response = rangeAnswer(
      reader({ range: 'bytes=2-4' }),
      body(),
      headers,
      recordSource(headers),
      200,
    )
    expect(response?.status).toBe(206)
    expect(response?.headers.get('content-range')).toBe('bytes 2-4/10')
    expect(response?.headers.get('content-length')).toBe('3')
    expect(response?.headers.get('etag')).toBe('"v1"')
    expect(response?.headers.get('cache-control')).toBe('max-age=60')
    expect(await response?.text()).toBe('234')
  })

  it('slices a streamed body of known length', async () => {
    const response = rangeAnswer(
      reader({ range: 'bytes=-3' }),
      chunked('01234', '56789'),
      new Headers(headers),
      new Headers(headers),
      200,
    )
    expect(response?.status).toBe(206)
    expect(response?.headers.get('content-range')).toBe('bytes 7-9/10')
    expect(await response?.text()).toBe('789')
  })

  it('answers 416 with the length for a range past the end', async () => {
    const response = rangeAnswer(
      reader({ range: 'bytes=10-' }),
      body(),
      headers,
      recordSource(headers),
      200,
    )
    expect(response?.status).toBe(416)
    expect(response?.headers.get('content-range')).toBe('bytes */10')
    expect(await response?.text()).toBe('')
  })

  it('leaves the full answer without Range, for another status, or for an ignored range', () => {
    const source = recordSource(headers)
    expect(rangeAnswer(reader({}), body(), headers, source, 200)).toBeUndefined()
    expect(rangeAnswer(reader({ range: 'bytes=0-1' }), body(), headers, source, 404)).toBe(
      undefined,
    )
    expect(
      rangeAnswer(reader({ range: 'bytes=0-1,3-4' }), body(), headers, source, 200),
    ).toBeUndefined()
  })
})
