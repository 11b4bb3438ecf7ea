import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Georoute, startGeoroute } from './harness'
import { useDemoOrigins } from './origins'

const { originsList } = useDemoOrigins()
let georoute: Georoute

beforeAll(async () => {
  georoute = await startGeoroute({ origins: originsList() })
})

afterAll(async () => {
  await georoute?.dispose()
})

describe('routing through real origins', () => {
  it.each([
    ['Paris', '48.86,2.35', 'frankfurt'],
    ['New York', '40.71,-74.01', 'virginia'],
    ['Tokyo', '35.68,139.69', 'tokyo'],
  ])('sends a reader in %s to %s', async (_city, geo, expected) => {
    const response = await georoute.fetch('/', { geo })
    expect(response.status).toBe(200)
    expect(response.headers.get('x-georoute-origin')).toBe(expected)
    expect(await response.text()).toContain(
      `Served from ${expected === 'virginia' ? 'Virginia' : expected === 'tokyo' ? 'Tokyo' : 'Frankfurt'}`,
    )
  })
})
