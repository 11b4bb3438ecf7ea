import { createServer, get as httpGet, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Georoute, startGeoroute } from './harness'

const PARIS = '48.86,2.35'
const IDLE_MS = 300

/** An origin that sends its headers and the start of a page, then nothing more. */
async function stallingOrigin() {
  const held = new Set<ServerResponse>()
  const state = { url: '', hits: 0 }
  const server = createServer((_req, res) => {
    state.hits += 1
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'public, max-age=60',
      'content-length': '4096',
    })
    res.write('<!doctype html><title>half a page</title>')
    held.add(res)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const close = () =>
    new Promise<void>((resolve) => {
      for (const res of held) res.destroy()
      server.closeAllConnections()
      server.close(() => resolve())
    })
  return Object.assign(state, { close })
}

/** An origin that answers every page whole. */
async function wholeOrigin() {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
    res.end('<!doctype html><title>a whole page</title>')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  return { url, close }
}

describe('an origin that stalls after its headers', () => {
  let stalling: Awaited<ReturnType<typeof stallingOrigin>>
  let whole: Awaited<ReturnType<typeof wholeOrigin>>
  let georoute: Georoute

  beforeAll(async () => {
    stalling = await stallingOrigin()
    whole = await wholeOrigin()
    georoute = await startGeoroute({
      origins: [
        { id: 'near', url: stalling.url, lat: 50.11, lon: 8.68 },
        { id: 'far', url: whole.url, lat: 35.68, lon: 139.69 },
      ],
      settings: { routing: { bodyIdleTimeoutMs: IDLE_MS, hedge: false } },
    })
  })

  afterAll(async () => {
    await georoute?.dispose()
    await stalling?.close()
    await whole?.close()
  })

  /**
   * One read over plain HTTP/1.1 (Miniflare's dispatchFetch hides a connection closed before
   * the declared length): its status, origin and cache status, and whether its body came whole.
   */
  async function read(path: string) {
    const started = Date.now()
    const base = await georoute.mf.ready
    return new Promise<{
      status: number
      origin: string | undefined
      cache: string | undefined
      whole: boolean
      ms: number
    }>((resolve, reject) => {
      const request = httpGet(
        new URL(path, base),
        { headers: { host: 'blog.example', 'x-georoute-geo': PARIS } },
        (response) => {
          const done = () =>
            resolve({
              status: response.statusCode ?? 0,
              origin: response.headers['x-georoute-origin'] as string | undefined,
              cache: response.headers['x-georoute-cache'] as string | undefined,
              whole: response.complete,
              ms: Date.now() - started,
            })
          response.resume()
          response.on('end', done)
          response.on('error', done)
          response.on('aborted', done)
        },
      )
      request.on('error', reject)
    })
  }

  it('cuts the reader off after the idle time, never stores the half page, and ejects the origin after three', async () => {
    const first = await read('/posts/stalled')
    expect([first.status, first.origin, first.whole]).toEqual([200, 'near', false])
    expect(first.ms).toBeLessThan(IDLE_MS + 2_000)

    // Not cached: the next reads go to the origin again, and are cut again.
    const second = await read('/posts/stalled')
    expect([second.cache, second.whole]).toEqual(['MISS', false])
    const third = await read('/posts/stalled')
    expect(third.whole).toBe(false)
    expect(stalling.hits).toBe(3)

    // Three stalled bodies in a row: this isolate sends readers to the other origin.
    const fourth = await read('/posts/other')
    expect([fourth.origin, fourth.whole]).toEqual(['far', true])
    expect(stalling.hits).toBe(3)
  })
})

describe('a small page of declared length that arrives slowly, within the idle time', () => {
  // Every byte value, and more than one network read: the reader must get it byte-exact.
  const page = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7) % 256))
  let server: ReturnType<typeof createServer>
  let georoute: Georoute

  beforeAll(async () => {
    server = createServer((_req, res) => {
      res.writeHead(200, 'Fine Thanks', {
        'content-type': 'application/octet-stream',
        'cache-control': 'no-store',
        'content-length': String(page.length),
        'x-origin-note': 'kept as sent',
      })
      res.write(page.subarray(0, 1000))
      // Past the attempt timeout (headers only) but within the body's idle time: the attempt's
      // timer, which then bounds the body, must not cut it.
      setTimeout(() => res.end(page.subarray(1000)), 250)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    georoute = await startGeoroute({
      origins: [{ id: 'near', url, lat: 50.11, lon: 8.68 }],
      settings: { routing: { attemptTimeoutMs: 100, bodyIdleTimeoutMs: 2_000, hedge: false } },
    })
  })

  afterAll(async () => {
    await georoute?.dispose()
    server?.closeAllConnections()
    await new Promise<void>((resolve) => server?.close(() => resolve()))
  })

  it('reaches the reader whole, byte-exact, with its status line and headers', async () => {
    const base = await georoute.mf.ready
    const got = await new Promise<{
      status?: number
      statusText?: string
      headers: Record<string, unknown>
      body: Buffer
      whole: boolean
    }>((resolve, reject) => {
      const request = httpGet(
        new URL('/files/blob', base),
        { headers: { host: 'blog.example', 'x-georoute-geo': PARIS } },
        (response) => {
          const chunks: Buffer[] = []
          response.on('data', (chunk: Buffer) => chunks.push(chunk))
          response.on('end', () =>
            resolve({
              status: response.statusCode,
              statusText: response.statusMessage,
              headers: response.headers,
              body: Buffer.concat(chunks),
              whole: response.complete,
            }),
          )
          response.on('error', reject)
        },
      )
      request.on('error', reject)
    })
    expect([got.status, got.statusText, got.whole]).toEqual([200, 'Fine Thanks', true])
    expect(got.headers['content-length']).toBe(String(page.length))
    expect(got.headers['content-type']).toBe('application/octet-stream')
    expect(got.headers['x-origin-note']).toBe('kept as sent')
    expect(got.headers['x-georoute-origin']).toBe('near')
    expect(got.body.equals(page)).toBe(true)
  })
})
