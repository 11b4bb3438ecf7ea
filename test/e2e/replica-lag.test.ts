import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type ConsistencyOrigin,
  createDatabase,
  positionOf,
  startConsistencyOrigin,
} from '../../scripts/lib/consistency-origin.mjs'
import { type Georoute, startGeoroute } from './harness'

const TOKYO = '35.68,139.69'
const KIND = 'pg-lsn' as const
/** How far Tokyo's replica lags the primary's writes (Virginia's lags a quarter of it). */
const LAG_MS = 600
const PLACES = [
  { id: 'frankfurt', lat: 50.11, lon: 8.68, primary: true, lagMs: 0 },
  { id: 'virginia', lat: 38.95, lon: -77.45, lagMs: LAG_MS / 4 },
  { id: 'tokyo', lat: 35.68, lon: 139.69, lagMs: LAG_MS },
] as const
const SECRET = { COOKIE_SECRET: 'cookie-secret-for-tests' }

let origins: ConsistencyOrigin[] = []
/** With `writes.position`: reads follow the replicas' positions. */
let byPosition: Georoute
/** Without: today's time window, every pinned read on the primary. */
let byWindow: Georoute
const byId = (id: string) => origins.find((o) => o.id === id)!
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

beforeAll(async () => {
  const db = createDatabase()
  origins = await Promise.all(
    PLACES.map((p) =>
      startConsistencyOrigin({
        id: p.id,
        build: 'b1',
        db,
        primary: 'primary' in p,
        lagMs: p.lagMs,
        positionKind: KIND,
      }),
    ),
  )
  const list = PLACES.map(({ lagMs: _, ...p }) => ({ ...p, url: byId(p.id).url }))
  const writes = { pinSeconds: 30 }
  byPosition = await startGeoroute({
    origins: list,
    settings: { writes: { ...writes, position: { header: 'x-db-position', kind: KIND } } },
    bindings: SECRET,
  })
  byWindow = await startGeoroute({ origins: list, settings: { writes }, bindings: SECRET })
})

afterAll(async () => {
  await byPosition?.dispose()
  await byWindow?.dispose()
  await Promise.all(origins.map((o) => o.close()))
})

/** A comment from a reader in Tokyo: its position, and the pin cookie to send back. */
async function write(g: Georoute) {
  const response = await g.fetch('/comments', { method: 'POST', body: 'hi', geo: TOKYO })
  await response.arrayBuffer()
  expect(response.status).toBe(201)
  const pin = (response.headers.get('set-cookie') ?? '').split(';')[0]!
  return { position: positionOf(response.headers.get('x-db-position'), KIND)!, pin }
}

/** A read of the database as a reader in Tokyo: the position it reflects, and who served it. */
async function read(g: Georoute, cookie?: string) {
  const response = await g.fetch('/db', { geo: TOKYO, headers: cookie ? { cookie } : {} })
  const body = (await response.json()) as { origin: string; position: string }
  return { position: positionOf(body.position, KIND)!, origin: body.origin }
}

/**
 * A reader in Tokyo who writes once, then reads every `everyMs` for `reads` reads, while another
 * reader in Tokyo (no cookie) reads too: how many pinned reads were older than the write, and
 * how many the primary served.
 */
async function writeThenRead(g: Georoute, reads: number, everyMs: number) {
  const { position, pin } = await write(g)
  let stale = 0
  let primary = 0
  for (let i = 0; i < reads; i += 1) {
    const [mine] = await Promise.all([read(g, pin), read(g)])
    if (mine.position < position) stale += 1
    if (mine.origin === 'frankfurt') primary += 1
    await sleep(everyMs)
  }
  return { stale, primary, reads }
}

describe('read-your-writes by replication position', () => {
  it('signs the primary’s position into the pin', async () => {
    const response = await byPosition.fetch('/comments', { method: 'POST', body: 'x', geo: TOKYO })
    await response.arrayBuffer()
    const lsn = response.headers.get('x-db-position')!
    expect(lsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/)
    expect(response.headers.get('set-cookie')).toMatch(
      new RegExp(`^__georoute_pin=\\d+~${lsn.replace('/', '\\/')}\\.[\\w-]+;`),
    )
  })

  it('never serves a reader who writes and reads at once older than their write', async () => {
    let stale = 0
    for (let i = 0; i < 8; i += 1) {
      const { position, pin } = await write(byPosition)
      const [mine] = await Promise.all([read(byPosition, pin), read(byPosition)])
      if (mine.position < position) stale += 1
    }
    expect(stale).toBe(0)
  })

  it('serves the pinned read from the nearest origin once it has caught up, with the position it needs', async () => {
    const { position, pin } = await write(byPosition)
    // Tokyo has not caught up: the read goes to the primary.
    const early = await read(byPosition, pin)
    expect(early.origin).toBe('frankfurt')
    expect(early.position).toBeGreaterThanOrEqual(position)
    await sleep(LAG_MS + 100)
    // Another reader's read tells this edge where Tokyo's replica is now.
    expect((await read(byPosition)).origin).toBe('tokyo')
    byId('tokyo').requests.length = 0
    const late = await read(byPosition, pin)
    expect(late.origin).toBe('tokyo')
    expect(late.position).toBeGreaterThanOrEqual(position)
    const lsn = decodeURIComponent(pin.split('=')[1]!).split('~')[1]!.split('.')[0]
    expect(byId('tokyo').requests.at(-1)?.minPosition).toBe(lsn)
  })

  it('passes no x-georoute-min-position a reader sent themselves', async () => {
    byId('tokyo').requests.length = 0
    const response = await byPosition.fetch('/db', {
      geo: TOKYO,
      headers: { 'x-georoute-min-position': 'FFFFFFFF/0' },
    })
    await response.arrayBuffer()
    expect(byId('tokyo').requests.at(-1)?.minPosition).toBeUndefined()
  })

  it('ignores a pin whose position was edited', async () => {
    const { pin } = await write(byPosition)
    const edited = pin.replace(/~[0-9A-F]+\/[0-9A-F]+\./, '~0/0.')
    expect(edited).not.toBe(pin)
    // Not pinned at all: served by Tokyo as any reader, not kept on the primary.
    expect((await read(byPosition, edited)).origin).toBe('tokyo')
  })

  it('sends far fewer pinned reads to the primary than the time window, with no stale read', async () => {
    const reads = 12
    const everyMs = 100
    const position = await writeThenRead(byPosition, reads, everyMs)
    const window = await writeThenRead(byWindow, reads, everyMs)
    console.log(
      `pinned reads served by the primary over ${reads * everyMs} ms after a write, Tokyo ${LAG_MS} ms behind: ` +
        `by position ${position.primary}/${reads}, by time window ${window.primary}/${reads}; ` +
        `stale reads ${position.stale} and ${window.stale}`,
    )
    expect(position.stale).toBe(0)
    expect(window.stale).toBe(0)
    expect(window.primary).toBe(reads)
    expect(position.primary).toBeLessThan(reads)
  })
})
