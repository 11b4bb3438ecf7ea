import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type Georoute, rawRequest, startGeoroute } from './harness'

/** A request as it arrived at an origin. */
interface Arrived {
  method: string
  url: string
  headers: Record<string, string | string[] | undefined>
  body: string
}

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void

/** A real origin on 127.0.0.1 whose answers each test writes by hand (default: 200 "ok"). */
interface HandOrigin {
  url: string
  requests: Arrived[]
  handle: Handler
}

const ok: Handler = (_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'no-store' })
  res.end('ok')
}

async function startOrigin(): Promise<{ origin: HandOrigin; server: Server }> {
  const origin: HandOrigin = { url: '', requests: [], handle: ok }
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      origin.requests.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body,
      })
      origin.handle(req, res, body)
    })
  })
  // Node answers `Expect: 100-continue` itself only without this listener: answer it as Node
  // does by default (100 Continue, then the request), so the test sees what the origin sees.
  server.on('checkContinue', (req, res) => {
    res.writeContinue()
    server.emit('request', req, res)
  })
  server.keepAliveTimeout = 0
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  origin.url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`
  return { origin, server }
}

const PARIS = '48.86,2.35'
const servers: Server[] = []
let primary: HandOrigin
let replica: HandOrigin
let georoute: Georoute

/** Frankfurt (the primary, nearest to Paris) and Virginia. */
const originsList = () => [
  { id: 'primary', url: primary.url, lat: 50.11, lon: 8.68, primary: true },
  { id: 'replica', url: replica.url, lat: 38.95, lon: -77.45 },
]
// Every request reaches an origin (no edge cache); failures fail fast, and an origin's 5xx
// ejects it for no longer than the next test takes to start.
const SETTINGS = {
  cache: { enabled: false },
  routing: {
    attemptTimeoutMs: 500,
    deadlineMs: 2_000,
    hedge: false,
    retryAfterSeconds: 7,
    ejectionBaseMs: 100,
    ejectionMaxMs: 100,
  },
}

beforeAll(async () => {
  const started = await Promise.all([startOrigin(), startOrigin()])
  servers.push(...started.map((s) => s.server))
  ;[primary, replica] = started.map((s) => s.origin) as [HandOrigin, HandOrigin]
  georoute = await startGeoroute({ origins: originsList(), settings: SETTINGS })
})

afterEach(() => {
  for (const origin of [primary, replica]) {
    origin.requests.length = 0
    origin.handle = ok
  }
})

afterAll(async () => {
  await georoute?.dispose()
  for (const server of servers) {
    server.closeAllConnections()
    server.close()
  }
})

/** A Worker of its own with other origins or settings. */
async function withGeoroute(
  options: { origins?: unknown[]; settings?: Record<string, unknown> },
  body: (g: Georoute) => Promise<void>,
): Promise<void> {
  const own = await startGeoroute({
    origins: options.origins ?? originsList(),
    settings: { ...SETTINGS, ...options.settings },
  })
  try {
    await body(own)
  } finally {
    await own.dispose()
  }
}

const maintenance: Handler = (_req, res) => {
  res.writeHead(503, { 'retry-after': '3600', 'content-type': 'text/plain' })
  res.end('Back at 04:00 UTC')
}

describe('origin answers pass on as sent', () => {
  it('gives a reader the maintenance 503 of a lone origin, its Retry-After and its page', async () => {
    primary.handle = maintenance
    await withGeoroute({ origins: originsList().slice(0, 1) }, async (g) => {
      const response = await g.fetch('/posts/a', { geo: PARIS })
      expect(response.status).toBe(503)
      expect(response.headers.get('retry-after')).toBe('3600')
      expect(response.headers.get('content-type')).toBe('text/plain')
      expect(response.headers.get('x-georoute-origin')).toBe('primary')
      expect(response.headers.get('x-georoute-cache')).toBe('BYPASS')
      expect(await response.text()).toBe('Back at 04:00 UTC')
    })
    expect(primary.requests).toHaveLength(1)
  })

  it('gives a reader the last answer when every origin answers 500', async () => {
    primary.handle = (_req, res) => res.writeHead(500).end('primary broke')
    replica.handle = (_req, res) => res.writeHead(500, { 'x-from': 'replica' }).end('replica broke')
    const response = await georoute.fetch('/posts/a', { geo: PARIS })
    expect(response.status).toBe(500)
    expect(response.headers.get('x-from')).toBe('replica')
    expect(await response.text()).toBe('replica broke')
  })

  it('still serves from the next origin when the first answers 503', async () => {
    primary.handle = maintenance
    const response = await georoute.fetch('/posts/a', { geo: PARIS })
    expect(response.status).toBe(200)
    expect(response.headers.get('x-georoute-origin')).toBe('replica')
    expect(await response.text()).toBe('ok')
  })

  it('answers with its own 503 page only when no origin could be reached', async () => {
    const closed = await startOrigin()
    closed.server.close()
    const dead = [{ id: 'dead', url: closed.origin.url, lat: 50.11, lon: 8.68 }]
    await withGeoroute({ origins: dead }, async (g) => {
      const response = await g.fetch('/posts/a', { geo: PARIS })
      expect(response.status).toBe(503)
      expect(response.headers.get('retry-after')).toBe('7')
      expect(await response.text()).toContain('briefly unavailable')
    })
  })

  it('gives a writer the 503 of the primary as sent, sending it nowhere else', async () => {
    primary.handle = maintenance
    const response = await georoute.fetch('/comments', { geo: PARIS, method: 'POST', body: 'hi' })
    expect(response.status).toBe(503)
    expect(response.headers.get('retry-after')).toBe('3600')
    expect(await response.text()).toBe('Back at 04:00 UTC')
    expect(primary.requests.map((r) => `${r.method} ${r.body}`)).toEqual(['POST hi'])
    expect(replica.requests).toEqual([])
  })
})

const NEW_YORK = '40.71,-74.01'
/** Request methods other than GET, HEAD, OPTIONS that the Workers runtime can carry (WebDAV, DeltaV, UPnP, QUERY). */
const EXTENSION_METHODS = [
  'PROPFIND',
  'PROPPATCH',
  'MKCOL',
  'COPY',
  'MOVE',
  'LOCK',
  'UNLOCK',
  'SEARCH',
  'REPORT',
  'ACL',
  'MKACTIVITY',
  'CHECKOUT',
  'MERGE',
  'NOTIFY',
  'SUBSCRIBE',
  'UNSUBSCRIBE',
  'QUERY',
]

describe('request methods', () => {
  it('sends PROPFIND as the reader sent it, once, to the primary', async () => {
    const body = '<?xml version="1.0"?><propfind xmlns="DAV:"><allprop/></propfind>'
    const answer = await rawRequest(
      georoute,
      [
        'PROPFIND /dav/notes/ HTTP/1.1',
        'Host: blog.example',
        'Depth: 1',
        'Content-Type: application/xml',
        `Content-Length: ${Buffer.byteLength(body)}`,
        `x-georoute-geo: ${NEW_YORK}`,
        'Connection: close',
        '',
        body,
      ].join('\r\n'),
    )
    expect(answer).toMatch(/^HTTP\/1\.1 200 /)
    expect(answer).toMatch(/^x-georoute-origin: primary\r$/im)
    expect(primary.requests).toEqual([
      expect.objectContaining({ method: 'PROPFIND', url: '/dav/notes/', body }),
    ])
    expect(primary.requests[0]?.headers.depth).toBe('1')
    expect(replica.requests).toEqual([])
  })

  it.each(EXTENSION_METHODS)(
    'sends %s once to the primary, never to the nearer replica',
    async (method) => {
      const response = await georoute.fetch('/dav/a', { geo: NEW_YORK, method, body: 'x' })
      expect(response.status).toBe(200)
      expect(response.headers.get('x-georoute-origin')).toBe('primary')
      await response.arrayBuffer()
      expect(primary.requests.map((r) => `${r.method} ${r.body}`)).toEqual([`${method} x`])
      expect(replica.requests).toEqual([])
    },
  )

  it.each(['PURGE', 'BAN'])('refuses %s with 405 and sends it nowhere', async (method) => {
    const response = await georoute.fetch('/posts/a', { geo: PARIS, method })
    expect(response.status).toBe(405)
    expect(await response.text()).toContain('Method not allowed')
    expect([...primary.requests, ...replica.requests]).toEqual([])
  })

  it('refuses TRACE with 405 and sends it nowhere', async () => {
    const answer = await rawRequest(
      georoute,
      'TRACE /posts/a HTTP/1.1\r\nHost: blog.example\r\nCookie: session=secret\r\nConnection: close\r\n\r\n',
    )
    expect(answer).toMatch(/^HTTP\/1\.1 405 /)
    expect(answer).not.toContain('session=secret')
    expect([...primary.requests, ...replica.requests]).toEqual([])
  })

  it('forwards PURGE to the primary once settings.proxy.allowMethods lists it', async () => {
    await withGeoroute({ settings: { proxy: { allowMethods: ['PURGE'] } } }, async (g) => {
      const response = await g.fetch('/posts/a', { geo: NEW_YORK, method: 'PURGE' })
      expect(response.status).toBe(200)
      await response.arrayBuffer()
    })
    expect(primary.requests.map((r) => r.method)).toEqual(['PURGE'])
    expect(replica.requests).toEqual([])
  })

  // The runtime's own HTTP server answers these before any Worker code runs (workerd knows a
  // fixed list of methods; M-SEARCH, TRACK and malformed tokens are not on it): what matters
  // here is that they get an answer and reach no origin.
  it.each(['M-SEARCH', 'TRACK', 'G@T', 'get'])(
    "answers %s with the runtime's 501, reaching no origin",
    async (method) => {
      const answer = await rawRequest(
        georoute,
        `${method} /posts/a HTTP/1.1\r\nHost: blog.example\r\nConnection: close\r\n\r\n`,
      )
      expect(answer).toMatch(/^HTTP\/1\.1 501 /)
      expect([...primary.requests, ...replica.requests]).toEqual([])
    },
  )

  it('never lets CONNECT reach an origin', async () => {
    const answer = await rawRequest(
      georoute,
      'CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n',
    )
    expect(answer).toMatch(/^HTTP\/1\.1 [45]\d\d /)
    expect([...primary.requests, ...replica.requests]).toEqual([])
  })
})

describe('interim (1xx) answers and Expect', () => {
  const page: Handler = (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' })
    res.end('page')
  }

  it('serves a GET from the next origin when the nearest sends 103 Early Hints', async () => {
    primary.handle = (req, res, body) => {
      res.writeEarlyHints({ link: '</style.css>; rel=preload; as=style' })
      page(req, res, body)
    }
    const response = await georoute.fetch('/posts/a', { geo: PARIS })
    expect(response.status).toBe(200)
    expect(response.headers.get('x-georoute-origin')).toBe('replica')
    expect(await response.text()).toBe('ok')
  })

  it('serves a GET from the next origin when the nearest sends 102 Processing', async () => {
    primary.handle = (req, res, body) => {
      res.writeProcessing()
      page(req, res, body)
    }
    const response = await georoute.fetch('/posts/a', { geo: PARIS })
    expect(response.status).toBe(200)
    expect(response.headers.get('x-georoute-origin')).toBe('replica')
    await response.arrayBuffer()
  })

  it('never invites a writer to send again when the primary answered 102 first', async () => {
    primary.handle = (_req, res) => {
      res.writeProcessing()
      res.writeHead(201).end('saved')
    }
    const response = await georoute.fetch('/comments', { geo: PARIS, method: 'POST', body: 'hi' })
    expect(response.status).toBe(502)
    const text = await response.text()
    expect(text).toContain('may not have been saved')
    expect(text).not.toContain('try again')
    expect(primary.requests.map((r) => `${r.method} ${r.body}`)).toEqual(['POST hi'])
    expect(replica.requests).toEqual([])
  })

  it('does not forward Expect: 100-continue on a GET without a body', async () => {
    const answer = await rawRequest(
      georoute,
      `GET /posts/a HTTP/1.1\r\nHost: blog.example\r\nExpect: 100-continue\r\nx-georoute-geo: ${PARIS}\r\nConnection: close\r\n\r\n`,
    )
    expect(answer).toMatch(/^HTTP\/1\.1 200 /)
    const arrived = [...primary.requests, ...replica.requests]
    expect(arrived).toHaveLength(1)
    expect(arrived[0]?.headers).not.toHaveProperty('expect')
  })

  it('gives a POST sent with Expect: 100-continue the answer of the primary, which took it once', async () => {
    primary.handle = (_req, res, body) => {
      res.writeHead(201, { 'content-type': 'text/plain' })
      res.end(`stored ${body}`)
    }
    const answer = await rawRequest(
      georoute,
      [
        'POST /comments HTTP/1.1',
        'Host: blog.example',
        'Expect: 100-continue',
        'Content-Type: text/plain',
        'Content-Length: 5',
        `x-georoute-geo: ${PARIS}`,
        'Connection: close',
        '',
        'hello',
      ].join('\r\n'),
    )
    // The runtime may answer the reader's expectation with its own 100 first.
    expect(answer.replace(/^HTTP\/1\.1 100 Continue\r\n\r\n/, '')).toMatch(/^HTTP\/1\.1 201 /)
    expect(answer).toContain('stored hello')
    expect(primary.requests.map((r) => `${r.method} ${r.body}`)).toEqual(['POST hello'])
    expect(primary.requests[0]?.headers).not.toHaveProperty('expect')
  })
})
