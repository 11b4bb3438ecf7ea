import { afterEach, describe, expect, it, vi } from 'vitest'
import type { Env } from '../../worker/env'
import { logLine, type RequestRecord, recordRequest } from '../../worker/log'

const RECORD: RequestRecord = {
  method: 'GET',
  path: '/posts/a',
  status: 503,
  origin: 'tokyo',
  attempts: 2,
  cache: 'MISS',
  colo: 'NRT',
  country: 'JP',
  totalMs: 40,
  originMs: 35,
  cacheMs: 1,
}

afterEach(() => vi.restoreAllMocks())

describe('recordRequest', () => {
  it('writes the log line only when asked, and the data point either way', () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {})
    const writeDataPoint = vi.fn()
    recordRequest({ ANALYTICS: { writeDataPoint } } as unknown as Env, false, RECORD)
    expect(log).not.toHaveBeenCalled()
    expect(writeDataPoint).toHaveBeenCalledTimes(1)
  })

  it('writes one Analytics Engine data point indexed by origin', () => {
    vi.spyOn(console, 'log').mockImplementation(() => {})
    const writeDataPoint = vi.fn()
    recordRequest({ ANALYTICS: { writeDataPoint } } as unknown as Env, true, RECORD)
    expect(writeDataPoint).toHaveBeenCalledWith({
      blobs: ['tokyo', 'NRT', 'MISS', '5xx'],
      doubles: [40, 503, 35],
      indexes: ['tokyo'],
    })
  })

  it('never fails the request when Analytics Engine throws', () => {
    vi.spyOn(console, 'log').mockImplementation(() => {})
    const error = vi.spyOn(console, 'error').mockImplementation(() => {})
    const writeDataPoint = () => {
      throw new Error('limit')
    }
    expect(() =>
      recordRequest({ ANALYTICS: { writeDataPoint } } as unknown as Env, true, RECORD),
    ).not.toThrow()
    expect(error).toHaveBeenCalled()
  })
})

describe('logLine', () => {
  const asJson = (record: RequestRecord) => JSON.stringify({ message: 'request', ...record })

  it('is the JSON of the record, field for field and in order', () => {
    expect(logLine(RECORD)).toBe(asJson(RECORD))
    const none = { ...RECORD, origin: null, colo: null, country: null, attempts: 0 }
    expect(logLine(none)).toBe(asJson(none))
  })

  it('escapes what the reader controls and lists failures', () => {
    const record: RequestRecord = {
      ...RECORD,
      method: 'PO"ST',
      path: '/a"b\\c\n\u0001\u2028é',
      failures: ['frankfurt: connect error [Error: "lost"] (2 ms)', 'virginia: timeout (10 ms)'],
    }
    expect(logLine(record)).toBe(asJson(record))
    expect(JSON.parse(logLine(record))).toEqual({ message: 'request', ...record })
  })

  it('writes a number JSON cannot hold as null, as JSON.stringify does', () => {
    const record = { ...RECORD, totalMs: Number.NaN, originMs: Number.POSITIVE_INFINITY }
    expect(logLine(record)).toBe(asJson(record))
  })
})
