import { describe, expect, it } from 'vitest'
import {
  answer,
  fetchThrough,
  installOrigins,
  paths,
  received,
  settings,
  useFakeDate,
} from './cache-origins'

installOrigins()
const later = useFakeDate()

const BODY = '0123456789abcdefghij'
const STORED = {
  'cache-control': 'max-age=60',
  etag: '"v1"',
  'last-modified': 'Tue, 01 Jan 2030 00:00:00 GMT',
  'content-type': 'text/plain',
  'content-length': String(BODY.length),
  a: '1',
}
const range = (value: string, more: Record<string, string> = {}) => ({
  headers: { range: value, ...more },
})
// The Cache API streams the body (the memory tier off): its length is the stored Content-Length.
const streamed = settings({ cache: { memory: { maxBytes: 0 } } })

describe.each([
  ['the memory tier', {}],
  ['the Cache API', streamed],
])('a Range on a stored full response, from %s', (_, vars) => {
  const stored = async (path: string) => {
    answer(() => ({ body: BODY, headers: STORED }))
    await fetchThrough(path, {}, vars)
  }

  it('answers 206 with the bytes, Content-Range, Content-Length and the stored headers', async () => {
    await stored('/r/span')
    const partial = await fetchThrough('/r/span', range('bytes=5-9'), vars)
    expect([partial.status, partial.cache, partial.body]).toEqual([206, 'HIT', '56789'])
    expect(partial.headers.get('content-range')).toBe('bytes 5-9/20')
    expect(partial.headers.get('content-length')).toBe('5')
    expect(partial.headers.get('etag')).toBe('"v1"')
    expect(partial.headers.get('last-modified')).toBe(STORED['last-modified'])
    expect(partial.headers.get('cache-control')).toBe('max-age=60')
    expect(partial.headers.get('a')).toBe('1')
    expect(partial.headers.get('age')).toMatch(/^\d+$/)
    expect(partial.headers.get('date')).not.toBeNull()
    expect(paths()).toEqual(['GET /r/span'])
  })

  it('answers an open range to the end', async () => {
    await stored('/r/open')
    const partial = await fetchThrough('/r/open', range('bytes=15-'), vars)
    expect([partial.status, partial.body]).toEqual([206, 'fghij'])
    expect(partial.headers.get('content-range')).toBe('bytes 15-19/20')
  })

  it('answers a suffix range with the last bytes', async () => {
    await stored('/r/suffix')
    const partial = await fetchThrough('/r/suffix', range('bytes=-3'), vars)
    expect([partial.status, partial.body]).toEqual([206, 'hij'])
    expect(partial.headers.get('content-range')).toBe('bytes 17-19/20')
  })

  it('answers 416 with the length for a range past the end', async () => {
    await stored('/r/past')
    const refused = await fetchThrough('/r/past', range('bytes=20-'), vars)
    expect([refused.status, refused.body]).toEqual([416, ''])
    expect(refused.headers.get('content-range')).toBe('bytes */20')
    expect(received).toHaveLength(1)
  })

  it('answers the full 200 for several ranges or invalid syntax', async () => {
    await stored('/r/many')
    for (const value of ['bytes=0-1,4-5', 'bytes=9-5', 'lines=1-2']) {
      const whole = await fetchThrough('/r/many', range(value), vars)
      expect([whole.status, whole.body], value).toEqual([200, BODY])
      expect(whole.headers.get('content-range')).toBeNull()
    }
  })

  it('applies If-Range only when it matches the stored validator', async () => {
    await stored('/r/if-range')
    const matching = await fetchThrough(
      '/r/if-range',
      range('bytes=0-1', { 'if-range': '"v1"' }),
      vars,
    )
    expect([matching.status, matching.body]).toEqual([206, '01'])
    const byDate = await fetchThrough(
      '/r/if-range',
      range('bytes=0-1', { 'if-range': STORED['last-modified'] }),
      vars,
    )
    expect(byDate.status).toBe(206)
    const other = await fetchThrough(
      '/r/if-range',
      range('bytes=0-1', { 'if-range': '"v0"' }),
      vars,
    )
    expect([other.status, other.body]).toEqual([200, BODY])
  })

  it('ignores a Range on HEAD (ranges are defined for GET only)', async () => {
    await stored('/r/head')
    const head = await fetchThrough('/r/head', { method: 'HEAD', ...range('bytes=0-1') }, vars)
    expect([head.status, head.body]).toEqual([200, ''])
  })

  it("answers the reader's own validators with 304 before the range", async () => {
    await stored('/r/conditional')
    const conditional = await fetchThrough(
      '/r/conditional',
      range('bytes=0-1', { 'if-none-match': '"v1"' }),
      vars,
    )
    expect(conditional.status).toBe(304)
  })
})

describe('a Range on a miss', () => {
  it('asks the origin for the whole page, stores it and answers the range', async () => {
    answer(() => ({ body: BODY, headers: STORED }))
    const first = await fetchThrough('/r/miss', range('bytes=2-4'))
    expect([first.status, first.cache, first.body]).toEqual([206, 'MISS', '234'])
    expect(first.headers.get('content-range')).toBe('bytes 2-4/20')
    expect(received[0]?.headers).not.toHaveProperty('range')
    const whole = await fetchThrough('/r/miss')
    expect([whole.status, whole.cache, whole.body]).toEqual([200, 'HIT', BODY])
  })

  it('answers the full 200 when the origin does not say how long the page is', async () => {
    const { 'content-length': _, ...unsized } = STORED
    answer(() => ({ body: BODY, headers: unsized }))
    const first = await fetchThrough('/r/unsized', range('bytes=2-4'))
    expect([first.status, first.body]).toEqual([200, BODY])
    // Stored whole: a hit from the memory tier knows the length.
    const hit = await fetchThrough('/r/unsized', range('bytes=2-4'))
    expect([hit.status, hit.cache, hit.body]).toEqual([206, 'HIT', '234'])
  })
})

describe('a Range on a stale entry', () => {
  it('answers the range from the entry a 304 revalidated', async () => {
    answer(() => ({ body: BODY, headers: STORED }))
    await fetchThrough('/r/stale')
    later(61)
    answer(() => ({ status: 304, headers: { 'cache-control': 'max-age=60', etag: '"v1"' } }))
    const revalidated = await fetchThrough('/r/stale', range('bytes=0-3'))
    expect([revalidated.status, revalidated.cache, revalidated.body]).toEqual([
      206,
      'REVALIDATED',
      '0123',
    ])
    expect(received[1]?.headers).not.toHaveProperty('range')
    expect(received[1]?.headers['if-none-match']).toBe('"v1"')
  })

  it('answers the range from a stale-while-revalidate copy', async () => {
    const swr = { ...STORED, 'cache-control': 'max-age=60, stale-while-revalidate=600' }
    answer(() => ({ body: BODY, headers: swr }))
    await fetchThrough('/r/swr')
    later(61)
    const stale = await fetchThrough('/r/swr', range('bytes=-2'))
    expect([stale.status, stale.cache, stale.body]).toEqual([206, 'STALE', 'ij'])
  })
})
