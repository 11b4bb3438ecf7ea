import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import {
  type ConsistencyOrigin,
  createDatabase,
  pageBuild,
  startConsistencyOrigin,
} from '../../scripts/lib/consistency-origin.mjs'
import { type Georoute, startGeoroute } from './harness'

// Readers placed near each origin (x-georoute-geo).
const NEAR = { frankfurt: '48.86,2.35', virginia: '40.71,-74.01', tokyo: '35.68,139.69' }
const PLACES = [
  { id: 'frankfurt', lat: 50.11, lon: 8.68, primary: true },
  { id: 'virginia', lat: 38.95, lon: -77.45 },
  { id: 'tokyo', lat: 35.68, lon: 139.69 },
] as const
const ADMIN = { authorization: 'Bearer admin-token' }

let origins: ConsistencyOrigin[] = []
let georoute: Georoute
const byId = (id: string) => origins.find((o) => o.id === id)!

/** A reader's cookies, kept between requests as a browser keeps them. */
class Jar {
  private cookies = new Map<string, string>()
  header(): Record<string, string> {
    const value = [...this.cookies].map(([name, v]) => `${name}=${v}`).join('; ')
    return value ? { cookie: value } : {}
  }
  take(response: { headers: { getSetCookie(): string[] } }): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair = '', ...attributes] = line.split(';')
      const eq = pair.indexOf('=')
      const name = pair.slice(0, eq).trim()
      if (attributes.some((a) => a.trim() === 'Max-Age=0')) this.cookies.delete(name)
      else this.cookies.set(name, pair.slice(eq + 1).trim())
    }
  }
  has(name: string): boolean {
    return this.cookies.has(name)
  }
}

/** One GET as `reader` at `geo`: status, body, who answered, cache status. */
async function get(path: string, geo: string, jar = new Jar()) {
  const response = await georoute.fetch(path, { geo, headers: jar.header() })
  const body = await response.text()
  jar.take(response)
  return {
    status: response.status,
    body,
    origin: response.headers.get('x-georoute-origin'),
    cache: response.headers.get('x-georoute-cache'),
  }
}

/** The asset the page names, and its answer. */
async function loadPage(path: string, geo: string, jar: Jar) {
  const page = await get(path, geo, jar)
  const asset = /src="([^"]+)"/.exec(page.body)?.[1]
  if (!asset) throw new Error(`no asset in ${page.body}`)
  return { page, asset }
}

const status = async () => {
  const response = await georoute.fetch('/__georoute/status')
  return (await response.json()) as {
    origins: { id: string; build: string | null; offBuild: boolean }[]
    builds: { expected: string | null; skew: { since: string; alert: boolean } | null } | null
  }
}

const probeNow = () => georoute.fetch('/__georoute/probe', { method: 'POST', headers: ADMIN })

beforeAll(async () => {
  const db = createDatabase()
  origins = await Promise.all(
    PLACES.map((p) =>
      startConsistencyOrigin({
        id: p.id,
        build: 'a1',
        db,
        primary: 'primary' in p,
        pageMaxAge: 60,
      }),
    ),
  )
  georoute = await startGeoroute({
    origins: PLACES.map((p) => ({ ...p, url: byId(p.id).url, probe: { path: '/db' } })),
    settings: {
      // No pacing of snapshot writes: the tests probe after every build switch.
      health: { build: 'x-build-id', buildSkewAlertMinutes: 15, minWriteIntervalMs: 0 },
      routing: { hedge: false },
    },
    bindings: { COOKIE_SECRET: 'cookie-secret-for-tests', ADMIN_TOKEN: 'admin-token' },
  })
})

afterAll(async () => {
  await georoute?.dispose()
  await Promise.all(origins.map((o) => o.close()))
})

// Every test starts with the whole fleet on one build, known to the Worker, and nothing expected.
let generation = 0
beforeEach(async () => {
  generation += 1
  for (const origin of origins) origin.setBuild(`b${generation}`)
  await georoute.fetch('/__georoute/build', { method: 'DELETE', headers: ADMIN })
  expect((await probeNow()).status).toBe(200)
  expect((await status()).builds?.skew).toBeNull()
})

describe('a rolling deploy', () => {
  it('gives readers 0 asset 404s while origins switch builds one by one', async () => {
    const from = `b${generation}`
    const to = `${from}-next`
    const order = ['tokyo', 'virginia', 'frankfurt'] as const
    const readers = Object.values(NEAR).map((geo) => ({ geo, jar: new Jar() }))
    let assets = 0
    const missing: string[] = []
    const sawSkew: boolean[] = []
    for (const [step, id] of order.entries()) {
      // Each reader loads a page and its asset; the origin nearest one of them switches builds
      // between the two (the race a rolling deploy creates). That reader goes first, so on the
      // first switch the old asset is in no cache yet.
      const first = readers.filter((r) => r.geo === NEAR[id])
      for (const [i, reader] of [
        ...first,
        ...readers.filter((r) => r.geo !== NEAR[id]),
      ].entries()) {
        const { asset } = await loadPage(`/posts/${id}-${i}`, reader.geo, reader.jar)
        if (reader.geo === NEAR[id]) byId(id).setBuild(to)
        const answer = await get(asset, reader.geo, reader.jar)
        assets += 1
        if (answer.status !== 200) missing.push(`${asset}: ${answer.status} from ${answer.origin}`)
      }
      // A reader whose page comes from the switched origin and whose asset request lands at an
      // edge nearest an origin still on the old build.
      const roaming = new Jar()
      const { asset } = await loadPage(`/posts/${id}-roaming`, NEAR[id], roaming)
      const elsewhere = NEAR[order[(step + 1) % order.length]!]
      const answer = await get(asset, elsewhere, roaming)
      assets += 1
      if (answer.status !== 200) missing.push(`${asset}: ${answer.status} from ${answer.origin}`)
      sawSkew.push((await status()).builds?.skew !== null)
    }
    expect(missing).toEqual([])
    expect(assets).toBe(12)
    // Skewed once the first and the second origin switched; over when the third has.
    expect(sawSkew).toEqual([true, true, false])
    await probeNow()
    const after = await status()
    expect(after.builds?.skew).toBeNull()
    expect(after.origins.map((o) => o.build)).toEqual([to, to, to])
  })

  it('asks an origin of the page build for an asset its own origin no longer has', async () => {
    const old = `b${generation}`
    const tokyoReader = new Jar()
    const { asset } = await loadPage('/posts/x', NEAR.tokyo, tokyoReader)
    expect(asset).toBe(`/assets/app.${old}.js`)
    byId('tokyo').setBuild(`${old}-new`)
    const answer = await get(asset, NEAR.tokyo, tokyoReader)
    expect(answer.status).toBe(200)
    expect(answer.origin).not.toBe('tokyo')
    // Tokyo was asked first and said 404: only then the origin of the other build.
    expect(byId('tokyo').requests.filter((r) => r.url === asset)).toHaveLength(1)
  })

  it('passes a 404 on while every origin runs the same build', async () => {
    const answer = await get('/assets/app.never-built.js', NEAR.tokyo)
    expect(answer.status).toBe(404)
    expect(
      origins.map((o) => o.requests.filter((r) => r.url.includes('never-built')).length),
    ).toEqual([0, 0, 1])
  })

  it('keeps a reader on the build of their page when their next request lands nearer another build', async () => {
    const old = `b${generation}`
    byId('frankfurt').setBuild(`${old}-new`)
    const reader = new Jar()
    const first = await get('/posts/paris', NEAR.frankfurt, reader)
    expect(pageBuild(first.body)).toBe(`${old}-new`)
    expect(reader.has('__georoute_build')).toBe(true)
    // The same reader, now nearest Virginia (old build): kept on Frankfurt's build.
    const next = await get('/posts/new-york', NEAR.virginia, reader)
    expect(pageBuild(next.body)).toBe(`${old}-new`)
    expect(next.origin).toBe('frankfurt')
    // A reader without the cookie is served by the nearest origin, as ever.
    const other = await get('/posts/new-york-2', NEAR.virginia)
    expect(other.origin).toBe('virginia')
  })

  it('does not serve a reader kept on one build a cached page of the other build', async () => {
    const old = `b${generation}`
    byId('frankfurt').setBuild(`${old}-new`)
    const traveller = new Jar()
    await get('/posts/a-page', NEAR.frankfurt, traveller)
    expect(traveller.has('__georoute_build')).toBe(true)
    // A Tokyo reader caches the shared page from Tokyo (old build).
    const cached = await get('/shared', NEAR.tokyo)
    expect(pageBuild(cached.body)).toBe(old)
    expect((await get('/shared', NEAR.tokyo)).cache).toBe('HIT')
    // The traveller, kept on the new build, asks for it in Tokyo.
    const theirs = await get('/shared', NEAR.tokyo, traveller)
    expect(pageBuild(theirs.body)).toBe(`${old}-new`)
    expect(theirs.cache).not.toBe('HIT')
  })

  it('clears the build cookie once every origin runs one build again', async () => {
    const old = `b${generation}`
    byId('frankfurt').setBuild(`${old}-new`)
    const reader = new Jar()
    await get('/posts/one', NEAR.frankfurt, reader)
    expect(reader.has('__georoute_build')).toBe(true)
    for (const o of origins) o.setBuild(`${old}-new`)
    await probeNow()
    await get('/posts/two', NEAR.frankfurt, reader)
    expect(reader.has('__georoute_build')).toBe(false)
  })
})

describe('the skew on the status page', () => {
  it('shows the skew on the page and in the JSON while builds differ, and ends there', async () => {
    const old = `b${generation}`
    byId('virginia').setBuild(`${old}-new`)
    await probeNow()
    const during = await status()
    expect(during.builds?.skew).toMatchObject({ alert: false })
    expect(during.origins.find((o) => o.id === 'virginia')?.build).toBe(`${old}-new`)
    const page = await (await georoute.fetch('/__georoute/')).text()
    expect(page).toContain('data-skew')
    expect(page).toContain('Origins run different builds')
    for (const o of origins) o.setBuild(`${old}-new`)
    await probeNow()
    expect((await status()).builds?.skew).toBeNull()
    expect(await (await georoute.fetch('/__georoute/')).text()).not.toContain('data-skew')
  })
})

describe('the expected build (admin API)', () => {
  it('demotes origins on another build until they catch up, and DELETE releases them', async () => {
    const old = `b${generation}`
    byId('tokyo').setBuild(`${old}-new`)
    await probeNow()
    const set = await georoute.fetch('/__georoute/build', {
      method: 'POST',
      headers: { ...ADMIN, 'content-type': 'application/json' },
      body: JSON.stringify({ expect: `${old}-new` }),
    })
    expect(set.status).toBe(200)
    // A reader in Paris is sent past Frankfurt (old build, demoted) to Tokyo.
    expect((await get('/posts/p1', NEAR.frankfurt)).origin).toBe('tokyo')
    expect((await status()).origins.find((o) => o.id === 'frankfurt')?.offBuild).toBe(true)
    // Frankfurt catches up: released.
    byId('frankfurt').setBuild(`${old}-new`)
    await probeNow()
    expect((await get('/posts/p2', NEAR.frankfurt)).origin).toBe('frankfurt')
    // Virginia is still on the old build: demoted until DELETE.
    expect((await get('/posts/p3', NEAR.virginia)).origin).not.toBe('virginia')
    const cleared = await georoute.fetch('/__georoute/build', { method: 'DELETE', headers: ADMIN })
    expect(cleared.status).toBe(200)
    expect((await get('/posts/p4', NEAR.virginia)).origin).toBe('virginia')
    expect((await status()).builds?.expected).toBeNull()
  })

  it.each([
    ['{}', 'expect'],
    ['{"expect": 5}', 'expect'],
    ['{"expect": "has space"}', 'expect'],
    ['{"expect": "x", "extra": 1}', 'extra'],
    ['not json', 'body'],
  ])('refuses the body %s with 400 naming %s', async (body, field) => {
    const response = await georoute.fetch('/__georoute/build', {
      method: 'POST',
      headers: { ...ADMIN, 'content-type': 'application/json' },
      body,
    })
    expect(response.status).toBe(400)
    expect(((await response.json()) as { error: string }).error).toMatch(new RegExp(`^${field}:`))
  })

  it('requires the admin token', async () => {
    const response = await georoute.fetch('/__georoute/build', {
      method: 'POST',
      body: JSON.stringify({ expect: 'x' }),
    })
    expect(response.status).toBe(401)
  })
})
