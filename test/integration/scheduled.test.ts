import { createScheduledController, env, fetchMock } from 'cloudflare:test'
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { HEALTH_KEY, type Snapshot } from '../../worker/health/snapshot'
import worker from '../../worker/index'

const ORIGINS = [
  {
    id: 'frankfurt',
    url: 'https://fra.example',
    lat: 50.11,
    lon: 8.68,
    probe: { path: '/healthz' },
  },
  { id: 'tokyo', url: 'https://nrt.example', lat: 35.68, lon: 139.69, probe: { path: '/healthz' } },
]
// Two rounds 1 s apart per run (instead of five, 10 s apart), and no pacing between change
// writes, so a test sees a change and its recovery in consecutive runs.
const SETTINGS = { health: { intervalMs: 1000, maxRounds: 2, minWriteIntervalMs: 0 } }
const HOOK = { origin: 'https://hooks.example', path: '/services/T0/B0/secret' }

/** Fires the Worker's `scheduled` handler as the cron would, now. */
async function cron(vars: Record<string, string> = {}) {
  const controller = createScheduledController({ scheduledTime: Date.now(), cron: '* * * * *' })
  // The handler's promise settles when the run is over: it uses no waitUntil.
  await worker.scheduled(controller, {
    ...env,
    ORIGINS: JSON.stringify(ORIGINS),
    SETTINGS: JSON.stringify(SETTINGS),
    ...vars,
  })
}

async function stored(): Promise<Snapshot> {
  return JSON.parse((await env.HEALTH.get(HEALTH_KEY))!) as Snapshot
}

function origin(host: string, status: number, times = 2) {
  fetchMock.get(host).intercept({ path: '/healthz' }).reply(status, 'ok').times(times)
}

beforeAll(() => {
  fetchMock.activate()
  fetchMock.disableNetConnect()
})
let logged: ReturnType<typeof vi.spyOn>
beforeEach(() => {
  vi.spyOn(console, 'log').mockImplementation(() => {})
  logged = vi.spyOn(console, 'error').mockImplementation(() => {})
})
afterEach(() => {
  vi.restoreAllMocks()
  fetchMock.assertNoPendingInterceptors()
})

describe('the scheduled handler', () => {
  it('probes every origin and writes the first snapshot to KV', async () => {
    origin('https://fra.example', 200)
    origin('https://nrt.example', 200)
    const before = Date.now()
    await cron()
    const snapshot = await stored()
    expect(snapshot.updatedAt).toBeGreaterThanOrEqual(before)
    // Written after the first round; the second changed nothing, so it was not written.
    expect(snapshot.origins.frankfurt).toMatchObject({ healthy: true, successes: 1, status: 200 })
    expect(snapshot.origins.tokyo?.lastCheck).toBeGreaterThanOrEqual(before)
  })

  it('marks an origin down after two failed probes and tells the webhook', async () => {
    origin('https://fra.example', 200)
    origin('https://nrt.example', 503)
    let posted: unknown
    fetchMock
      .get(HOOK.origin)
      .intercept({
        path: HOOK.path,
        method: 'POST',
        body: (body) => {
          posted = JSON.parse(body)
          return true
        },
      })
      .reply(200, 'ok')
    await cron({ HEALTH_WEBHOOK_URL: `${HOOK.origin}${HOOK.path}` })
    expect((await stored()).origins.tokyo).toMatchObject({ healthy: false, reason: 'status 503' })
    expect(posted).toMatchObject({
      origin: 'tokyo',
      from: 'up',
      to: 'down',
      text: expect.stringContaining('tokyo is down (status 503)'),
    })
  })

  it('brings the origin back in the next run once it answers again', async () => {
    origin('https://fra.example', 200, 4)
    origin('https://nrt.example', 503)
    await cron()
    origin('https://nrt.example', 200)
    await cron()
    expect((await stored()).origins.tokyo).toMatchObject({ healthy: true, reason: null })
  })

  it('replaces a corrupt snapshot instead of failing', async () => {
    await env.HEALTH.put(HEALTH_KEY, 'not json {')
    origin('https://fra.example', 200)
    origin('https://nrt.example', 200)
    await cron()
    expect((await stored()).version).toBe(1)
  })

  it('logs an invalid configuration and probes nothing', async () => {
    await cron({ ORIGINS: '[{"id":"Bad"}]' })
    expect(await env.HEALTH.get(HEALTH_KEY)).toBeNull()
    expect(logged).toHaveBeenCalledWith(expect.stringContaining('invalid configuration'))
  })
})
