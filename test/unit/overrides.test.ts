import { describe, expect, it } from 'vitest'
import { bumpPurgeGeneration, combineOverrides, NO_OVERRIDES } from '../../worker/overrides'

/** A KV namespace that always answers `georoute:overrides` as it was long ago (a stale read). */
function staleKv(purgeGeneration: number) {
  const written: unknown[] = []
  const kv = {
    get: async () => ({ drained: [], purgeGeneration, updatedAt: null }),
    put: async (_key: string, value: string) => {
      written.push(JSON.parse(value))
    },
  }
  return { kv: kv as unknown as KVNamespace, written }
}

describe('bumpPurgeGeneration', () => {
  const NOW = 1_800_000_000_000

  it('moves past every earlier purge even when it reads a stale generation', async () => {
    const { kv } = staleKv(3)
    const first = await bumpPurgeGeneration(kv, NOW)
    const second = await bumpPurgeGeneration(kv, NOW + 5)
    expect(first).toBeGreaterThan(3)
    expect(second).toBeGreaterThan(first)
  })

  it('goes one past a stored generation ahead of the clock', async () => {
    const { kv, written } = staleKv(NOW + 60_000)
    expect(await bumpPurgeGeneration(kv, NOW)).toBe(NOW + 60_001)
    expect(written).toEqual([expect.objectContaining({ purgeGeneration: NOW + 60_001 })])
  })
})

describe('combineOverrides', () => {
  const IDS = ['frankfurt', 'virginia', 'tokyo']
  const drain = (drained: boolean) => ({ drained, updatedAt: '2026-12-03T03:00:00.000Z' })

  it('honours the drained list of the previous version for origins without a drain key', () => {
    const old = { ...NO_OVERRIDES, drained: ['tokyo', 'gone'], purgeGeneration: 7 }
    expect(combineOverrides(old, new Map(), IDS)).toMatchObject({
      drained: ['tokyo'],
      purgeGeneration: 7,
    })
  })

  it('lets a drain key win over that list', () => {
    const old = { ...NO_OVERRIDES, drained: ['tokyo'] }
    const drains = new Map([
      ['tokyo', drain(false)],
      ['frankfurt', drain(true)],
    ])
    expect(combineOverrides(old, drains, IDS)).toMatchObject({
      drained: ['frankfurt'],
      updatedAt: '2026-12-03T03:00:00.000Z',
    })
  })
})
