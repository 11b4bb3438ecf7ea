import { waitOnExecutionContext } from 'cloudflare:test'
import { describe, expect, it, vi } from 'vitest'
import { flightsNow } from '../../worker/cache/collapse'
import {
  fetchThrough,
  installOrigins,
  received,
  type Sent,
  send,
  settings,
  slowOnce,
} from './cache-origins'

installOrigins()

const CACHEABLE = { 'cache-control': 'public, max-age=60', 'content-type': 'text/html' }

/** Origin requests received for `path`. */
const asked = (path: string) => received.filter((r) => r.path === path).length

/** Sends `count` requests for `path` at once; answers their bodies, cache statuses and statuses. */
async function herd(path: string, count: number, init: RequestInit = {}, vars = {}) {
  const sent = await Promise.all(Array.from({ length: count }, () => send(path, init, vars)))
  return readAll(sent)
}

async function readAll(sent: Sent[]) {
  const bodies = await Promise.all(sent.map((s) => s.response.text()))
  await Promise.all(sent.map((s) => waitOnExecutionContext(s.ctx)))
  return {
    bodies,
    statuses: sent.map((s) => s.response.status),
    caches: sent.map((s) => s.response.headers.get('x-georoute-cache')),
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('request collapsing', () => {
  it('sends 20 concurrent misses for one page to the origin once, each reader getting the body', async () => {
    const body = `<p>${'post '.repeat(2000)}</p>`
    slowOnce('/slow/post', { body, headers: CACHEABLE }, 200, 20)
    const { bodies, caches } = await herd('/slow/post', 20)
    expect(asked('/slow/post')).toBe(1)
    expect(bodies).toEqual(Array(20).fill(body))
    expect(caches.filter((c) => c === 'MISS')).toHaveLength(1)
    expect(flightsNow()).toBe(0)
  })

  it('lets every waiter ask the origin itself when the answer is private, then passes the page', async () => {
    const headers = { 'cache-control': 'private, max-age=60' }
    slowOnce('/slow/account', { body: 'mine', headers }, 200, 11)
    const { bodies } = await herd('/slow/account', 10)
    expect(asked('/slow/account')).toBe(10)
    expect(bodies).toEqual(Array(10).fill('mine'))
    const match = vi.spyOn(caches.default, 'match')
    await fetchThrough('/slow/account')
    expect(match).not.toHaveBeenCalled()
    match.mockRestore()
  })

  it('sends waiters to the origin themselves once the leader takes longer than maxWaitMs', async () => {
    slowOnce('/slow/late', { body: 'late', headers: CACHEABLE }, 600, 1)
    slowOnce('/slow/late', { body: 'own', headers: CACHEABLE }, 0, 4)
    const vars = settings({ cache: { collapse: { maxWaitMs: 100 } } })
    const started = Date.now()
    const leader = send('/slow/late', {}, vars)
    await sleep(20)
    const waiters = await Promise.all(Array.from({ length: 4 }, () => send('/slow/late', {}, vars)))
    const waited = Date.now() - started
    const { bodies } = await readAll(waiters)
    expect(bodies).toEqual(Array(4).fill('own'))
    expect(waited).toBeLessThan(500)
    expect(asked('/slow/late')).toBe(5)
    await readAll([await leader])
  })

  it('never makes a request with Authorization wait for the origin request of another reader', async () => {
    slowOnce('/slow/auth', { body: 'shared', headers: CACHEABLE }, 400, 1)
    slowOnce('/slow/auth', { body: 'own', headers: CACHEABLE }, 0, 1)
    const leader = send('/slow/auth')
    await sleep(20)
    const started = Date.now()
    const own = await send('/slow/auth', { headers: { authorization: 'Bearer x' } })
    expect(Date.now() - started).toBeLessThan(300)
    expect(await own.response.text()).toBe('own')
    await readAll([await leader])
    expect(asked('/slow/auth')).toBe(2)
  })

  it('lets a waiter whose request does not match the Vary of the answer ask the origin itself', async () => {
    const headers = { ...CACHEABLE, vary: 'accept-language' }
    slowOnce('/slow/lang', { body: 'en', headers }, 300, 1)
    slowOnce('/slow/lang', { body: 'fr', headers }, 0, 1)
    const leader = send('/slow/lang', { headers: { 'accept-language': 'en' } })
    await sleep(20)
    const english = send('/slow/lang', { headers: { 'accept-language': 'en' } })
    const french = send('/slow/lang', { headers: { 'accept-language': 'fr' } })
    const { bodies } = await readAll(await Promise.all([leader, english, french]))
    expect(bodies).toEqual(['en', 'en', 'fr'])
    expect(asked('/slow/lang')).toBe(2)
  })

  it('shares the failure of the leader with its waiters instead of sending each to failing origins', async () => {
    // The near origin answers 503 slowly; the far one has no answer for /slow/ (a connect error).
    slowOnce('/slow/down', { status: 503, body: 'down' }, 200, 10)
    const { statuses, bodies } = await herd('/slow/down', 10)
    expect(statuses).toEqual(Array(10).fill(503))
    expect(bodies).toEqual(Array(10).fill('down'))
    expect(asked('/slow/down')).toBe(1)
  })

  it('serves a request that arrives after the answer but before its store from that store', async () => {
    slowOnce('/slow/soon', { body: 'soon', headers: CACHEABLE }, 0, 2)
    const first = await send('/slow/soon')
    expect(await first.response.text()).toBe('soon')
    const second = await fetchThrough('/slow/soon')
    await waitOnExecutionContext(first.ctx)
    expect(second.body).toBe('soon')
    expect(second.cache).toBe('HIT')
    expect(asked('/slow/soon')).toBe(1)
  })

  it('judges the stored entry for each waiter: a HEAD gets no body, a matching ETag a 304', async () => {
    slowOnce('/slow/judged', { body: 'page', headers: { ...CACHEABLE, etag: '"v1"' } }, 200, 3)
    const leader = send('/slow/judged')
    await sleep(20)
    const head = send('/slow/judged', { method: 'HEAD' })
    const validating = send('/slow/judged', { headers: { 'if-none-match': '"v1"' } })
    const { statuses, bodies, caches } = await readAll(
      await Promise.all([leader, head, validating]),
    )
    expect(statuses).toEqual([200, 200, 304])
    expect(bodies).toEqual(['page', '', ''])
    expect(caches).toEqual(['MISS', 'HIT', 'HIT'])
    expect(asked('/slow/judged')).toBe(1)
  })

  it('does not collapse when collapse.maxWaitMs is 0', async () => {
    slowOnce('/slow/off', { body: 'off', headers: CACHEABLE }, 200, 5)
    const vars = settings({ cache: { collapse: { maxWaitMs: 0 } } })
    await herd('/slow/off', 5, {}, vars)
    expect(asked('/slow/off')).toBe(5)
  })
})
