import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Georoute, rawRequest, startGeoroute } from './harness'
import { useDemoOrigins } from './origins'

/** What `/echo` on an origin answers: the request exactly as it arrived there. */
interface Echo {
  origin: string
  method: string
  url: string
  headers: Record<string, string>
  body: string
}

const PARIS = { latitude: '48.85660', longitude: '2.35220', country: 'FR', continent: 'EU' }
const NEW_YORK = { latitude: '40.71280', longitude: '-74.00600', country: 'US', continent: 'NA' }
const TOKYO = '35.68,139.69'
const PARIS_GEO = '48.86,2.35'
// Miniflare fills cf fields left out with a default place (Austin): null erases them.
const NOWHERE = { latitude: null, longitude: null, country: null, continent: null }

const { servers, byId, everything, posts, originsList } = useDemoOrigins()
let georoute: Georoute
const hostOf = (id: string) => new URL(byId(id).url).host

beforeAll(async () => {
  georoute = await startGeoroute({ origins: originsList() })
})

afterAll(async () => {
  await georoute?.dispose()
})

/** A Worker of its own, so the passive ejections of a failure test do not leak into others. */
async function withGeoroute(
  settings: Record<string, unknown>,
  body: (g: Georoute) => Promise<void>,
): Promise<void> {
  const own = await startGeoroute({ origins: originsList(), settings })
  try {
    await body(own)
  } finally {
    await own.dispose()
  }
}

async function echo(path: string, init: Parameters<Georoute['fetch']>[1] = {}): Promise<Echo> {
  const response = await georoute.fetch(path, { cf: PARIS, ...init })
  expect(response.status).toBe(200)
  return (await response.json()) as Echo
}

describe('routing through real origins', () => {
  it.each([
    ['Paris', 'frankfurt', PARIS],
    ['New York', 'virginia', NEW_YORK],
    ['Japan (country only)', 'tokyo', { ...NOWHERE, country: 'JP' }],
    ['an unknown place', 'frankfurt', NOWHERE],
  ])('sends a reader in %s to %s', async (_where, expected, cf) => {
    // `/echo` is `no-store`: every request reaches an origin, whatever the edge cache holds.
    const response = await georoute.fetch('/echo', { cf })
    expect(response.status).toBe(200)
    expect(response.headers.get('x-georoute-origin')).toBe(expected)
    expect(((await response.json()) as Echo).origin).toBe(expected)
    expect(everything()).toEqual([`${expected} GET /echo`])
  })
})

describe('request headers an origin receives', () => {
  it('does not receive hop-by-hop headers or those named in Connection', async () => {
    const answer = await rawRequest(
      georoute,
      [
        'GET /echo HTTP/1.1',
        'Host: blog.example',
        'Connection: close, X-Secret',
        'X-Secret: hop',
        'Keep-Alive: timeout=5',
        'Proxy-Connection: keep-alive',
        'Proxy-Authorization: Basic eDp5',
        'TE: trailers',
        'Trailer: X-Checksum',
        'Upgrade: h2c',
        'X-Kept: end-to-end',
        `x-georoute-geo: 48.86,2.35`,
        '',
        '',
      ].join('\r\n'),
    )
    expect(answer).toMatch(/^HTTP\/1\.1 200 /)
    const [request] = byId('frankfurt').requests
    expect(request?.headers['x-kept']).toBe('end-to-end')
    for (const name of [
      'x-secret',
      'keep-alive',
      'proxy-connection',
      'proxy-authorization',
      'te',
      'trailer',
      'upgrade',
    ]) {
      expect(request?.headers, name).not.toHaveProperty(name)
    }
  })

  it('receives X-Forwarded-* from the edge, not from the reader', async () => {
    const { headers } = await echo('/echo', {
      headers: {
        'cf-connecting-ip': '203.0.113.7',
        'x-forwarded-for': '6.6.6.6',
        'x-forwarded-host': 'evil.example',
        'x-forwarded-proto': 'http',
        'x-forwarded-port': '666',
        forwarded: 'for=6.6.6.6;host=evil.example;proto=http',
      },
    })
    expect(headers['x-forwarded-for']).toBe('203.0.113.7')
    expect(headers['x-forwarded-host']).toBe('blog.example')
    expect(headers['x-forwarded-proto']).toBe('https')
    expect(headers).not.toHaveProperty('forwarded')
    expect(headers).not.toHaveProperty('x-forwarded-port')
  })

  it('receives CDN-Loop with our token, after any other CDN', async () => {
    const plain = await echo('/echo')
    expect(plain.headers['cdn-loop']).toBe('georoute')
    const chained = await echo('/echo', { headers: { 'cdn-loop': 'othercdn' } })
    expect(chained.headers['cdn-loop']).toBe('othercdn, georoute')
  })

  it('sees its own Host, not the public one', async () => {
    const { headers } = await echo('/echo')
    expect(headers.host).toBe(hostOf('frankfurt'))
  })

  it('receives method, path, query and body of a POST intact', async () => {
    const body = 'name=Ada&text=%C3%A9t%C3%A9+%26+more\n'
    const received = await echo('/echo/form/a%20b?x=1&y=%2F&z&x=2', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body,
    })
    expect(received).toMatchObject({
      origin: 'frankfurt',
      method: 'POST',
      url: '/echo/form/a%20b?x=1&y=%2F&z&x=2',
      body,
    })
    expect(received.headers['content-type']).toBe('application/x-www-form-urlencoded')
  })

  it('does not receive the x-georoute-geo override', async () => {
    const received = await echo('/echo', { geo: TOKYO })
    expect(received.origin).toBe('tokyo')
    expect(received.headers).not.toHaveProperty('x-georoute-geo')
  })
})

describe('response headers a reader receives', () => {
  it('names the origin and carries server-timing', async () => {
    const response = await georoute.fetch('/posts/timing', { cf: PARIS })
    expect(response.headers.get('x-georoute-origin')).toBe('frankfurt')
    expect(response.headers.get('server-timing')).toMatch(
      /origin;dur=\d+;desc="frankfurt", total;dur=\d+/,
    )
    await response.arrayBuffer()
  })

  it('carries no hop-by-hop header of the origin', async () => {
    const answer = await rawRequest(
      georoute,
      'GET /echo HTTP/1.1\r\nHost: blog.example\r\nConnection: close\r\nx-georoute-geo: 48.86,2.35\r\n\r\n',
    )
    const head = answer.split('\r\n\r\n')[0]!.toLowerCase()
    expect(head).toContain('x-georoute-origin: frankfurt')
    // Node's origin answered with `Keep-Alive: timeout=5` on a kept-alive connection.
    expect(head).not.toMatch(/^keep-alive:/m)
    expect(head).not.toMatch(/^connection: keep-alive/m)
    expect(byId('frankfurt').requests.map((r) => r.url)).toEqual(['/echo'])
  })
})

describe('redirects', () => {
  it('rewrites a redirect to the origin itself to the public host, without following it', async () => {
    const response = await georoute.fetch('/redirect-self', { cf: PARIS, redirect: 'manual' })
    expect(response.status).toBe(302)
    expect(response.headers.get('location')).toBe('https://blog.example/landing')
    await response.arrayBuffer()
    expect(everything()).toEqual(['frankfurt GET /redirect-self'])
  })

  it('leaves a redirect to another site untouched', async () => {
    const response = await georoute.fetch('/redirect-away', { cf: PARIS, redirect: 'manual' })
    expect(response.status).toBe(302)
    expect(response.headers.get('location')).toBe('https://example.org/elsewhere')
    await response.arrayBuffer()
    expect(everything()).toEqual(['frankfurt GET /redirect-away'])
  })
})

describe('loops', () => {
  it.each(['georoute', 'other, georoute; v=1'])(
    'refuses a request with CDN-Loop: %s with 508 and reaches no origin',
    async (value) => {
      const response = await georoute.fetch('/echo', { cf: PARIS, headers: { 'cdn-loop': value } })
      expect(response.status).toBe(508)
      await response.arrayBuffer()
      expect(everything()).toEqual([])
    },
  )
})

describe('no open proxy', () => {
  it.each([
    ['a path starting with //', 'https://blog.example//evil.example/x', '//evil.example/x'],
    ['a path with @', 'https://blog.example/@evil.example/', '/@evil.example/'],
    ['encoded slashes', 'https://blog.example/%2F%2Fevil.example', '/%2F%2Fevil.example'],
    ['backslashes', 'https://blog.example/\\\\evil.example/x', '///evil.example/x'],
    ['another public host', 'https://evil.example/echo', '/echo'],
  ])('keeps %s on the nearest configured origin', async (_trick, url, path) => {
    const response = await georoute.fetch(url, { cf: PARIS, redirect: 'manual' })
    expect(response.status).not.toBe(500)
    expect(response.headers.get('x-origin-id')).toBe('frankfurt')
    await response.arrayBuffer()
    expect(everything()).toEqual([`frankfurt GET ${path}`])
  })

  it('ignores a Host header naming another site', async () => {
    const { origin, headers } = await echo('/echo', { headers: { host: 'evil.example' } })
    expect(origin).toBe('frankfurt')
    expect(headers.host).toBe(hostOf('frankfurt'))
    expect(everything()).toEqual(['frankfurt GET /echo'])
  })

  it('ignores an X-Forwarded-Host naming another site', async () => {
    const { origin, headers } = await echo('/echo', {
      headers: { 'x-forwarded-host': 'evil.example' },
    })
    expect(origin).toBe('frankfurt')
    expect(headers.host).toBe(hostOf('frankfurt'))
    expect(everything()).toEqual(['frankfurt GET /echo'])
  })
})

// Routing settings for a failure: short timeouts, no hedging (tested in failover.test.ts).
const FAST_FAILOVER = {
  routing: { attemptTimeoutMs: 300, deadlineMs: 3_000, hedge: false, retryAfterSeconds: 7 },
}

describe('failover of a GET', () => {
  it('serves from the next origin when the nearest resets the connection', async () => {
    byId('frankfurt').setMode('reset')
    await withGeoroute(FAST_FAILOVER, async (g) => {
      const response = await g.fetch('/posts/hello', { cf: PARIS })
      expect(response.status).toBe(200)
      expect(response.headers.get('x-georoute-origin')).toBe('virginia')
      await response.arrayBuffer()
    })
    // A connection that fails at once is tried once more on the same origin (RFC 9112 §9.3.1).
    expect(everything()).toEqual([
      'frankfurt GET /posts/hello',
      'frankfurt GET /posts/hello',
      'virginia GET /posts/hello',
    ])
  })

  it('serves from the next origin once the attempt timeout passes on a hung one', async () => {
    byId('frankfurt').setMode('hang')
    await withGeoroute(FAST_FAILOVER, async (g) => {
      const started = Date.now()
      const response = await g.fetch('/posts/hello', { cf: PARIS })
      const elapsed = Date.now() - started
      expect(response.status).toBe(200)
      expect(response.headers.get('x-georoute-origin')).toBe('virginia')
      await response.arrayBuffer()
      expect(elapsed).toBeGreaterThanOrEqual(280)
      expect(elapsed).toBeLessThan(2_000)
    })
    expect(everything()).toEqual(['frankfurt GET /posts/hello', 'virginia GET /posts/hello'])
  })

  it('serves from the next origin when the nearest answers 503', async () => {
    byId('frankfurt').setMode('error503')
    await withGeoroute(FAST_FAILOVER, async (g) => {
      const response = await g.fetch('/posts/hello', { cf: PARIS })
      expect(response.status).toBe(200)
      expect(response.headers.get('x-georoute-origin')).toBe('virginia')
      await response.arrayBuffer()
    })
  })

  it('answers 503 with Retry-After and its own page, never 500, when every origin resets', async () => {
    for (const s of servers()) s.setMode('reset')
    await withGeoroute(FAST_FAILOVER, async (g) => {
      const response = await g.fetch('/posts/hello', { cf: PARIS })
      expect(response.status).toBe(503)
      expect(response.headers.get('retry-after')).toBe('7')
      expect(response.headers.get('content-type')).toMatch(/^text\/html/)
      expect(await response.text()).toContain('<h1>This blog is briefly unavailable</h1>')
    })
    // A reset connection fails at once: each origin gets the request once more.
    expect(everything()).toEqual(
      ['frankfurt', 'virginia', 'tokyo'].flatMap((id) => [
        `${id} GET /posts/hello`,
        `${id} GET /posts/hello`,
      ]),
    )
  })

  it('passes the last origin answer on as sent when every origin answers 503', async () => {
    for (const s of servers()) s.setMode('error503')
    await withGeoroute(FAST_FAILOVER, async (g) => {
      const response = await g.fetch('/posts/hello', { cf: PARIS })
      expect(response.status).toBe(503)
      expect(response.headers.get('x-georoute-origin')).toBe('tokyo')
      expect(response.headers.get('retry-after')).toBeNull()
      expect(await response.text()).toBe('origin tokyo is unavailable (error503 mode)\n')
    })
    // A 503 is an answer: each origin is asked once.
    expect(everything()).toEqual([
      'frankfurt GET /posts/hello',
      'virginia GET /posts/hello',
      'tokyo GET /posts/hello',
    ])
  })
})

// Writes wait for the whole deadline, not the attempt timeout: keep it short here.
const FAST_WRITES = { routing: { attemptTimeoutMs: 300, deadlineMs: 600, hedge: false } }

describe('writes', () => {
  it('sends a POST from a reader in Tokyo to the primary in Frankfurt', async () => {
    const response = await georoute.fetch('/comments', { geo: TOKYO, method: 'POST', body: 'hi' })
    expect(response.status).toBe(201)
    expect(response.headers.get('x-georoute-origin')).toBe('frankfurt')
    await response.arrayBuffer()
    expect(everything()).toEqual(['frankfurt POST /comments'])
  })

  it.each(['PUT', 'PATCH', 'DELETE'])('sends %s to the primary', async (method) => {
    const received = await echo('/echo/item', { geo: TOKYO, method, body: 'x' })
    expect(received).toMatchObject({ origin: 'frankfurt', method })
  })

  it('answers 502 when the primary resets a POST, and sends it nowhere else', async () => {
    byId('frankfurt').setMode('reset')
    await withGeoroute(FAST_WRITES, async (g) => {
      const response = await g.fetch('/comments', { geo: TOKYO, method: 'POST', body: 'hi' })
      expect(response.status).toBe(502)
      expect(await response.text()).toContain('may not have been saved')
    })
    expect(everything()).toEqual(['frankfurt POST /comments'])
  })

  it('answers 504 when the primary hangs on a POST, and sends it nowhere else', async () => {
    byId('frankfurt').setMode('hang')
    await withGeoroute(FAST_WRITES, async (g) => {
      const response = await g.fetch('/comments', { geo: TOKYO, method: 'POST', body: 'hi' })
      expect(response.status).toBe(504)
      await response.arrayBuffer()
    })
    expect(posts()).toHaveLength(1)
    expect(everything()).toEqual(['frankfurt POST /comments'])
  })

  it('passes the 503 of a primary to the writer without trying another origin', async () => {
    byId('frankfurt').setMode('error503')
    await withGeoroute(FAST_WRITES, async (g) => {
      const response = await g.fetch('/comments', { geo: PARIS_GEO, method: 'POST', body: 'hi' })
      expect(response.status).toBe(503)
      await response.arrayBuffer()
    })
    expect(everything()).toEqual(['frankfurt POST /comments'])
  })

  it('sends each of many POSTs exactly once', async () => {
    const responses = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        georoute.fetch('/comments', { geo: TOKYO, method: 'POST', body: `comment ${i}` }),
      ),
    )
    for (const response of responses) {
      expect(response.status).toBe(201)
      await response.arrayBuffer()
    }
    expect(
      posts()
        .map((p) => p.body)
        .sort(),
    ).toEqual(Array.from({ length: 10 }, (_, i) => `comment ${i}`).sort())
  })
})
