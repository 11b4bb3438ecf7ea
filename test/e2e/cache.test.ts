import { createServer, type Server as HttpServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Mode } from '../../scripts/lib/origin-server.mjs'
import { type Georoute, startGeoroute } from './harness'
import { useDemoOrigins } from './origins'

const PARIS = '48.86,2.35'
const TOKEN = 'e2e-admin-token'
const { servers, originsList } = useDemoOrigins()
const all = (mode: Mode) => {
  for (const s of servers()) s.setMode(mode)
}
const asked = (path: string) =>
  servers()
    .flatMap((s) => s.requests)
    .filter((r) => new URL(r.url, 'http://x').pathname === path)

async function read(georoute: Georoute, path: string) {
  const response = await georoute.fetch(path, { geo: PARIS })
  const body = await response.text()
  return { response, body, cache: response.headers.get('x-georoute-cache') }
}

describe('the edge cache in front of real origins', () => {
  let georoute: Georoute

  beforeAll(async () => {
    georoute = await startGeoroute({
      origins: originsList(),
      // The blog owner prefers a stale page to an error, even for its no-cache home page.
      settings: { cache: { staleIfErrorOverridesOrigin: true } },
      bindings: { ADMIN_TOKEN: TOKEN },
    })
  })

  afterAll(async () => {
    await georoute?.dispose()
  })

  it('answers the second read of a post from the edge (MISS, then HIT)', async () => {
    const first = await read(georoute, '/posts/cached')
    const second = await read(georoute, '/posts/cached')
    expect([first.cache, second.cache]).toEqual(['MISS', 'HIT'])
    expect(second.body).toBe(first.body)
    expect(second.response.headers.get('x-georoute-origin')).toBe('frankfurt')
    expect(asked('/posts/cached')).toHaveLength(1)
  })

  it('answers hot reads from memory until a purge, then asks the origin again', async () => {
    const path = '/posts/purged'
    const reads = [
      await read(georoute, path),
      await read(georoute, path),
      await read(georoute, path),
    ]
    expect(reads.map((r) => r.cache)).toEqual(['MISS', 'HIT', 'HIT'])
    const purged = await georoute.fetch('/__georoute/purge', {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ urls: [path] }),
    })
    expect(purged.status).toBe(200)
    await purged.arrayBuffer()
    const after = await read(georoute, path)
    expect([after.cache, after.body]).toEqual(['MISS', reads[0]?.body])
    expect(asked(path)).toHaveLength(2)
  })

  it('revalidates the no-cache home page with its ETag (REVALIDATED)', async () => {
    await read(georoute, '/')
    const again = await read(georoute, '/')
    expect(again.cache).toBe('REVALIDATED')
    expect(asked('/').at(-1)?.headers['if-none-match']).toMatch(/^"/)
  })

  it('answers byte ranges from the full page it stores (206, 416), asking the origin once', async () => {
    const path = '/posts/ranged'
    const ranged = (range: string) => georoute.fetch(path, { geo: PARIS, headers: { range } })
    const first = await ranged('bytes=0-9')
    expect([first.status, first.headers.get('x-georoute-cache')]).toEqual([206, 'MISS'])
    const head = await first.text()
    expect(asked(path)[0]?.headers.range).toBeUndefined()
    const whole = await read(georoute, path)
    expect(whole.cache).toBe('HIT')
    expect(head).toBe(whole.body.slice(0, 10))
    const length = Buffer.byteLength(whole.body)
    const tail = await ranged('bytes=-6')
    expect([tail.status, tail.headers.get('content-range')]).toEqual([
      206,
      `bytes ${length - 6}-${length - 1}/${length}`,
    ])
    expect(await tail.text()).toBe(whole.body.slice(-6))
    const past = await ranged(`bytes=${length}-`)
    expect([past.status, past.headers.get('content-range')]).toEqual([416, `bytes */${length}`])
    await past.arrayBuffer()
    expect(asked(path)).toHaveLength(1)
  })

  it.each<Mode>(['reset', 'error503'])(
    'serves the stale page when every origin is down (%s)',
    async (mode) => {
      const path = `/posts/down-${mode}`
      await read(georoute, '/')
      const fresh = await read(georoute, path)
      all(mode)
      const home = await read(georoute, '/')
      expect([home.response.status, home.cache]).toEqual([200, 'STALE'])
      expect(home.body).toContain('Served from Frankfurt')
      const post = await read(georoute, path)
      expect([post.response.status, post.body]).toEqual([200, fresh.body])
    },
  )
})

/** An origin whose pages are stale at once but may be served while refreshed (RFC 5861). */
async function swrOrigin(): Promise<{
  url: string
  hits: number
  delayMs: number
  close(): Promise<void>
}> {
  const state = { url: '', hits: 0, delayMs: 0, close: () => Promise.resolve() }
  const server: HttpServer = createServer((_req, res) => {
    state.hits += 1
    const version = state.hits
    setTimeout(() => {
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'max-age=0, stale-while-revalidate=60',
      })
      res.end(`version ${version}`)
    }, state.delayMs)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  state.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  return state
}

describe('stale-while-revalidate against a slow origin', () => {
  it('answers from the stale copy at once and refreshes it in the background', async () => {
    const origin = await swrOrigin()
    const georoute = await startGeoroute({
      origins: [{ id: 'solo', url: origin.url, lat: 50.11, lon: 8.68 }],
    })
    try {
      expect((await read(georoute, '/article')).body).toBe('version 1')
      origin.delayMs = 2_000
      const started = Date.now()
      const stale = await read(georoute, '/article')
      expect([stale.cache, stale.body]).toEqual(['STALE', 'version 1'])
      expect(Date.now() - started).toBeLessThan(1_000)
      // The refresh reached the origin without the reader waiting for it.
      await expect.poll(() => origin.hits, { timeout: 1_000 }).toBe(2)
    } finally {
      await georoute.dispose()
      await origin.close()
    }
  })
})

describe('request collapsing against a slow origin', () => {
  it('sends 30 concurrent first reads of a post to the origin once', async () => {
    let hits = 0
    const server: HttpServer = createServer((_req, res) => {
      hits += 1
      setTimeout(() => {
        res.writeHead(200, {
          'content-type': 'text/html; charset=utf-8',
          'cache-control': 'public, max-age=60',
        })
        res.end(`<p>${'popular post '.repeat(500)}</p>`)
      }, 300)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    const georoute = await startGeoroute({ origins: [{ id: 'solo', url, lat: 50.11, lon: 8.68 }] })
    try {
      const reads = await Promise.all(Array.from({ length: 30 }, () => read(georoute, '/hot')))
      expect(hits).toBe(1)
      expect(new Set(reads.map((r) => r.body)).size).toBe(1)
      expect(reads.map((r) => r.response.status)).toEqual(Array(30).fill(200))
    } finally {
      await georoute.dispose()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })
})
