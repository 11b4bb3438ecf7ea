import { createExecutionContext, env, fetchMock, SELF } from 'cloudflare:test'
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import worker from '../../worker'
import { clearColoHealth } from '../../worker/health/colo-store'

const PARIS = { latitude: '48.85660', longitude: '2.35220', country: 'FR', colo: 'CDG' }

beforeAll(() => {
  fetchMock.activate()
  fetchMock.disableNetConnect()
})

afterEach(() => {
  vi.restoreAllMocks()
  clearColoHealth()
})

/** The request log lines the Worker printed during `run`. */
async function requestLines(run: () => Promise<void>) {
  const spy = vi.spyOn(console, 'log').mockImplementation(() => {})
  await run()
  return spy.mock.calls
    .map(([line]) => (typeof line === 'string' && line.startsWith('{') ? JSON.parse(line) : null))
    .filter((entry) => entry?.message === 'request')
}

describe('the request log', () => {
  it('writes one JSON line per request with origin, attempts, cache status, colo and timings', async () => {
    fetchMock
      .get('https://fra.blog.example.com')
      .intercept({ path: '/log-me?x=1' })
      .reply(200, 'hello', { headers: { 'cache-control': 'no-store' } })
    const lines = await requestLines(async () => {
      const response = await SELF.fetch('https://blog.example/log-me?x=1', { cf: PARIS })
      expect(await response.text()).toBe('hello')
    })
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatchObject({
      method: 'GET',
      path: '/log-me',
      status: 200,
      origin: 'frankfurt',
      attempts: 1,
      cache: 'MISS',
      colo: 'CDG',
      country: 'FR',
    })
    for (const field of ['totalMs', 'originMs', 'cacheMs']) {
      expect(typeof lines[0][field]).toBe('number')
    }
  })

  it('logs a refused loop too, with no origin', async () => {
    const lines = await requestLines(async () => {
      const response = await SELF.fetch('https://blog.example/', {
        headers: { 'cdn-loop': 'georoute' },
        cf: PARIS,
      })
      expect(response.status).toBe(508)
    })
    expect(lines).toEqual([expect.objectContaining({ status: 508, origin: null, attempts: 0 })])
  })

  it('samples the log line with logs.sampleRate, but always logs errors', async () => {
    fetchMock.get('https://fra.blog.example.com').intercept({ path: '/sampled' }).reply(200, 'ok')
    fetchMock.get('https://fra.blog.example.com').intercept({ path: '/broken' }).reply(500, 'no')
    fetchMock.get('https://iad.blog.example.com').intercept({ path: '/broken' }).reply(500, 'no')
    fetchMock.get('https://nrt.blog.example.com').intercept({ path: '/broken' }).reply(500, 'no')
    const quiet = { ...env, SETTINGS: JSON.stringify({ logs: { sampleRate: 0 } }) }
    const send = (path: string) =>
      worker.fetch(
        new Request(`https://blog.example${path}`, { cf: PARIS } as RequestInit),
        quiet,
        createExecutionContext(),
      )
    const lines = await requestLines(async () => {
      expect((await send('/sampled')).status).toBe(200)
      // The last origin's own 500 reaches the reader.
      expect((await send('/broken')).status).toBe(500)
    })
    expect(lines.map((l) => l.path)).toEqual(['/broken'])
    // Which origins were tried, and why each failed.
    expect(lines[0].failures).toEqual([
      expect.stringMatching(/^frankfurt: status 500 \(\d+ ms\)$/),
      expect.stringMatching(/^virginia: status 500 \(\d+ ms\)$/),
      expect.stringMatching(/^tokyo: status 500 \(\d+ ms\)$/),
    ])
  })

  it('samples fresh hits with logs.hitSampleRate, and misses with sampleRate', async () => {
    fetchMock
      .get('https://fra.blog.example.com')
      .intercept({ path: '/hit-quiet' })
      .reply(200, 'cached', { headers: { 'cache-control': 'public, max-age=600' } })
    const send = (settings: unknown) =>
      worker.fetch(
        new Request('https://blog.example/hit-quiet', { cf: PARIS } as RequestInit),
        { ...env, SETTINGS: JSON.stringify(settings) },
        createExecutionContext(),
      )
    const quietHits = { logs: { hitSampleRate: 0 } }
    const lines = await requestLines(async () => {
      const miss = await send(quietHits)
      expect(miss.headers.get('x-georoute-cache')).toBe('MISS')
      await miss.text()
      const hit = await send(quietHits)
      expect(hit.headers.get('x-georoute-cache')).toBe('HIT')
      await hit.text()
    })
    // The miss is logged (sampleRate 1); the hit is not.
    expect(lines.map((l) => l.cache)).toEqual(['MISS'])
    // By default one hit in a hundred is logged; 1 logs every hit; sampleRate caps both.
    const random = vi.spyOn(Math, 'random')
    const logged = await requestLines(async () => {
      random.mockReturnValue(0.5)
      await (await send({})).text()
      random.mockReturnValue(0.005)
      await (await send({})).text()
      random.mockReturnValue(0.5)
      await (await send({ logs: { hitSampleRate: 1 } })).text()
      await (await send({ logs: { hitSampleRate: 1, sampleRate: 0.2 } })).text()
    })
    expect(logged.map((l) => l.cache)).toEqual(['HIT', 'HIT'])
    expect(logged).toHaveLength(2)
  })
})
