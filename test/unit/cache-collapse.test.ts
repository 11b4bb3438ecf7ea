import { afterEach, describe, expect, it } from 'vitest'
import {
  clearFlights,
  flightFor,
  flightsNow,
  type Landing,
  MAX_FLIGHT_MS,
  mayLead,
  mayWait,
  takeOff,
  waitFor,
} from '../../worker/cache/collapse'

afterEach(() => clearFlights())

const STORED: Landing = { kind: 'stored' }

describe('which misses collapse', () => {
  it('never lets a request with Authorization wait or lead', () => {
    const headers = new Headers({ authorization: 'Bearer x' })
    expect([mayWait(headers), mayLead(headers)]).toEqual([false, false])
  })

  it('lets a reader with no-store wait but not lead (its fill would store nothing)', () => {
    const headers = new Headers({ 'cache-control': 'no-store' })
    expect([mayWait(headers), mayLead(headers)]).toEqual([true, false])
  })

  it('lets a plain reader wait and lead', () => {
    expect([mayWait(new Headers()), mayLead(new Headers())]).toEqual([true, true])
  })
})

describe('flights', () => {
  it('keeps one flight per key until it lands', async () => {
    let land: (landing: Landing) => void = () => {}
    const first = new Promise<Landing>((resolve) => {
      land = resolve
    })
    expect(takeOff('k', first, 0)).toBe(true)
    expect(takeOff('k', Promise.resolve(STORED), 1)).toBe(false)
    expect(flightFor('k', 1)).toBe(first)
    land(STORED)
    await first
    await Promise.resolve()
    expect(flightsNow()).toBe(0)
  })

  it('forgets a flight that failed', async () => {
    const failed = Promise.reject(new Error('boom'))
    takeOff('k', failed, 0)
    await failed.catch(() => {})
    await Promise.resolve()
    expect(flightFor('k', 1)).toBeUndefined()
  })

  it('stops holding misses up with a flight that never landed after MAX_FLIGHT_MS', () => {
    takeOff('k', new Promise<Landing>(() => {}), 0)
    expect(flightFor('k', MAX_FLIGHT_MS)).toBeDefined()
    expect(flightFor('k', MAX_FLIGHT_MS + 1)).toBeUndefined()
    expect(takeOff('k', Promise.resolve(STORED), MAX_FLIGHT_MS + 1)).toBe(true)
  })

  it('stops waiting after maxWaitMs', async () => {
    const never = new Promise<Landing>(() => {})
    const started = Date.now()
    expect(await waitFor(never, 30)).toEqual({ kind: 'late' })
    expect(Date.now() - started).toBeLessThan(1000)
  })

  it('answers how the flight landed when it lands in time', async () => {
    expect(await waitFor(Promise.resolve(STORED), 1000)).toEqual(STORED)
  })
})
