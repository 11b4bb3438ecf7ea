import { afterEach, describe, expect, it, vi } from 'vitest'
import { validateConfig } from '../../worker/config'
import { type ProxyContext, proxyRequest } from '../../worker/proxy'

const result = validateConfig([
  { id: 'near', url: 'https://near.example', lat: 48.86, lon: 2.35 },
  { id: 'far', url: 'https://far.example', lat: 35.68, lon: 139.69 },
])
if (!result.ok) throw new Error(result.errors.join('\n'))
const { config } = result

/** A clock that moves on by `stepMs` each time it is read. */
function clock(stepMs: number) {
  let t = 1_000_000
  return () => {
    t += stepMs
    return t
  }
}

function context(now: () => number): ProxyContext {
  return {
    edge: { clientIp: null, publicUrl: new URL('https://blog.example/page') },
    originHosts: config.originHosts,
    routing: config.settings.routing,
    now,
  }
}

/** Global fetch, failing the first `failures` calls with a lost connection. */
function fetchFailing(failures: number) {
  let calls = 0
  return vi.spyOn(globalThis, 'fetch').mockImplementation(async (input) => {
    calls++
    if (calls <= failures) throw new Error('Network connection lost.')
    return new Response(`from ${new URL(String(input)).host}`)
  })
}

const get = { method: 'GET', headers: new Headers(), body: null }

afterEach(() => vi.restoreAllMocks())

describe('a connection that fails before any answer', () => {
  it('is tried once more on the same origin when it failed at once', async () => {
    const fetch = fetchFailing(1)
    const outcome = await proxyRequest(get, config.origins, context(clock(1)))
    expect(outcome.origin?.id).toBe('near')
    expect(outcome.attempts).toEqual([expect.objectContaining({ origin: 'near', status: 200 })])
    expect(fetch).toHaveBeenCalledTimes(2)
  })

  it('fails over to the next origin when it failed after a while', async () => {
    const fetch = fetchFailing(1)
    const outcome = await proxyRequest(get, config.origins, context(clock(60)))
    expect(outcome.origin?.id).toBe('far')
    expect(outcome.attempts.map((a) => [a.origin, a.failure])).toEqual([
      ['near', 'connect error'],
      ['far', undefined],
    ])
    expect(fetch).toHaveBeenCalledTimes(2)
  })

  it('is tried on the same origin only once', async () => {
    const fetch = fetchFailing(2)
    const outcome = await proxyRequest(get, config.origins, context(clock(1)))
    expect(outcome.origin?.id).toBe('far')
    expect(fetch.mock.calls.map(([url]) => new URL(String(url)).host)).toEqual([
      'near.example',
      'near.example',
      'far.example',
    ])
  })

  it('is never sent again for a POST', async () => {
    const fetch = fetchFailing(1)
    const post = { method: 'POST', headers: new Headers(), body: new Response('x').body }
    const outcome = await proxyRequest(post, config.origins, context(clock(1)))
    expect(outcome.failed).toBe('write-failed')
    expect(fetch).toHaveBeenCalledTimes(1)
  })
})

/** Global fetch answering from each origin host in turn with the given status and body. */
function fetchAnswering(answers: Record<string, { status: number; body: string } | 'down'>) {
  const bodies: ReadableStream[] = []
  const spy = vi.spyOn(globalThis, 'fetch').mockImplementation(async (input) => {
    const answer = answers[new URL(String(input)).host]
    if (!answer || answer === 'down') throw new Error('connect ECONNREFUSED')
    const response = new Response(answer.body, {
      status: answer.status,
      headers: { 'retry-after': '120', 'content-type': 'text/plain' },
    })
    bodies.push(response.body!)
    return response
  })
  return { spy, bodies }
}

describe('a read that no origin answers well', () => {
  it('returns the last origin answer as sent when every origin answers 5xx', async () => {
    fetchAnswering({
      'near.example': { status: 500, body: 'near broke' },
      'far.example': { status: 503, body: 'far in maintenance' },
    })
    const outcome = await proxyRequest(get, config.origins, context(clock(60)))
    expect(outcome.failed).toBe('all-failed')
    expect(outcome.origin?.id).toBe('far')
    expect(outcome.response.status).toBe(503)
    expect(outcome.response.headers.get('retry-after')).toBe('120')
    expect(await outcome.response.text()).toBe('far in maintenance')
  })

  it('cancels the body of an earlier 5xx it does not return', async () => {
    const { bodies } = fetchAnswering({
      'near.example': { status: 500, body: 'near broke' },
      'far.example': { status: 503, body: 'far in maintenance' },
    })
    const outcome = await proxyRequest(get, config.origins, context(clock(60)))
    await outcome.response.arrayBuffer()
    // A cancelled stream is done: reading it yields nothing more.
    expect(await bodies[0]!.getReader().read()).toEqual({ done: true, value: undefined })
  })

  it('returns the 5xx of an origin that answered when the next could not be reached', async () => {
    fetchAnswering({
      'near.example': { status: 502, body: 'bad gateway at near' },
      'far.example': 'down',
    })
    const outcome = await proxyRequest(get, config.origins, context(clock(60)))
    expect([outcome.failed, outcome.origin?.id, outcome.response.status]).toEqual([
      'all-failed',
      'near',
      502,
    ])
    expect(await outcome.response.text()).toBe('bad gateway at near')
  })

  it('returns a good answer of the next origin after a 5xx', async () => {
    const { bodies } = fetchAnswering({
      'near.example': { status: 503, body: 'near in maintenance' },
      'far.example': { status: 200, body: 'far page' },
    })
    const outcome = await proxyRequest(get, config.origins, context(clock(60)))
    expect([outcome.failed, outcome.origin?.id, outcome.response.status]).toEqual([
      undefined,
      'far',
      200,
    ])
    expect(await outcome.response.text()).toBe('far page')
    expect(await bodies[0]!.getReader().read()).toEqual({ done: true, value: undefined })
  })

  it('returns its own 503 page only when no origin answered at all', async () => {
    fetchAnswering({ 'near.example': 'down', 'far.example': 'down' })
    const outcome = await proxyRequest(get, config.origins, context(clock(60)))
    expect([outcome.failed, outcome.origin, outcome.response.status]).toEqual([
      'all-failed',
      undefined,
      503,
    ])
    expect(await outcome.response.text()).toContain('briefly unavailable')
  })
})

describe('a hedged read', () => {
  /** Near answers after `nearMs` with `nearStatus`; far answers at once with 503. */
  function race(nearMs: number, nearStatus: number) {
    const bodies = new Map<string, ReadableStream>()
    vi.spyOn(globalThis, 'fetch').mockImplementation(async (input) => {
      const host = new URL(String(input)).host
      if (host === 'near.example') await new Promise((resolve) => setTimeout(resolve, nearMs))
      const response = new Response(`${host} answer`, {
        status: host === 'near.example' ? nearStatus : 503,
      })
      bodies.set(host, response.body!)
      return response
    })
    const hedged: ProxyContext = { ...context(Date.now), hedgeDelayMs: () => 5 }
    return { bodies, outcome: proxyRequest(get, config.origins, hedged) }
  }

  it("answers with the slow origin's 200 over the 503 of the hedge, and frees the 503", async () => {
    const { bodies, outcome } = race(40, 200)
    const { response, origin, failed } = await outcome
    expect([failed, origin?.id, await response.text()]).toEqual([
      undefined,
      'near',
      'near.example answer',
    ])
    expect(await bodies.get('far.example')!.getReader().read()).toEqual({
      done: true,
      value: undefined,
    })
  })

  it('arms one timer for the first attempt and its hedge when the answer comes first', async () => {
    vi.spyOn(globalThis, 'fetch').mockImplementation(async () => new Response('fast'))
    const timers = vi.spyOn(globalThis, 'setTimeout')
    const routing = { ...config.settings.routing, bodyIdleTimeoutMs: 0 }
    const hedged: ProxyContext = { ...context(Date.now), routing, hedgeDelayMs: () => 50 }
    const outcome = await proxyRequest(get, config.origins, hedged)
    expect(outcome.origin?.id).toBe('near')
    expect(timers).toHaveBeenCalledTimes(1)
  })

  it('still times the first attempt out after its timer started the hedge', async () => {
    vi.spyOn(globalThis, 'fetch').mockImplementation(
      (_input, init) =>
        new Promise((_resolve, reject) => {
          init?.signal?.addEventListener('abort', () => reject(init.signal?.reason))
        }),
    )
    const routing = { ...config.settings.routing, attemptTimeoutMs: 40, deadlineMs: 5_000 }
    const hedged: ProxyContext = { ...context(Date.now), routing, hedgeDelayMs: () => 5 }
    const outcome = await proxyRequest(get, config.origins, hedged)
    expect(outcome.failed).toBe('all-failed')
    expect(outcome.attempts.map((a) => [a.origin, a.failure])).toEqual([
      ['near', 'timeout'],
      ['far', 'timeout'],
    ])
    expect(outcome.attempts[0]!.ms).toBeGreaterThanOrEqual(35)
  })

  it('answers with the 5xx that came last when both fail', async () => {
    const { outcome } = race(40, 500)
    const { response, origin, failed } = await outcome
    expect([failed, origin?.id, response.status, await response.text()]).toEqual([
      'all-failed',
      'near',
      500,
      'near.example answer',
    ])
  })
})
