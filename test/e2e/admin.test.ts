import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Georoute, startGeoroute } from './harness'
import { useDemoOrigins } from './origins'

const TOKEN = 'a-long-admin-token'
const admin = { authorization: `Bearer ${TOKEN}` }
const { byId, originsList } = useDemoOrigins()
let georoute: Georoute

beforeAll(async () => {
  georoute = await startGeoroute({
    origins: originsList(),
    settings: { health: { minWriteIntervalMs: 0 } },
    bindings: { ADMIN_TOKEN: TOKEN },
  })
})

afterAll(async () => {
  await georoute?.dispose()
})

async function status(headers: Record<string, string> = {}) {
  const response = await georoute.fetch('/__georoute/status', { headers })
  expect(response.status).toBe(200)
  return (await response.json()) as {
    origins: { id: string; healthy: boolean; drained: boolean; reason: string | null }[]
  }
}
const originIn = async (id: string, headers?: Record<string, string>) =>
  (await status(headers)).origins.find((o) => o.id === id)!

describe('admin authentication', () => {
  it('answers 401 without a token', async () => {
    const response = await georoute.fetch('/__georoute/origins/tokyo/drain', { method: 'POST' })
    expect(response.status).toBe(401)
    expect(response.headers.get('www-authenticate')).toContain('Bearer')
  })

  it('answers 403 with a wrong token', async () => {
    const response = await georoute.fetch('/__georoute/origins/tokyo/drain', {
      method: 'POST',
      headers: { authorization: 'Bearer not-the-token' },
    })
    expect(response.status).toBe(403)
    expect((await originIn('tokyo')).drained).toBe(false)
  })

  it('is disabled while ADMIN_TOKEN is unset, whatever the request carries', async () => {
    const open = await startGeoroute({ origins: originsList() })
    try {
      for (const authorization of ['Bearer ', 'Bearer undefined', 'Bearer null']) {
        const response = await open.fetch('/__georoute/origins/tokyo/drain', {
          method: 'POST',
          headers: { authorization },
        })
        expect(response.status).toBe(403)
        expect(await response.text()).toContain('disabled')
      }
    } finally {
      await open.dispose()
    }
  })

  it('answers 404 for an origin that is not configured', async () => {
    const response = await georoute.fetch('/__georoute/origins/mars/drain', {
      method: 'POST',
      headers: admin,
    })
    expect(response.status).toBe(404)
  })
})

describe('drain', () => {
  it('takes an origin out of rotation and puts it back', async () => {
    const drained = await georoute.fetch('/__georoute/origins/tokyo/drain', {
      method: 'POST',
      headers: admin,
    })
    expect(drained.status).toBe(200)
    expect((await originIn('tokyo')).drained).toBe(true)
    byId('tokyo').clearLog()
    const away = await georoute.fetch('/echo', { geo: '35.68,139.69' })
    expect(away.headers.get('x-georoute-origin')).not.toBe('tokyo')
    expect(byId('tokyo').requests).toHaveLength(0)

    await georoute.fetch('/__georoute/origins/tokyo/undrain', { method: 'POST', headers: admin })
    expect((await originIn('tokyo')).drained).toBe(false)
    const back = await georoute.fetch('/echo', { geo: '35.68,139.69' })
    expect(back.headers.get('x-georoute-origin')).toBe('tokyo')
  })
})

describe('concurrent admin calls', () => {
  const post = (path: string, body?: unknown) =>
    georoute.fetch(`/__georoute${path}`, {
      method: 'POST',
      headers: { ...admin, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })

  it('keep every change when two drains and a purge all arrive at once', async () => {
    const kv = await georoute.mf.getKVNamespace('HEALTH')
    const generation = async () =>
      ((await kv.get('georoute:overrides', 'json')) as { purgeGeneration?: number } | null)
        ?.purgeGeneration ?? 0
    const before = await generation()
    try {
      const answers = await Promise.all([
        post('/origins/frankfurt/drain'),
        post('/origins/virginia/drain'),
        post('/purge', { all: true }),
      ])
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200])
      // What every other isolate reads once KV has the writes (docs/STORAGE.md).
      expect(await kv.get('georoute:drain:frankfurt', 'json')).toMatchObject({ drained: true })
      expect(await kv.get('georoute:drain:virginia', 'json')).toMatchObject({ drained: true })
      expect(await generation()).toBeGreaterThan(before)
    } finally {
      await post('/origins/frankfurt/undrain')
      await post('/origins/virginia/undrain')
    }
    expect((await originIn('frankfurt')).drained).toBe(false)
  })
})

describe('probe now', () => {
  it('marks an origin down on a failed probe, moves its readers away, and back on success', async () => {
    byId('tokyo').setMode('error503')
    try {
      const probe = await georoute.fetch('/__georoute/probe', { method: 'POST', headers: admin })
      expect(probe.status).toBe(200)
      const tokyo = await originIn('tokyo', admin)
      expect(tokyo.healthy).toBe(false)
      expect(tokyo.reason).toBe('status 503')
      // Without the token the reason stays private.
      expect((await originIn('tokyo')).reason).toBeNull()
      byId('tokyo').clearLog()
      const away = await georoute.fetch('/echo', { geo: '35.68,139.69' })
      expect(away.status).toBe(200)
      expect(byId('tokyo').requests).toHaveLength(0)
    } finally {
      byId('tokyo').setMode('ok')
    }
    await georoute.fetch('/__georoute/probe', { method: 'POST', headers: admin })
    expect((await originIn('tokyo', admin)).healthy).toBe(true)
  })
})
