import { createServer, type Server as HttpServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { startOrigin } from '../../scripts/lib/origin-server.mjs'
import { type Georoute, startGeoroute } from './harness'
import { useDemoOrigins } from './origins'

interface Snapshot {
  updatedAt: number
  origins: Record<string, { healthy: boolean; reason: string | null; latencyMs: number | null }>
}

// Two probe rounds 1 s apart per cron run (the defaults are five, 10 s apart), and no pacing
// between change writes, so consecutive runs can show a failure and its recovery.
const SETTINGS = { health: { intervalMs: 1000, maxRounds: 2, minWriteIntervalMs: 0 } }

const { servers, byId, originsList, replace } = useDemoOrigins()
let georoute: Georoute
let hook: HttpServer
const posts: { origin: string; from: string; to: string; reason: string | null; text: string }[] =
  []

const tokyo = () => byId('tokyo')

/** Runs the Worker's `scheduled` handler as the cron would, and waits for it to finish. */
async function cron() {
  const worker = await georoute.mf.getWorker()
  const result = await worker.scheduled({ scheduledTime: new Date(), cron: '* * * * *' })
  expect(result.outcome).toBe('ok')
}

async function snapshot(): Promise<Snapshot> {
  const kv = await georoute.mf.getKVNamespace('HEALTH')
  return (await kv.get('georoute:health', 'json')) as Snapshot
}

beforeAll(async () => {
  hook = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk) => {
      body += chunk
    })
    req.on('end', () => {
      posts.push(JSON.parse(body))
      res.end('ok')
    })
  })
  await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve))
  const { port } = hook.address() as AddressInfo
  // A short probe timeout, so a hung origin is called out in half a second.
  const origins = originsList().map((o) => ({
    ...o,
    probe: { ...o.probe, timeoutMs: 500 },
  }))
  georoute = await startGeoroute({
    origins,
    settings: SETTINGS,
    bindings: { HEALTH_WEBHOOK_URL: `http://127.0.0.1:${port}/hook` },
  })
})

// Each test starts from every origin up and written so, with no webhook post yet.
beforeEach(async () => {
  for (const s of servers()) s.setMode('ok')
  await cron()
  posts.length = 0
})

afterAll(async () => {
  await georoute?.dispose()
  await new Promise((resolve) => hook?.close(resolve))
})

describe('active health probes against real origins', () => {
  it('writes every origin healthy, with its probe latency', async () => {
    const { origins } = await snapshot()
    expect(Object.keys(origins).sort()).toEqual(['frankfurt', 'tokyo', 'virginia'])
    for (const state of Object.values(origins)) {
      expect(state.healthy).toBe(true)
      expect(state.latencyMs).toBeGreaterThanOrEqual(0)
    }
  })

  it('marks an origin that answers 503 down within one run, and posts the change', async () => {
    tokyo().setMode('error503')
    await cron()
    expect((await snapshot()).origins.tokyo).toMatchObject({ healthy: false, reason: 'status 503' })
    expect(posts).toEqual([
      expect.objectContaining({ origin: 'tokyo', from: 'up', to: 'down', reason: 'status 503' }),
    ])
    expect(posts[0]?.text).toContain('tokyo')
  })

  it('marks an origin that hangs down with reason "timeout"', async () => {
    tokyo().setMode('hang')
    await cron()
    expect((await snapshot()).origins.tokyo).toMatchObject({ healthy: false, reason: 'timeout' })
  })

  it('brings a dead origin back once it listens again on its port', async () => {
    const { port } = tokyo()
    await tokyo().close()
    await cron()
    expect((await snapshot()).origins.tokyo).toMatchObject({
      healthy: false,
      reason: 'connect error',
    })
    replace(await startOrigin({ id: 'tokyo', region: 'Tokyo', port }))
    await cron()
    expect((await snapshot()).origins.tokyo).toMatchObject({ healthy: true, reason: null })
    expect(posts.map((p) => `${p.origin} ${p.to}`)).toEqual(['tokyo down', 'tokyo up'])
  })
})
