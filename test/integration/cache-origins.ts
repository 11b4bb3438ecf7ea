/**
 * Fake origins for the cache tests (fetchMock) and a way to call the whole Worker with the real
 * Cache API and KV of the Workers pool, waiting for its `waitUntil` work when a test needs to.
 */
import { createExecutionContext, env, fetchMock, waitOnExecutionContext } from 'cloudflare:test'
import { afterEach, beforeAll, beforeEach, vi } from 'vitest'
import worker from '../../worker'
import { clearFlights } from '../../worker/cache/collapse'
import { forgetAll } from '../../worker/cache/memory'
import { clearPasses } from '../../worker/cache/pass'
import { clearColoHealth } from '../../worker/health/colo-store'
import { resetOverridesMemo } from '../../worker/overrides'

export const NEAR = 'https://near.cache.test'
export const FAR = 'https://far.cache.test'
const HOSTS = { near: NEAR, far: FAR } as const
export type OriginId = keyof typeof HOSTS

const ORIGINS = JSON.stringify([
  { id: 'near', url: NEAR, lat: 48.86, lon: 2.35, primary: true },
  { id: 'far', url: FAR, lat: 35.68, lon: 139.69 },
])
const PARIS = { latitude: '48.86', longitude: '2.35', country: 'FR', continent: 'EU' }

export interface Received {
  origin: OriginId
  method: string
  path: string
  headers: Record<string, string>
}

export interface Reply {
  status?: number
  body?: string
  headers?: Record<string, string>
}

/** How the origins answer: a reply, or `'down'` for a connect error. */
export type Behaviour = (request: Received) => Reply | 'down'

/** Every request the origins received in this test. */
export const received: Received[] = []
let behaviour: Behaviour = () => ({ body: 'hello', headers: { 'cache-control': 'max-age=60' } })

/** Sets how the origins answer for the rest of the test. */
export function answer(next: Behaviour): void {
  behaviour = next
}

/** Paths the origins received, in order (`METHOD /path?query`). */
export const paths = () => received.map((r) => `${r.method} ${r.path}`)

function record(origin: OriginId, options: { method: string; path: string; headers?: unknown }) {
  const headers = Object.fromEntries(
    Object.entries((options.headers ?? {}) as Record<string, unknown>).map(([k, v]) => [
      k.toLowerCase(),
      String(v),
    ]),
  )
  const request = { origin, method: options.method, path: options.path, headers }
  received.push(request)
  return request
}

/** Registers the origins; paths under `/slow/` are left to the test (see `slowOnce`). */
export function installOrigins(): void {
  beforeAll(() => {
    fetchMock.activate()
    fetchMock.disableNetConnect()
    for (const [id, host] of Object.entries(HOSTS) as [OriginId, string][]) {
      fetchMock
        .get(host)
        .intercept({ path: (p) => !p.startsWith('/slow/'), method: () => true })
        .reply((options) => {
          const reply = behaviour(record(id, options))
          if (reply === 'down') throw new Error('connect ECONNREFUSED')
          return {
            statusCode: reply.status ?? 200,
            data: reply.body,
            responseOptions: { headers: reply.headers ?? {} },
          }
        })
        .persist()
    }
  })
  beforeEach(() => {
    received.length = 0
    behaviour = () => ({ body: 'hello', headers: { 'cache-control': 'max-age=60' } })
    resetOverridesMemo()
    clearPasses()
    clearFlights()
    // Each test gets an empty Cache API (isolated storage): and an empty memory tier.
    forgetAll()
    clearColoHealth()
  })
  afterEach(() => {
    clearColoHealth()
  })
}

/** `times` answers from the near origin for `path`, each after `delayMs`. */
export function slowOnce(path: string, reply: Reply, delayMs = 0, times = 1): void {
  const scope = fetchMock
    .get(NEAR)
    .intercept({ path, method: 'GET' })
    .reply((options) => {
      record('near', options)
      return {
        statusCode: reply.status ?? 200,
        data: reply.body,
        responseOptions: { headers: reply.headers ?? {} },
      }
    })
  if (delayMs > 0) scope.delay(delayMs)
  scope.times(times)
}

export interface Sent {
  response: Response
  ctx: ExecutionContext
}

/** Sends a reader's request (from Paris) through the whole Worker, without waiting for `waitUntil`. */
export async function send(
  path: string,
  init: RequestInit = {},
  vars: Record<string, string> = {},
): Promise<Sent> {
  const ctx = createExecutionContext()
  const request = new Request(`https://blog.example${path}`, { cf: PARIS, ...init } as RequestInit)
  const response = await worker.fetch(request, { ...env, ORIGINS: ORIGINS, ...vars }, ctx)
  return { response, ctx }
}

/** A reader's answer, read whole. */
export interface Answer {
  status: number
  headers: Headers
  body: string
  /** `x-georoute-cache` */
  cache: string | null
}

/** Sends a request, reads the answer and waits for the Worker's background work (the store). */
export async function fetchThrough(
  path: string,
  init: RequestInit = {},
  vars: Record<string, string> = {},
): Promise<Answer> {
  const { response, ctx } = await send(path, init, vars)
  const body = await response.text()
  await waitOnExecutionContext(ctx)
  return {
    status: response.status,
    headers: response.headers,
    body,
    cache: response.headers.get('x-georoute-cache'),
  }
}

/** The `SETTINGS` variable for a test. */
export const settings = (value: Record<string, unknown>) => ({ SETTINGS: JSON.stringify(value) })

/**
 * Fakes only `Date` (freshness follows the clock, origin delays stay real), from the same
 * instant in every test; the answer moves the clock to `seconds` after that instant.
 */
export function useFakeDate(): (seconds: number) => void {
  const start = Date.UTC(2030, 0, 1)
  const later = (seconds: number) => vi.setSystemTime(start + seconds * 1000)
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] })
    later(0)
  })
  afterEach(() => {
    vi.useRealTimers()
  })
  return later
}
