import { describe, expect, it } from 'vitest'
import { type Georoute, withUncachedGeoroute } from './harness'
import { useDemoOrigins } from './origins'

// Readers in Paris: Frankfurt is their nearest origin, Virginia the next. They enter one of
// several data centers (`x-georoute-colo`, GEO_OVERRIDE is on), all played by one workerd.
const PARIS = '48.86,2.35'
const { byId, originsList } = useDemoOrigins()

function withGeoroute(
  settings: Record<string, unknown>,
  body: (g: Georoute) => Promise<void>,
  origins: unknown[] = originsList(),
) {
  return withUncachedGeoroute(origins, settings, body)
}

let page = 0

/** One read by a reader in Paris entering `colo`, to the end; resolves with the origin. */
async function read(g: Georoute, colo: string, geo = PARIS): Promise<string> {
  const response = await g.fetch(`/posts/${++page}`, { geo, headers: { 'x-georoute-colo': colo } })
  await response.arrayBuffer()
  expect(response.status).toBe(200)
  return response.headers.get('x-georoute-origin') ?? 'none'
}

/** Reads until `done` holds for `streak` answers in a row, at most `max` reads; returns all. */
async function readUntil(
  g: Georoute,
  colo: string,
  done: (origin: string) => boolean,
  { streak = 5, max = 80, pauseMs = 0 } = {},
): Promise<string[]> {
  const seen: string[] = []
  let run = 0
  while (seen.length < max && run < streak) {
    const origin = await read(g, colo)
    seen.push(origin)
    run = done(origin) ? run + 1 : 0
    if (pauseMs) await new Promise((resolve) => setTimeout(resolve, pauseMs))
  }
  return seen
}

const switches = (origins: readonly string[]) =>
  origins.filter((origin, i) => i > 0 && origin !== origins[i - 1]).length

/** Requests an origin received from readers entering `colo`. */
const fromColo = (id: string, colo: string) =>
  byId(id).requests.filter((r) => r.headers['x-georoute-colo'] === colo)

// No hedging: a slow origin then answers every request and is measured, not ejected, so what
// moves readers here is steering alone. Quick re-measuring keeps the tests short.
const STEERING = { routing: { hedge: false, exploreIntervalMs: 200 } }

describe('latency-aware steering, per data center', () => {
  it('moves the readers of a data center to a faster origin while their nearest is slow, and back', async () => {
    await withGeoroute(STEERING, async (g) => {
      expect(await readUntil(g, 'CDG', (o) => o === 'frankfurt')).toEqual(
        Array(5).fill('frankfurt'),
      )
      byId('frankfurt').setMode('slow')
      byId('frankfurt').setSlowMs(300)
      const moving = await readUntil(g, 'CDG', (o) => o === 'virginia', { max: 20 })
      expect(moving.slice(-5)).toEqual(Array(5).fill('virginia'))
      // Readers entering another data center measured nothing slow: still on the nearest.
      expect(await read(g, 'FRA')).toBe('frankfurt')

      byId('frankfurt').setMode('ok')
      const back = await readUntil(g, 'CDG', (o) => o === 'frankfurt', { pauseMs: 20, max: 200 })
      expect(back.slice(-5)).toEqual(Array(5).fill('frankfurt'))
    })
  })

  it("measures other origins with copies that carry none of the reader's credentials", async () => {
    await withGeoroute(STEERING, async (g) => {
      const served = new Map<string, string>()
      const credentials = { cookie: 'session=reader-1', authorization: 'Bearer reader-1' }
      const readAs = async () => {
        const path = `/posts/${++page}`
        const response = await g.fetch(path, {
          geo: PARIS,
          headers: { 'x-georoute-colo': 'ORY', ...credentials },
        })
        await response.arrayBuffer()
        served.set(path, response.headers.get('x-georoute-origin') ?? 'none')
      }
      // Frankfurt turns slow: steering measures Virginia, readers move, then Frankfurt is
      // measured again while they are away.
      byId('frankfurt').setMode('slow')
      byId('frankfurt').setSlowMs(300)
      for (let i = 0; i < 15; i++) await readAs()
      byId('frankfurt').setMode('ok')
      for (let i = 0; i < 15; i++) {
        await readAs()
        await new Promise((resolve) => setTimeout(resolve, 40))
      }
      await new Promise((resolve) => setTimeout(resolve, 500))
      const received = ['frankfurt', 'virginia'].flatMap((id) =>
        fromColo(id, 'ORY').map((r) => ({ id, ...r })),
      )
      // Without hedging or failures, a path that reached an origin other than the one that
      // answered the reader was a measurement copy.
      const copies = received.filter((r) => served.get(r.url) !== r.id)
      const own = received.filter((r) => served.get(r.url) === r.id)
      expect(copies.length).toBeGreaterThan(0)
      expect(own.every((r) => r.headers.cookie === credentials.cookie)).toBe(true)
      expect(copies.map((r) => [r.headers.cookie, r.headers.authorization])).toEqual(
        copies.map(() => [undefined, undefined]),
      )
    })
  })

  it('does not flap between two origins of equal latency with noise', async () => {
    // Frankfurt and Virginia both answer in 20-80 ms; Tokyo is out of the way.
    await withGeoroute(STEERING, async (g) => {
      // Readers first learn Virginia's latency while Frankfurt is slow, then both are alike.
      byId('frankfurt').setMode('slow')
      byId('frankfurt').setSlowMs(300)
      await readUntil(g, 'CDG', (o) => o === 'virginia', { max: 20 })
      for (const id of ['frankfurt', 'virginia']) {
        byId(id).setMode('slow')
        byId(id).setSlowMs(20)
        byId(id).setJitterMs(60)
      }
      await readUntil(g, 'CDG', (o) => o === 'frankfurt', { pauseMs: 20, max: 200 })
      const settled: string[] = []
      for (let i = 0; i < 40; i++) settled.push(await read(g, 'CDG'))
      expect(switches(settled)).toBeLessThanOrEqual(1)
    })
  })
})

describe('per-colo ejection', () => {
  it('leaves readers of other data centers on an origin that one data center cannot reach', async () => {
    await withGeoroute({}, async (g) => {
      byId('frankfurt').cutColos(['CDG'])
      // CDG's first request finds Frankfurt unreachable and is answered by Virginia.
      const cdg = [await read(g, 'CDG')]
      const detected = fromColo('frankfurt', 'CDG').length
      expect(detected).toBeGreaterThan(0)
      const fra: string[] = []
      for (let i = 0; i < 10; i++) {
        cdg.push(await read(g, 'CDG'))
        fra.push(await read(g, 'FRA'))
      }
      // CDG never tries Frankfurt again; FRA's readers keep it the whole time.
      expect(cdg).toEqual(Array(11).fill('virginia'))
      expect(fromColo('frankfurt', 'CDG')).toHaveLength(detected)
      expect(fra).toEqual(Array(10).fill('frankfurt'))
    })
  })
})

describe('readers as probes', () => {
  it('keeps the readers of a data center that reaches an origin fine on it when the probes say it is down', async () => {
    // Frankfurt's probe path fails (the probes see it down from wherever the cron runs), while
    // its pages serve readers well. Probe rounds 1 s apart; the snapshot read on every request.
    const origins = originsList().map((o) =>
      o.id === 'frankfurt' ? { ...o, probe: { path: '/status/503' } } : o,
    )
    const settings = {
      health: { intervalMs: 1_000, maxRounds: 2, minWriteIntervalMs: 0, memoTtlMs: 0 },
    }
    await withGeoroute(
      settings,
      async (g) => {
        // Readers entering CDG reach Frankfurt: recent local evidence.
        expect(await readUntil(g, 'CDG', (o) => o === 'frankfurt', { streak: 6 })).toHaveLength(6)
        const worker = await g.mf.getWorker()
        const run = await worker.scheduled({ scheduledTime: new Date(), cron: '* * * * *' })
        expect(run.outcome).toBe('ok')
        const kv = await g.mf.getKVNamespace('HEALTH')
        const snapshot = (await kv.get('georoute:health', 'json')) as {
          origins: Record<string, { healthy: boolean }>
        }
        expect(snapshot.origins.frankfurt?.healthy).toBe(false)
        // CDG keeps its readers on Frankfurt; AMS, which sent it nothing, follows the probes.
        for (let i = 0; i < 5; i++) expect(await read(g, 'CDG')).toBe('frankfurt')
        expect(await read(g, 'AMS')).toBe('virginia')
      },
      origins,
    )
  })
})
