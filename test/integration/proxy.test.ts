import {
  createExecutionContext,
  env,
  fetchMock,
  SELF,
  waitOnExecutionContext,
} from 'cloudflare:test'
import {
  afterEach,
  beforeAll,
  beforeEach,
  describe,
  expect,
  it,
  type MockInstance,
  vi,
} from 'vitest'
import worker from '../../worker'
import type { Env } from '../../worker/env'
import { clearColoHealth } from '../../worker/health/colo-store'

// The origins of origins/index.ts, faked with fetchMock: every request is logged, and each
// test says how an origin answers (default: echo what it received as JSON).
const HOSTS = {
  frankfurt: 'https://fra.blog.example.com',
  virginia: 'https://iad.blog.example.com',
  tokyo: 'https://nrt.blog.example.com',
} as const
type OriginId = keyof typeof HOSTS

interface Received {
  origin: OriginId
  method: string
  path: string
  headers: Record<string, string>
  body: string
}
interface Reply {
  statusCode: number
  data?: string
  responseOptions?: { headers?: Record<string, string> }
}
type Behaviour = (request: Received) => Reply

const log: Received[] = []
const behaviours = new Map<OriginId, Behaviour>()
const echo: Behaviour = (request) => ({
  statusCode: 200,
  data: JSON.stringify(request),
  responseOptions: { headers: { 'content-type': 'application/json' } },
})
const connectError: Behaviour = () => {
  throw new Error('connect ECONNREFUSED')
}

const PARIS = { latitude: '48.85660', longitude: '2.35220', country: 'FR', continent: 'EU' }
const NEW_YORK = { latitude: '40.71280', longitude: '-74.00600', country: 'US', continent: 'NA' }
const TOKYO = { latitude: '35.68950', longitude: '139.69170', country: 'JP', continent: 'AS' }
/** No usable location at all: routing falls back to the configured order. */
const NOWHERE = { latitude: null, longitude: null, country: null, continent: null }

beforeAll(() => {
  fetchMock.activate()
  fetchMock.disableNetConnect()
  for (const [id, host] of Object.entries(HOSTS) as [OriginId, string][]) {
    fetchMock
      .get(host)
      .intercept({ path: () => true, method: () => true })
      .reply((options) => {
        const request: Received = {
          origin: id,
          method: options.method,
          path: options.path,
          headers: Object.fromEntries(
            Object.entries(options.headers ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]),
          ),
          body: typeof options.body === 'string' ? options.body : String(options.body ?? ''),
        }
        log.push(request)
        return (behaviours.get(id) ?? echo)(request)
      })
      .persist()
  }
})

beforeEach(() => {
  log.length = 0
  behaviours.clear()
  // Failures in one test must not eject an origin for the next.
  clearColoHealth()
})

/** A reader's request through the whole Worker, as Cloudflare would deliver it. */
function get(path: string, cf: Record<string, unknown>, init: RequestInit = {}) {
  return SELF.fetch(`https://blog.example${path}`, { ...init, cf } as RequestInit)
}

/** The same, with variables changed: calls the exported handler with a crafted env. */
async function withEnv(vars: Partial<Env>, request: Request): Promise<Response> {
  const ctx = createExecutionContext()
  const response = await worker.fetch(request, { ...env, ...vars }, ctx)
  await waitOnExecutionContext(ctx)
  return response
}

async function echoed(response: Response): Promise<Received> {
  expect(response.status).toBe(200)
  return (await response.json()) as Received
}

describe('routing by the location in request.cf', () => {
  it.each([
    ['Paris', PARIS, 'frankfurt'],
    ['New York', NEW_YORK, 'virginia'],
    ['Tokyo', TOKYO, 'tokyo'],
  ])('sends a reader in %s to %s', async (_city, cf, expected) => {
    const response = await get('/echo', cf)
    expect(response.headers.get('x-georoute-origin')).toBe(expected)
    expect((await echoed(response)).origin).toBe(expected)
  })

  it('sends a reader known only by country (JP) to Tokyo', async () => {
    const response = await get('/echo', { ...NOWHERE, country: 'JP' })
    expect(response.headers.get('x-georoute-origin')).toBe('tokyo')
    await response.arrayBuffer()
  })

  it('uses the country when cf coordinates are garbage', async () => {
    const response = await get('/echo', { latitude: 'abc', longitude: '1e999', country: 'US' })
    expect(response.headers.get('x-georoute-origin')).toBe('virginia')
    await response.arrayBuffer()
  })

  it('uses the continent when the country is unknown', async () => {
    const response = await get('/echo', { ...NOWHERE, country: 'T1', continent: 'OC' })
    expect(response.headers.get('x-georoute-origin')).toBe('tokyo')
    await response.arrayBuffer()
  })

  it('sends a reader with no location to the first origin of the configured order', async () => {
    const response = await get('/echo', NOWHERE)
    expect(response.status).toBe(200)
    expect(response.headers.get('x-georoute-origin')).toBe('frankfurt')
    await response.arrayBuffer()
  })
})

describe('the x-georoute-geo override', () => {
  it('replaces the location of the reader when GEO_OVERRIDE is "true"', async () => {
    const response = await get('/echo', PARIS, { headers: { 'x-georoute-geo': '35.68,139.69' } })
    expect(response.headers.get('x-georoute-origin')).toBe('tokyo')
    await response.arrayBuffer()
  })

  it.each([['false'], ['TRUE'], ['1'], ['']])(
    'is ignored when GEO_OVERRIDE is %j',
    async (flag) => {
      const request = new Request('https://blog.example/echo', {
        headers: { 'x-georoute-geo': '35.68,139.69' },
        cf: PARIS,
      } as RequestInit)
      const response = await withEnv({ GEO_OVERRIDE: flag }, request)
      expect(response.headers.get('x-georoute-origin')).toBe('frankfurt')
      await response.arrayBuffer()
    },
  )

  it('is ignored when GEO_OVERRIDE is unset', async () => {
    const request = new Request('https://blog.example/echo', {
      headers: { 'x-georoute-geo': '35.68,139.69' },
      cf: PARIS,
    } as RequestInit)
    const response = await withEnv({ GEO_OVERRIDE: undefined }, request)
    expect(response.headers.get('x-georoute-origin')).toBe('frankfurt')
    await response.arrayBuffer()
  })

  it('is never forwarded to the origin', async () => {
    const response = await get('/echo', PARIS, { headers: { 'x-georoute-geo': '48.86,2.35' } })
    expect((await echoed(response)).headers).not.toHaveProperty('x-georoute-geo')
  })
})

describe('request headers the origin receives', () => {
  const spoofed = {
    connection: 'x-secret',
    'x-secret': 'hop',
    'keep-alive': 'timeout=5',
    te: 'trailers',
    trailer: 'x-checksum',
    upgrade: 'websocket',
    'proxy-authorization': 'Basic eDp5',
    'x-forwarded-for': '6.6.6.6',
    'x-forwarded-host': 'evil.example',
    'x-forwarded-proto': 'http',
    forwarded: 'for=6.6.6.6;host=evil.example',
    'cf-connecting-ip': '203.0.113.7',
    accept: 'text/html',
  }

  it('does not receive hop-by-hop headers or those named in Connection', async () => {
    const { headers } = await echoed(await get('/echo', PARIS, { headers: spoofed }))
    for (const name of ['connection', 'x-secret', 'keep-alive', 'te', 'trailer', 'upgrade']) {
      expect(headers, name).not.toHaveProperty(name)
    }
    expect(headers).not.toHaveProperty('proxy-authorization')
    expect(headers.accept).toBe('text/html')
  })

  it('receives forwarding headers set by the edge instead of those from the reader', async () => {
    const { headers } = await echoed(await get('/echo', PARIS, { headers: spoofed }))
    expect(headers['x-forwarded-for']).toBe('203.0.113.7')
    expect(headers['x-forwarded-host']).toBe('blog.example')
    expect(headers['x-forwarded-proto']).toBe('https')
    expect(headers).not.toHaveProperty('forwarded')
  })

  it('receives our CDN-Loop token', async () => {
    const { headers } = await echoed(await get('/echo', PARIS))
    expect(headers['cdn-loop']).toBe('georoute')
  })

  it('receives the method, path, query and body unchanged', async () => {
    const received = await echoed(
      await get('/echo/a%20b/c?x=1&y=%2F&z', PARIS, { method: 'PUT', body: '{"n":1}' }),
    )
    expect(received).toMatchObject({ method: 'PUT', path: '/echo/a%20b/c?x=1&y=%2F&z' })
    expect(received.body).toContain('{"n":1}')
  })
})

describe('response headers the reader receives', () => {
  it('has hop-by-hop headers and those named in Connection removed', async () => {
    behaviours.set('frankfurt', () => ({
      statusCode: 200,
      data: 'hello',
      responseOptions: {
        headers: {
          connection: 'keep-alive, x-internal',
          'keep-alive': 'timeout=5',
          'x-internal': 'secret',
          'proxy-authenticate': 'Basic',
          'x-kept': 'yes',
        },
      },
    }))
    const response = await get('/hop', PARIS)
    expect(await response.text()).toBe('hello')
    for (const name of ['connection', 'keep-alive', 'x-internal', 'proxy-authenticate']) {
      expect(response.headers.has(name), name).toBe(false)
    }
    expect(response.headers.get('x-kept')).toBe('yes')
  })

  it('names the origin and the timing phases', async () => {
    const response = await get('/timing', PARIS)
    expect(response.headers.get('x-georoute-origin')).toBe('frankfurt')
    expect(response.headers.get('server-timing')).toMatch(/origin;dur=\d+.*total;dur=\d+/)
    await response.arrayBuffer()
  })

  it.each([
    ['https://fra.blog.example.com/landing?x=1', 'https://blog.example/landing?x=1'],
    ['https://example.org/elsewhere', 'https://example.org/elsewhere'],
    ['/landing', '/landing'],
    ['landing', 'landing'],
  ])('passes a redirect to %s on as %s without following it', async (location, expected) => {
    behaviours.set('frankfurt', () => ({
      statusCode: 302,
      responseOptions: { headers: { location } },
    }))
    const response = await get('/old', PARIS, { redirect: 'manual' })
    expect(response.status).toBe(302)
    expect(response.headers.get('location')).toBe(expected)
    expect(log.map((r) => r.path)).toEqual(['/old'])
    await response.arrayBuffer()
  })
})

describe('loops', () => {
  it.each(['georoute', 'cloudflare, georoute; v=1'])(
    'refuses a request carrying CDN-Loop: %s with 508, contacting no origin',
    async (value) => {
      const response = await get('/echo', PARIS, { headers: { 'cdn-loop': value } })
      expect(response.status).toBe(508)
      expect(response.headers.has('x-georoute-origin')).toBe(false)
      expect(log).toEqual([])
      await response.arrayBuffer()
    },
  )
})

describe('failover', () => {
  it('serves a GET from the next origin when the nearest cannot be reached', async () => {
    behaviours.set('frankfurt', connectError)
    const response = await get('/echo', PARIS)
    expect(response.headers.get('x-georoute-origin')).toBe('virginia')
    expect((await echoed(response)).origin).toBe('virginia')
    // A connection that fails at once is tried once more on the same origin first.
    expect(log.map((r) => r.origin)).toEqual(['frankfurt', 'frankfurt', 'virginia'])
  })

  it('sends a GET once more to the same origin when its connection fails at once', async () => {
    let calls = 0
    behaviours.set('frankfurt', (request) => {
      calls++
      if (calls === 1) throw new Error('Network connection lost.')
      return echo(request)
    })
    const response = await get('/echo', PARIS)
    expect(response.headers.get('x-georoute-origin')).toBe('frankfurt')
    expect((await echoed(response)).origin).toBe('frankfurt')
    expect(log.map((r) => r.origin)).toEqual(['frankfurt', 'frankfurt'])
    // Not the origin's fault: the next reader still goes there first.
    const next = await get('/echo', PARIS)
    expect(next.headers.get('x-georoute-origin')).toBe('frankfurt')
    await next.arrayBuffer()
  })

  it('serves a GET from the next origin when the nearest answers 503', async () => {
    behaviours.set('frankfurt', () => ({ statusCode: 503, data: 'down' }))
    const response = await get('/echo', PARIS)
    expect(response.headers.get('x-georoute-origin')).toBe('virginia')
    await response.arrayBuffer()
    expect(log.map((r) => r.origin)).toEqual(['frankfurt', 'virginia'])
  })

  it('passes the maintenance 503 of a lone origin to the reader as sent', async () => {
    behaviours.set('frankfurt', () => ({
      statusCode: 503,
      data: 'Back at 04:00 UTC',
      responseOptions: { headers: { 'retry-after': '3600', 'content-type': 'text/plain' } },
    }))
    const lone = [{ id: 'frankfurt', url: HOSTS.frankfurt, lat: 50.11, lon: 8.68 }]
    const request = new Request('https://blog.example/posts/a', { cf: PARIS } as RequestInit)
    const response = await withEnv({ ORIGINS: JSON.stringify(lone) }, request)
    expect(response.status).toBe(503)
    expect(response.headers.get('retry-after')).toBe('3600')
    expect(response.headers.get('content-type')).toBe('text/plain')
    expect(response.headers.get('x-georoute-origin')).toBe('frankfurt')
    expect(await response.text()).toBe('Back at 04:00 UTC')
  })

  it('passes the last answer on when every origin answers 500', async () => {
    for (const id of Object.keys(HOSTS) as OriginId[]) {
      behaviours.set(id, () => ({ statusCode: 500, data: `${id} broke` }))
    }
    const response = await get('/posts/a', PARIS)
    expect(response.status).toBe(500)
    expect(response.headers.get('x-georoute-origin')).toBe('tokyo')
    expect(response.headers.get('x-georoute-cache')).toBe('MISS')
    expect(await response.text()).toBe('tokyo broke')
    expect(log.map((r) => r.origin)).toEqual(['frankfurt', 'virginia', 'tokyo'])
  })

  it('answers 503 with Retry-After and its own page when no origin can be reached', async () => {
    for (const id of Object.keys(HOSTS) as OriginId[]) behaviours.set(id, connectError)
    const response = await get('/echo', PARIS)
    expect(response.status).toBe(503)
    expect(response.headers.get('retry-after')).toBe('30')
    expect(response.headers.get('content-type')).toContain('text/html')
    expect(await response.text()).toContain('briefly unavailable')
    expect(log.map((r) => r.origin)).toEqual([
      'frankfurt',
      'frankfurt',
      'virginia',
      'virginia',
      'tokyo',
      'tokyo',
    ])
  })

  it('sends a POST from Tokyo to the primary in Frankfurt', async () => {
    const response = await get('/comments', TOKYO, { method: 'POST', body: 'text=hi' })
    expect(response.headers.get('x-georoute-origin')).toBe('frankfurt')
    expect((await echoed(response)).body).toContain('text=hi')
    expect(log.map((r) => r.origin)).toEqual(['frankfurt'])
  })

  it('sends a failed POST nowhere else: 502 for the reader', async () => {
    behaviours.set('frankfurt', connectError)
    const response = await get('/comments', TOKYO, { method: 'POST', body: 'text=hi' })
    expect(response.status).toBe(502)
    expect(log.map((r) => `${r.method} ${r.origin}`)).toEqual(['POST frankfurt'])
    await response.arrayBuffer()
  })

  it('passes a 503 from the primary for a POST to the reader without retrying it', async () => {
    behaviours.set('frankfurt', () => ({ statusCode: 503, data: 'read-only' }))
    const response = await get('/comments', PARIS, { method: 'POST', body: 'text=hi' })
    expect(response.status).toBe(503)
    expect(await response.text()).toBe('read-only')
    expect(log).toHaveLength(1)
  })
})

describe('request methods', () => {
  it.each(['TRACE', 'PURGE', 'BAN'])(
    'refuses %s with 405, contacting no origin',
    async (method) => {
      const response = await get('/posts/a', PARIS, { method })
      expect(response.status).toBe(405)
      expect(response.headers.has('x-georoute-origin')).toBe(false)
      expect(await response.text()).toContain('Method not allowed')
      expect(log).toEqual([])
    },
  )

  it('forwards a refused method that settings.proxy.allowMethods lists, to the primary', async () => {
    const request = new Request('https://blog.example/posts/a', {
      method: 'PURGE',
      cf: TOKYO,
    } as RequestInit)
    const settings = JSON.stringify({ proxy: { allowMethods: ['PURGE'] } })
    const response = await withEnv({ SETTINGS: settings }, request)
    expect((await echoed(response)).method).toBe('PURGE')
    expect(log.map((r) => `${r.method} ${r.origin}`)).toEqual(['PURGE frankfurt'])
  })

  it.each(['PROPFIND', 'MKCOL', 'QUERY', 'REPORT'])(
    'sends %s with its body once to the primary, as a write',
    async (method) => {
      const body = '<?xml version="1.0"?><propfind xmlns="DAV:"><allprop/></propfind>'
      const response = await get('/dav/a', TOKYO, { method, body })
      const received = await echoed(response)
      expect(received).toMatchObject({ origin: 'frankfurt', method, path: '/dav/a' })
      expect(received.body).toContain(body)
      expect(response.headers.get('x-georoute-cache')).toBe('BYPASS')
      expect(log).toHaveLength(1)
    },
  )

  it('drops the cached copy of its URL when an extension method succeeds', async () => {
    behaviours.set('frankfurt', (request) =>
      request.method === 'GET'
        ? {
            statusCode: 200,
            data: 'page',
            responseOptions: { headers: { 'cache-control': 'max-age=60' } },
          }
        : { statusCode: 207, data: '<multistatus xmlns="DAV:"/>' },
    )
    const cacheOf = async (response: Response) => {
      await response.arrayBuffer()
      return response.headers.get('x-georoute-cache')
    }
    expect(await cacheOf(await get('/dav/cached', PARIS))).toBe('MISS')
    expect(await cacheOf(await get('/dav/cached', PARIS))).toBe('HIT')
    const write = await get('/dav/cached', PARIS, { method: 'PROPPATCH', body: '<x/>' })
    expect([write.status, await cacheOf(write)]).toEqual([207, 'BYPASS'])
    expect(await cacheOf(await get('/dav/cached', PARIS))).toBe('MISS')
  })

  it('never sends an extension method to another origin when the primary answers 500', async () => {
    behaviours.set('frankfurt', () => ({ statusCode: 500, data: 'locked' }))
    const response = await get('/dav/a', TOKYO, { method: 'PROPPATCH', body: '<x/>' })
    expect(response.status).toBe(500)
    expect(await response.text()).toBe('locked')
    expect(log.map((r) => `${r.method} ${r.origin}`)).toEqual(['PROPPATCH frankfurt'])
  })
})

describe('invalid configuration at run time', () => {
  const request = (path = '/', init: RequestInit = {}) =>
    new Request(`https://blog.example${path}`, { cf: PARIS, ...init } as RequestInit)
  const BAD_ORIGINS = JSON.stringify([
    { id: 'fra', url: 'https://fra.blog.example.com', lat: 100, lon: 8 },
  ])
  let logged: MockInstance<typeof console.error>

  beforeEach(() => {
    logged = vi.spyOn(console, 'error').mockImplementation(() => {})
  })

  afterEach(() => {
    logged.mockRestore()
  })

  /** Everything logged with console.error, as one string. */
  const errorLog = () => logged.mock.calls.map((call) => String(call[0])).join('\n')

  it('answers readers 500 with a page that echoes no URL or value, and no stack trace', async () => {
    const response = await withEnv({ ORIGINS: BAD_ORIGINS }, request())
    expect(response.status).toBe(500)
    const body = await response.text()
    expect(body).toContain('misconfigured')
    expect(body).not.toContain('fra.blog.example.com')
    expect(body).not.toContain('origins[0]')
    expect(body).not.toContain('100')
    expect(body).not.toMatch(/\bat .*\(|Error:|\.ts:\d+/)
    expect(log).toEqual([])
  })

  it('logs every problem, naming the origin and the field', async () => {
    await (await withEnv({ ORIGINS: BAD_ORIGINS }, request())).arrayBuffer()
    expect(errorLog()).toContain('origins[0].lat: must be between -90 and 90')
  })

  it('does not quote ORIGINS to readers when it is not JSON, and logs it', async () => {
    const response = await withEnv({ ORIGINS: '[{"url": "https://secret.example' }, request())
    expect(response.status).toBe(500)
    const body = await response.text()
    expect(body).not.toContain('secret.example')
    expect(body).not.toContain('JSON')
    expect(errorLog()).toContain('ORIGINS: not valid JSON')
  })

  it('says only that the configuration is invalid in the status JSON without the admin token', async () => {
    const anonymous: Record<string, string>[] = [{}, { authorization: 'Bearer wrong-token' }]
    for (const headers of anonymous) {
      const response = await withEnv(
        { ORIGINS: BAD_ORIGINS },
        request('/__georoute/status', { headers }),
      )
      expect(response.status).toBe(500)
      const body = await response.text()
      expect(JSON.parse(body)).toEqual({ configuration: 'invalid', error: expect.any(String) })
      expect(body).not.toContain('fra.blog.example.com')
      expect(body).not.toContain('origins[0]')
    }
  })

  it('lists every problem in the status JSON for the admin token', async () => {
    const headers = { authorization: `Bearer ${env.ADMIN_TOKEN}` }
    const response = await withEnv(
      { ORIGINS: BAD_ORIGINS },
      request('/__georoute/status', { headers }),
    )
    expect(response.status).toBe(500)
    expect(await response.json()).toMatchObject({
      configuration: 'invalid',
      errors: ['origins[0].lat: must be between -90 and 90'],
    })
  })

  it("refuses an origin on the Worker's own host, saying so only to the admin token", async () => {
    const looping = JSON.stringify([{ id: 'self', url: 'https://blog.example', lat: 1, lon: 8 }])
    const page = await withEnv({ ORIGINS: looping }, request())
    expect(page.status).toBe(500)
    expect(await page.text()).not.toContain('loop')
    const headers = { authorization: `Bearer ${env.ADMIN_TOKEN}` }
    const status = await withEnv({ ORIGINS: looping }, request('/__georoute/status', { headers }))
    const { errors } = (await status.json()) as { errors: string[] }
    expect(errors).toEqual([expect.stringContaining('requests would loop')])
  })

  it('keeps the status page and the admin API behind the same generic page', async () => {
    const headers = { authorization: `Bearer ${env.ADMIN_TOKEN}` }
    for (const [path, method] of [
      ['/__georoute/', 'GET'],
      ['/__georoute/purge', 'POST'],
    ] as const) {
      const response = await withEnv({ ORIGINS: BAD_ORIGINS }, request(path, { method, headers }))
      expect(response.status).toBe(500)
      expect(await response.text()).not.toContain('fra.blog.example.com')
    }
  })
})
