import { env, SELF } from 'cloudflare:test'
import { beforeEach, describe, expect, it } from 'vitest'
import { OVERRIDES_KEY, resetOverridesMemo } from '../../worker/overrides'

const ADMIN = { authorization: 'Bearer test-admin-token' }

const admin = (path: string, body?: unknown) =>
  SELF.fetch(`https://blog.example/__georoute${path}`, {
    method: 'POST',
    headers: { ...ADMIN, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })

/** Which origins are drained, as an isolate that has just started reads KV. */
async function drainedNow(): Promise<Record<string, boolean>> {
  resetOverridesMemo()
  const response = await SELF.fetch('https://blog.example/__georoute/status', { headers: ADMIN })
  const { origins } = (await response.json()) as { origins: { id: string; drained: boolean }[] }
  return Object.fromEntries(origins.map((o) => [o.id, o.drained]))
}

/** The purge generation stored in KV. */
async function storedGeneration(): Promise<number> {
  const stored = await env.HEALTH.get<{ purgeGeneration: number }>(OVERRIDES_KEY, 'json')
  return stored?.purgeGeneration ?? 0
}

beforeEach(async () => {
  const { keys } = await env.HEALTH.list()
  await Promise.all(keys.map((k) => env.HEALTH.delete(k.name)))
  resetOverridesMemo()
})

describe('concurrent admin calls', () => {
  it('keep every change when drain frankfurt, drain virginia and purge all arrive at once', async () => {
    const answers = await Promise.all([
      admin('/origins/frankfurt/drain'),
      admin('/origins/virginia/drain'),
      admin('/purge', { all: true }),
    ])
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200])
    expect(await drainedNow()).toEqual({ frankfurt: true, virginia: true, tokyo: false })
    expect(await storedGeneration()).toBeGreaterThan(0)
  })

  it('keep a drain that races an undrain of another origin', async () => {
    await admin('/origins/tokyo/drain')
    await Promise.all([admin('/origins/tokyo/undrain'), admin('/origins/frankfurt/drain')])
    expect(await drainedNow()).toEqual({ frankfurt: true, virginia: false, tokyo: false })
  })

  it('turn the cache over once per purge, even when purges race', async () => {
    await Promise.all([admin('/purge', { all: true }), admin('/purge', { all: true })])
    const first = await storedGeneration()
    expect(first).toBeGreaterThan(0)
    await admin('/purge', { all: true })
    expect(await storedGeneration()).toBeGreaterThan(first)
  })
})

describe('an overrides record written by the previous version', () => {
  beforeEach(async () => {
    const record = { drained: ['tokyo'], purgeGeneration: 7, updatedAt: '2026-12-01T00:00:00.000Z' }
    await env.HEALTH.put(OVERRIDES_KEY, JSON.stringify(record))
  })

  it('is honoured: its origins stay drained', async () => {
    expect(await drainedNow()).toEqual({ frankfurt: false, virginia: false, tokyo: true })
  })

  it('gives way to an undrain of one of its origins', async () => {
    expect((await admin('/origins/tokyo/undrain')).status).toBe(200)
    expect(await drainedNow()).toEqual({ frankfurt: false, virginia: false, tokyo: false })
  })

  it('keeps its generation, which the next purge all goes past', async () => {
    await admin('/origins/frankfurt/drain')
    expect(await storedGeneration()).toBe(7)
    await admin('/purge', { all: true })
    expect(await storedGeneration()).toBeGreaterThan(7)
    expect(await drainedNow()).toEqual({ frankfurt: true, virginia: false, tokyo: true })
  })
})
