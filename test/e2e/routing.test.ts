import { afterAll, beforeAll, describe, expect, it } from 'vitest'
// @ts-expect-error plain ESM helper without types
import { DEMO_ORIGINS, originsList, startOrigins } from '../../scripts/lib/origin-server.mjs'
import { type Georoute, startGeoroute } from './harness'

let servers: { id: string; url: string; close(): Promise<void> }[]
let georoute: Georoute

beforeAll(async () => {
  servers = await startOrigins(DEMO_ORIGINS)
  georoute = await startGeoroute({ origins: originsList(servers, DEMO_ORIGINS) })
})

afterAll(async () => {
  await georoute?.dispose()
  await Promise.all(servers.map((s) => s.close()))
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
