/** Stand-ins for KV, the network and the clock, for the health tests. */
import { type Config, type SettingsInput, validateConfig } from '../../worker/config'
import type { Fetcher } from '../../worker/health/probe'

export const THREE = [
  {
    id: 'frankfurt',
    url: 'https://fra.example',
    lat: 50.11,
    lon: 8.68,
    probe: { path: '/healthz' },
  },
  {
    id: 'virginia',
    url: 'https://iad.example',
    lat: 38.95,
    lon: -77.45,
    probe: { path: '/healthz' },
  },
  { id: 'tokyo', url: 'https://nrt.example', lat: 35.68, lon: 139.69, probe: { path: '/healthz' } },
]

/** A validated configuration; throws on a mistake in the test itself. */
export function configWith(origins: unknown[] = THREE, settings: SettingsInput = {}): Config {
  const result = validateConfig(origins, settings)
  if (!result.ok) throw new Error(result.errors.join('\n'))
  return result.config
}

/** An in-memory KV namespace that counts calls and can be told to fail. */
export function fakeKv(initial: Record<string, string> = {}) {
  const data = new Map(Object.entries(initial))
  const calls = { get: 0, put: 0 }
  let failing = false
  const kv = {
    async get(key: string, type?: string) {
      calls.get += 1
      if (failing) throw new Error('KV GET failed: 503')
      const text = data.get(key) ?? null
      return type === 'json' && text !== null ? JSON.parse(text) : text
    },
    async put(key: string, value: string) {
      calls.put += 1
      if (failing) throw new Error('KV PUT failed: 503')
      data.set(key, value)
    },
  }
  return {
    kv: kv as unknown as KVNamespace,
    data,
    calls,
    fail(on = true) {
      failing = on
    },
  }
}

/** A virtual clock: `sleep` advances it at once, so a simulated day takes milliseconds. */
export function fakeClock(start: number) {
  let time = start
  return {
    now: () => time,
    sleep: async (ms: number) => {
      time += ms
    },
    advance(ms: number) {
      time += ms
    },
    set(at: number) {
      time = at
    },
  }
}

/** A network where each origin host answers as `behaviour[host]` says; logs every request. */
export function fakeNetwork(behaviour: Record<string, 'ok' | 'refused' | 503>) {
  const requests: { url: string; method: string; body?: string }[] = []
  const fetcher: Fetcher = async (input, init) => {
    const url = new URL(String(input instanceof Request ? input.url : input))
    const body = typeof init?.body === 'string' ? init.body : undefined
    requests.push({ url: url.toString(), method: init?.method ?? 'GET', ...(body ? { body } : {}) })
    const mode = behaviour[url.host] ?? 'ok'
    if (mode === 'refused') throw new Error('connect ECONNREFUSED 127.0.0.1:9')
    if (mode === 503) return new Response('unavailable', { status: 503 })
    return new Response('ok', { status: 200 })
  }
  return { fetcher, requests, behaviour }
}

/**
 * KV as another data center may see it: a read returns the value as it was `lagMs` ago (KV
 * propagates writes to other locations within about 60 s).
 */
export function laggingKv(now: () => number, lagMs: number) {
  const writes: { at: number; value: string }[] = []
  const calls = { get: 0, put: 0 }
  const kv = {
    async get() {
      calls.get += 1
      const seen = writes.filter((w) => w.at <= now() - lagMs).at(-1)
      return seen?.value ?? null
    },
    async put(_key: string, value: string) {
      calls.put += 1
      writes.push({ at: now(), value })
    },
  }
  return { kv: kv as unknown as KVNamespace, calls }
}
