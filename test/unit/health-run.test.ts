import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { probePlan } from '../../worker/health/plan'
import type { Fetcher } from '../../worker/health/probe'
import { runHealthChecks } from '../../worker/health/scheduled'
import { HEALTH_KEY, type Snapshot } from '../../worker/health/snapshot'
import { isolatePositions } from '../../worker/positions'
import { configWith, fakeClock, fakeKv, fakeNetwork, laggingKv, THREE } from './health-fakes'

const T0 = Date.UTC(2026, 0, 1, 12)
const MINUTE = 60_000
const HOOK = 'https://hooks.example/services/T0/B0/secret'

let logged: ReturnType<typeof vi.spyOn>
beforeEach(() => {
  vi.spyOn(console, 'log').mockImplementation(() => {})
  logged = vi.spyOn(console, 'error').mockImplementation(() => {})
})
afterEach(() => {
  vi.restoreAllMocks()
})

const stored = (data: Map<string, string>) => JSON.parse(data.get(HEALTH_KEY)!) as Snapshot

/** Many origins, to push the subrequest budget. */
const many = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    id: `o${i}`,
    url: `https://o${i}.example`,
    lat: 0,
    lon: 0,
  }))

describe('a cron run', () => {
  it('probes every origin every 10 s across the minute, ending before the next run', async () => {
    const clock = fakeClock(T0)
    const starts: number[] = []
    // Each probe takes the whole default timeout (the slowest a round can be); a round's probes
    // run side by side.
    const fetcher: Fetcher = async () => {
      const start = clock.now()
      starts.push(start)
      await Promise.resolve()
      clock.set(Math.max(clock.now(), start + 8000))
      return new Response('ok')
    }
    const { kv } = fakeKv()
    await runHealthChecks(configWith(), T0, { kv, fetch: fetcher, ...clock })
    expect([...new Set(starts)].map((t) => (t - T0) / 1000)).toEqual([0, 10, 20, 30, 40])
    expect(starts).toHaveLength(15)
    expect(clock.now() - T0).toBeLessThan(MINUTE)
  })

  it('skips the slots a late start missed instead of probing back to back', async () => {
    // Started 27 s late: the slot at 20 s is long gone, the next are at 30 s and 40 s.
    const clock = fakeClock(T0 + 27_000)
    const net = fakeNetwork({})
    const report = await runHealthChecks(configWith(), T0, {
      kv: fakeKv().kv,
      fetch: net.fetcher,
      ...clock,
    })
    expect(report.rounds).toBe(2)
  })

  it('marks a dead origin down within one run and writes it to KV', async () => {
    const store = fakeKv()
    const net = fakeNetwork({ 'nrt.example': 'refused' })
    const report = await runHealthChecks(configWith(), T0, {
      kv: store.kv,
      fetch: net.fetcher,
      ...fakeClock(T0),
    })
    expect(report.writes).toEqual(['first', 'change'])
    expect(stored(store.data).origins.tokyo).toMatchObject({
      healthy: false,
      since: T0 + 10_000,
      reason: 'connect refused',
    })
  })

  it('marks an origin down and up again when each run has a single round', async () => {
    // Counts carry over only in written snapshots: with one round per run, fall and rise of 2
    // could never be reached, so thresholds are capped at the rounds of a run.
    const store = fakeKv()
    const config = configWith(THREE, { health: { maxRounds: 1, minWriteIntervalMs: 0 } })
    const down = fakeNetwork({ 'nrt.example': 503 })
    await runHealthChecks(config, T0, { kv: store.kv, fetch: down.fetcher, ...fakeClock(T0) })
    expect(stored(store.data).origins.tokyo?.healthy).toBe(false)
    const up = fakeNetwork({})
    await runHealthChecks(config, T0 + MINUTE, {
      kv: store.kv,
      fetch: up.fetcher,
      ...fakeClock(T0 + MINUTE),
    })
    expect(stored(store.data).origins.tokyo?.healthy).toBe(true)
  })

  it('writes nothing when nothing changed since the last write', async () => {
    const store = fakeKv()
    const deps = { kv: store.kv, fetch: fakeNetwork({}).fetcher }
    await runHealthChecks(configWith(), T0, { ...deps, ...fakeClock(T0) })
    const report = await runHealthChecks(configWith(), T0 + MINUTE, {
      ...deps,
      ...fakeClock(T0 + MINUTE),
    })
    expect(report.writes).toEqual([])
    expect(store.calls.put).toBe(1)
  })

  it('posts one webhook per state change, with a line for Slack and Discord', async () => {
    const net = fakeNetwork({ 'nrt.example': 503 })
    const report = await runHealthChecks(configWith(), T0, {
      kv: fakeKv().kv,
      fetch: net.fetcher,
      webhookUrl: HOOK,
      ...fakeClock(T0),
    })
    const posts = net.requests.filter((r) => r.method === 'POST')
    expect(report.webhooks).toBe(1)
    expect(posts.map((p) => p.url)).toEqual([HOOK])
    expect(JSON.parse(posts[0]!.body!)).toEqual({
      origin: 'tokyo',
      from: 'up',
      to: 'down',
      reason: 'status 503',
      at: new Date(T0 + 10_000).toISOString(),
      text: '🔴 georoute: origin tokyo is down (status 503)',
      content: '🔴 georoute: origin tokyo is down (status 503)',
    })
  })

  it('announces a recovery with how long the origin was down', async () => {
    const store = fakeKv()
    const net = fakeNetwork({ 'nrt.example': 'refused' })
    const config = configWith()
    await runHealthChecks(config, T0, { kv: store.kv, fetch: net.fetcher, ...fakeClock(T0) })
    net.behaviour['nrt.example'] = 'ok'
    const later = T0 + 5 * MINUTE
    await runHealthChecks(config, later, {
      kv: store.kv,
      fetch: net.fetcher,
      webhookUrl: HOOK,
      ...fakeClock(later),
    })
    const post = net.requests.find((r) => r.method === 'POST')
    expect(JSON.parse(post!.body!)).toMatchObject({
      from: 'down',
      to: 'up',
      reason: null,
      text: '🟢 georoute: origin tokyo is up again after 5 min down',
    })
  })

  it('keeps probing but writes nothing when KV cannot be read', async () => {
    const store = fakeKv()
    store.fail()
    const report = await runHealthChecks(configWith(), T0, {
      kv: store.kv,
      fetch: fakeNetwork({}).fetcher,
      ...fakeClock(T0),
    })
    expect(report.probes).toBe(15)
    expect(store.calls.put).toBe(0)
  })

  it('survives a failing KV write without retrying it every round', async () => {
    const store = fakeKv()
    const kv = { ...store.kv, get: store.kv.get, put: () => Promise.reject(new Error('429')) }
    const report = await runHealthChecks(configWith(), T0, {
      kv: kv as unknown as KVNamespace,
      fetch: fakeNetwork({ 'nrt.example': 'refused' }).fetcher,
      ...fakeClock(T0),
    })
    expect(report).toMatchObject({ rounds: 5, writes: [] })
    expect(report.subrequests).toBe(1 + 15 + 1)
  })
})

describe('the subrequest budget', () => {
  it.each([3, 8, 20])('keeps a run with %i origins within 45 subrequests', async (n) => {
    const config = configWith(many(n))
    const store = fakeKv()
    // Every origin fails: the most writes and webhooks a run can cause.
    const net = fakeNetwork(Object.fromEntries(many(n).map((o) => [`${o.id}.example`, 503])))
    const report = await runHealthChecks(config, T0, {
      kv: store.kv,
      fetch: net.fetcher,
      webhookUrl: HOOK,
      ...fakeClock(T0),
    })
    const used = net.requests.length + store.calls.get + store.calls.put
    expect(report.subrequests).toBe(used)
    expect(used).toBeLessThanOrEqual(45)
    expect(report.rounds).toBe(probePlan(config.origins, config.settings.health).rounds)
  })

  it('derives fewer rounds from more origins', () => {
    const rounds = [3, 8, 20].map((n) => {
      const config = configWith(many(n))
      return probePlan(config.origins, config.settings.health).rounds
    })
    expect(rounds).toEqual([5, 4, 1])
  })

  it('fits fewer rounds in the minute when probe timeouts are long', () => {
    const config = configWith(THREE.map((o) => ({ ...o, probe: { timeoutMs: 30_000 } })))
    expect(probePlan(config.origins, config.settings.health).rounds).toBe(3)
  })

  it('caps the rounds at maxRounds', () => {
    const config = configWith(THREE, { health: { maxRounds: 1 } })
    expect(probePlan(config.origins, config.settings.health)).toMatchObject({
      rounds: 1,
      probes: 3,
    })
  })

  it('probes nothing, and says so, when not one round fits', async () => {
    const config = configWith(many(50))
    const net = fakeNetwork({})
    const report = await runHealthChecks(config, T0, {
      kv: fakeKv().kv,
      fetch: net.fetcher,
      ...fakeClock(T0),
    })
    expect(report.probes).toBe(0)
    expect(net.requests).toHaveLength(0)
    expect(logged).toHaveBeenCalledWith(expect.stringContaining('budget too small'))
  })
})

// A day is 1,440 cron runs: about 2 s alone, several times that on a loaded 2-core machine.
describe('a simulated day of cron runs', { timeout: 30_000 }, () => {
  /** Runs the cron for a day, with tokyo flapping: two probes lost, two answered, over and over. */
  async function flappingDay(lagMs: number) {
    const clock = fakeClock(T0)
    const store = laggingKv(clock.now, lagMs)
    const fetcher: Fetcher = async (input) => {
      const flapping = String(input).includes('nrt.example') && (clock.now() / 20_000) % 2 < 1
      return new Response(null, { status: flapping ? 503 : 200 })
    }
    const config = configWith(THREE)
    for (let minute = 0; minute < 24 * 60; minute += 1) {
      const start = T0 + minute * MINUTE
      clock.set(start)
      await runHealthChecks(config, start, { kv: store.kv, fetch: fetcher, ...clock })
    }
    return store.calls.put
  }

  it('keeps an all-day flapping origin to one write per 4 min (plus the burst) when KV reads are fresh', async () => {
    expect(await flappingDay(0)).toBeLessThanOrEqual(360 + 10 + 1)
  })

  it('keeps it under 741 writes even when every read misses the last minute of writes', async () => {
    const writes = await flappingDay(60_000)
    expect(writes).toBeGreaterThan(360)
    expect(writes).toBeLessThanOrEqual(2 * (360 + 10) + 1)
  })

  it('costs about 150 KV writes when every origin stays up', async () => {
    const store = fakeKv()
    const net = fakeNetwork({})
    const config = configWith(THREE)
    for (let minute = 0; minute < 24 * 60; minute += 1) {
      const start = T0 + minute * MINUTE
      await runHealthChecks(config, start, {
        kv: store.kv,
        fetch: net.fetcher,
        ...fakeClock(start),
      })
    }
    expect(store.calls.put).toBeGreaterThan(100)
    expect(store.calls.put).toBeLessThanOrEqual(150)
    expect(store.calls.get).toBe(24 * 60)
  })
})

describe('build skew in a cron run', () => {
  /** Origins that state their build; `builds[host]` is switched by the test. */
  const building = (builds: Record<string, string>) => {
    const requests: { url: string; method: string; body?: string }[] = []
    const fetcher: Fetcher = async (input, init) => {
      const url = new URL(String(input instanceof Request ? input.url : input))
      const body = typeof init?.body === 'string' ? init.body : undefined
      requests.push({
        url: url.toString(),
        method: init?.method ?? 'GET',
        ...(body ? { body } : {}),
      })
      return new Response('ok', { headers: { 'x-build-id': builds[url.host] ?? 'a' } })
    }
    return { fetcher, requests, builds }
  }
  const settings = { health: { build: 'x-build-id', buildSkewAlertMinutes: 5 } }

  it('stores each origin build and the skew, and reports a skew that outlasts the alert once', async () => {
    const store = fakeKv()
    const net = building({ 'nrt.example': 'b' })
    const config = configWith(THREE, settings)
    const deps = { kv: store.kv, fetch: net.fetcher, webhookUrl: HOOK }
    await runHealthChecks(config, T0, { ...deps, ...fakeClock(T0) })
    expect(stored(store.data).origins.tokyo?.build).toBe('b')
    expect(stored(store.data).skew).toEqual({ since: T0, alerted: false })
    const skewPosts = () =>
      net.requests.filter((r) => r.method === 'POST').map((r) => JSON.parse(r.body!).event)
    expect(skewPosts()).toEqual([])
    for (let minute = 1; minute <= 7; minute += 1) {
      await runHealthChecks(config, T0 + minute * MINUTE, {
        ...deps,
        ...fakeClock(T0 + minute * MINUTE),
      })
    }
    expect(stored(store.data).skew).toEqual({ since: T0, alerted: true })
    expect(skewPosts()).toEqual(['build-skew'])
    // The deploy ends: one more report, and the skew is gone from the snapshot.
    net.builds['nrt.example'] = 'a'
    await runHealthChecks(config, T0 + 8 * MINUTE, { ...deps, ...fakeClock(T0 + 8 * MINUTE) })
    expect(stored(store.data).skew).toBeUndefined()
    expect(skewPosts()).toEqual(['build-skew', 'build-skew-over'])
  })

  it('writes nothing more while the builds stay as they are', async () => {
    const store = fakeKv()
    const net = building({})
    const config = configWith(THREE, settings)
    await runHealthChecks(config, T0, { kv: store.kv, fetch: net.fetcher, ...fakeClock(T0) })
    const writes = store.calls.put
    await runHealthChecks(config, T0 + MINUTE, {
      kv: store.kv,
      fetch: net.fetcher,
      ...fakeClock(T0 + MINUTE),
    })
    expect(store.calls.put).toBe(writes)
  })
})

describe('build skew after the setting is turned off', () => {
  it('drops the stored builds and the skew, without a skew webhook', async () => {
    const builds: Record<string, string> = { 'nrt.example': 'b' }
    const requests: { method: string; body?: string }[] = []
    const fetcher: Fetcher = async (input, init) => {
      const url = new URL(String(input instanceof Request ? input.url : input))
      const body = typeof init?.body === 'string' ? init.body : undefined
      requests.push({ method: init?.method ?? 'GET', ...(body ? { body } : {}) })
      return new Response('ok', { headers: { 'x-build-id': builds[url.host] ?? 'a' } })
    }
    const store = fakeKv()
    const on = configWith(THREE, { health: { build: 'x-build-id', buildSkewAlertMinutes: 5 } })
    await runHealthChecks(on, T0, { kv: store.kv, fetch: fetcher, ...fakeClock(T0) })
    expect(stored(store.data).skew).toBeDefined()
    const off = configWith(THREE, { health: { buildSkewAlertMinutes: 5 } })
    for (let minute = 1; minute <= 7; minute += 1) {
      const at = T0 + minute * MINUTE
      await runHealthChecks(off, at, {
        kv: store.kv,
        fetch: fetcher,
        webhookUrl: HOOK,
        ...fakeClock(at),
      })
    }
    expect(stored(store.data).skew).toBeUndefined()
    expect(stored(store.data).origins.tokyo?.build).toBeUndefined()
    expect(requests.filter((r) => r.method === 'POST')).toEqual([])
  })
})

describe('positions reported to the probes', () => {
  it('are recorded in the isolate that probed', async () => {
    isolatePositions.clear()
    const fetcher: Fetcher = async (input) => {
      const host = new URL(String(input instanceof Request ? input.url : input)).host
      return new Response('ok', {
        headers: { 'x-db-position': host === 'nrt.example' ? '41' : '42' },
      })
    }
    const config = configWith(THREE, { writes: { position: { header: 'x-db-position' } } })
    await runHealthChecks(config, T0, { kv: fakeKv().kv, fetch: fetcher, ...fakeClock(T0) })
    expect(isolatePositions.latest('tokyo')).toBe(41n)
    expect(isolatePositions.latest('frankfurt')).toBe(42n)
    isolatePositions.clear()
  })
})
