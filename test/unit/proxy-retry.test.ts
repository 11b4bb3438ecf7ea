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
