import { afterEach, describe, expect, it, vi } from 'vitest'
import { validateConfig } from '../../worker/config'
import { type Fetcher, probeOrigin, probeUrl } from '../../worker/health/probe'
import { configWith } from './health-fakes'

function origin(probe: Record<string, unknown> = {}, url = 'https://fra.example/blog/') {
  const [first] = configWith([{ id: 'frankfurt', url, lat: 50.11, lon: 8.68, probe }]).origins
  return first!
}

/** A fetcher that records what it was asked and answers `response`. */
function answering(response: () => Response) {
  const seen: Request[] = []
  const fetcher: Fetcher = async (input, init) => {
    seen.push(new Request(input, init))
    return response()
  }
  return { fetcher, seen }
}

afterEach(() => {
  vi.useRealTimers()
})

describe('the probe spec', () => {
  it('refuses a body check on a HEAD probe, naming the field', () => {
    const probe = { method: 'HEAD', bodyIncludes: 'ok' }
    const result = validateConfig([{ id: 'a', url: 'https://a.example', lat: 0, lon: 0, probe }])
    expect(result).toEqual({
      ok: false,
      errors: ['origins[0].probe.bodyIncludes: needs method GET (a HEAD answer has no body)'],
    })
  })
})

describe('probeUrl', () => {
  it('appends the probe path to the origin base path, keeping a query', () => {
    expect(probeUrl(origin({ path: '/healthz?deep=1' })).toString()).toBe(
      'https://fra.example/blog/healthz?deep=1',
    )
  })
})

describe('probeOrigin', () => {
  it('passes when the status is in the expected range', async () => {
    const { fetcher } = answering(() => new Response('ok'))
    expect(await probeOrigin(origin(), fetcher)).toMatchObject({ ok: true, status: 200 })
  })

  it('counts a redirect as up by default (200-399), without following it', async () => {
    const { fetcher, seen } = answering(
      () =>
        new Response(null, { status: 301, headers: { location: 'https://elsewhere.example/' } }),
    )
    expect(await probeOrigin(origin(), fetcher)).toMatchObject({ ok: true, status: 301 })
    expect(seen[0]?.redirect).toBe('manual')
  })

  it('fails with "status 503" when the origin answers 503', async () => {
    const { fetcher } = answering(() => new Response('busy', { status: 503 }))
    expect(await probeOrigin(origin(), fetcher)).toEqual({
      ok: false,
      status: 503,
      latencyMs: expect.any(Number),
      reason: 'status 503',
    })
  })

  it('follows a configured status range', async () => {
    const { fetcher } = answering(() => new Response('teapot', { status: 418 }))
    const result = await probeOrigin(origin({ expectStatus: [418, 418] }), fetcher)
    expect(result.ok).toBe(true)
  })

  it('fails with "body mismatch" when the body lacks the expected text', async () => {
    const { fetcher } = answering(() => new Response('<h1>Maintenance</h1>'))
    const result = await probeOrigin(origin({ bodyIncludes: 'db: ok' }), fetcher)
    expect(result).toMatchObject({ ok: false, status: 200, reason: 'body mismatch' })
  })

  it('passes when the body contains the expected text', async () => {
    const { fetcher } = answering(() => new Response('app: ok, db: ok'))
    expect((await probeOrigin(origin({ bodyIncludes: 'db: ok' }), fetcher)).ok).toBe(true)
  })

  it('sends the configured method and headers, marked with our CDN-Loop token', async () => {
    const { fetcher, seen } = answering(() => new Response(null))
    await probeOrigin(origin({ method: 'HEAD', headers: { 'x-probe-key': 'k1' } }), fetcher)
    expect(seen[0]?.method).toBe('HEAD')
    expect(seen[0]?.headers.get('x-probe-key')).toBe('k1')
    expect(seen[0]?.headers.get('cdn-loop')).toBe('georoute')
    expect(seen[0]?.headers.get('user-agent')).toBe('georoute-probe')
  })

  it('reports "connect refused" when the connection is refused', async () => {
    const fetcher: Fetcher = () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:1'))
    expect(await probeOrigin(origin(), fetcher)).toMatchObject({
      ok: false,
      reason: 'connect refused',
    })
  })

  it('reports "connect error" for other network failures, without throwing', async () => {
    const fetcher: Fetcher = () => Promise.reject(new TypeError('Network connection lost.'))
    expect(await probeOrigin(origin(), fetcher)).toMatchObject({ reason: 'connect error' })
  })

  it('gives up with "timeout" after the probe timeout', async () => {
    vi.useFakeTimers()
    let aborted = false
    const hanging: Fetcher = (_input, init) =>
      new Promise((_resolve, reject) => {
        init?.signal?.addEventListener('abort', () => {
          aborted = true
          reject(init.signal?.reason)
        })
      })
    const pending = probeOrigin(origin({ timeoutMs: 3000 }), hanging)
    await vi.advanceTimersByTimeAsync(2999)
    expect(aborted).toBe(false)
    await vi.advanceTimersByTimeAsync(1)
    expect(await pending).toMatchObject({ ok: false, reason: 'timeout' })
  })

  it('uses a generous 8 s timeout by default (the cron may run far from the origin)', () => {
    expect(origin().probe.timeoutMs).toBe(8000)
  })

  it('measures latency to the verdict', async () => {
    let now = 1000
    const fetcher: Fetcher = async () => {
      now += 120
      return new Response('ok')
    }
    expect((await probeOrigin(origin(), fetcher, () => now)).latencyMs).toBe(120)
  })
})

describe('what a probe reports', () => {
  const reports = { build: 'x-build-id', position: 'x-db-position' }
  const headers = { 'x-build-id': 'b7', 'x-db-position': '16/B374D848' }

  it('reads the build and the database position when asked to', async () => {
    const { fetcher } = answering(() => new Response('ok', { headers }))
    expect(await probeOrigin(origin(), fetcher, Date.now, reports)).toMatchObject({
      ok: true,
      build: 'b7',
      position: '16/B374D848',
    })
  })

  it('reads them from a failing answer too, and nothing when not asked', async () => {
    const failing = answering(() => new Response('no', { status: 503, headers }))
    expect(await probeOrigin(origin(), failing.fetcher, Date.now, reports)).toMatchObject({
      ok: false,
      build: 'b7',
    })
    const { fetcher } = answering(() => new Response('ok', { headers }))
    const plain = await probeOrigin(origin(), fetcher)
    expect(plain.build).toBeUndefined()
    expect(plain.position).toBeUndefined()
  })
})
