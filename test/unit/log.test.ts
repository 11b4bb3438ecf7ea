import { afterEach, describe, expect, it, vi } from 'vitest'
import type { Env } from '../../worker/env'
import { type RequestRecord, recordRequest } from '../../worker/log'

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
