import { createServer } from 'node:net'
import { describe, expect, it } from 'vitest'
import type { Mode } from '../../scripts/lib/origin-server.mjs'
import { type Georoute, withUncachedGeoroute } from './harness'
import { useDemoOrigins } from './origins'

const PARIS = '48.86,2.35'
const { servers, byId, originsList } = useDemoOrigins()

const NEW_YORK = '40.71,-74.01'
const TOKYO = '35.68,139.69'

function withGeoroute(
  settings: Record<string, unknown>,
  body: (g: Georoute) => Promise<void>,
  origins: unknown[] = originsList(),
) {
  return withUncachedGeoroute(origins, settings, body)
}

describe('hedging', () => {
  it('answers from the next origin when the nearest is slow, without waiting for it', async () => {
    // Frankfurt would answer after 5 s, well inside its attempt timeout: only a hedge makes
    // Virginia's answer arrive first.
    byId('frankfurt').setMode('slow')
    byId('frankfurt').setSlowMs(5_000)
    await withGeoroute({ routing: { hedgeDelayMs: 200, attemptTimeoutMs: 10_000 } }, async (g) => {
      const response = await g.fetch('/posts/hello', { geo: PARIS })
      expect(response.status).toBe(200)
      expect(response.headers.get('x-georoute-origin')).toBe('virginia')
      expect(byId('frankfurt').requests).toHaveLength(1)
      expect(byId('tokyo').requests).toHaveLength(0)
      await response.arrayBuffer()
    })
  })

  it('does not hedge when hedging is turned off', async () => {
    byId('frankfurt').setMode('slow')
    byId('frankfurt').setSlowMs(500)
    await withGeoroute({ routing: { hedge: false } }, async (g) => {
      const response = await g.fetch('/posts/hello', { geo: PARIS })
      expect(response.headers.get('x-georoute-origin')).toBe('frankfurt')
      expect(byId('virginia').requests).toHaveLength(0)
      await response.arrayBuffer()
    })
  })
})

/** Reads `path` as a reader at `geo` to the end; resolves with the answering origin. */
async function read(g: Georoute, path: string, geo = PARIS): Promise<string | null> {
  const response = await g.fetch(path, { geo })
  await response.arrayBuffer()
  return response.headers.get('x-georoute-origin')
}

/** The origins that the public status JSON shows unhealthy (no probes run here: passive only). */
async function unhealthy(g: Georoute): Promise<string[]> {
  const response = await g.fetch('/__georoute/status')
  const status = (await response.json()) as { origins: { id: string; healthy: boolean }[] }
  return status.origins.filter((o) => !o.healthy).map((o) => o.id)
}

/** A port on 127.0.0.1 where nothing listens: connections to it are refused. */
async function refusingPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

describe('passive ejection', () => {
  it('skips an origin that reset a connection for the following requests', async () => {
    byId('frankfurt').setMode('reset')
    await withGeoroute({ routing: { ejectionBaseMs: 60_000 } }, async (g) => {
      for (let i = 0; i < 5; i++) {
        const response = await g.fetch('/posts/hello', { geo: PARIS })
        expect(response.status).toBe(200)
        expect(response.headers.get('x-georoute-origin')).toBe('virginia')
        await response.arrayBuffer()
      }
      // Only the first request found out the hard way (sending it twice: a connection that
      // fails at once is tried once more on the same origin).
      expect(byId('frankfurt').requests).toHaveLength(2)
    })
  })

  it('skips an origin that refuses connections from the next request on', async () => {
    const port = await refusingPort()
    const origins = originsList().map((o) =>
      o.id === 'frankfurt' ? { ...o, url: `http://127.0.0.1:${port}` } : o,
    )
    await withGeoroute(
      { routing: { ejectionBaseMs: 60_000 } },
      async (g) => {
        expect(await read(g, '/posts/hello')).toBe('virginia')
        // A refused connection is conclusive on its own: no URL can cause one.
        expect(await unhealthy(g)).toEqual(['frankfurt'])
      },
      origins,
    )
  })

  it('ejects nothing when one URL answers 500 on every origin', async () => {
    await withGeoroute({}, async (g) => {
      const response = await g.fetch('/status/500', { geo: PARIS })
      expect(response.status).toBeGreaterThanOrEqual(500)
      await response.arrayBuffer()
      // The application's own answer, the same everywhere: no origin is to blame.
      expect(await unhealthy(g)).toEqual([])
      expect(await read(g, '/posts/hello')).toBe('frankfurt')
    })
  })

  it('ejects nothing when a page is slow on every origin and hedges are lost', async () => {
    // Steering by distance only: this is about ejection (test/e2e/colo.test.ts has steering).
    await withGeoroute({ routing: { hedgeDelayMs: 200, steering: 'nearest' } }, async (g) => {
      // Frankfurt answers after 600 ms; Virginia, started 200 ms later, loses every race.
      for (let i = 0; i < 4; i++) expect(await read(g, '/slow/600')).toBe('frankfurt')
      expect(byId('virginia').requests).toHaveLength(4)
      await new Promise((resolve) => setTimeout(resolve, 100))
      expect(await unhealthy(g)).toEqual([])
    })
  })

  it('ejects an origin after 3 requests in a row that it answered 503 and another did not', async () => {
    byId('frankfurt').setMode('error503')
    await withGeoroute({ routing: { ejectionBaseMs: 60_000 } }, async (g) => {
      for (let i = 0; i < 2; i++) expect(await read(g, `/posts/${i}`)).toBe('virginia')
      expect(await unhealthy(g)).toEqual([])
      expect(await read(g, '/posts/2')).toBe('virginia')
      expect(await unhealthy(g)).toEqual(['frankfurt'])
      expect(await read(g, '/posts/3')).toBe('virginia')
      expect(byId('frankfurt').requests).toHaveLength(3)
    })
  })

  it('ejects an origin that hangs once it lost 3 hedges to a much faster one', async () => {
    byId('frankfurt').setMode('hang')
    // Steering by distance only: with `fastest`, readers leave the hung origin before it is
    // ejected (its lost hedges raise its latency), which is not what this test is about.
    const routing = { hedgeDelayMs: 200, ejectionBaseMs: 60_000, steering: 'nearest' }
    await withGeoroute({ routing }, async (g) => {
      for (let i = 0; i < 3; i++) expect(await read(g, `/posts/${i}`)).toBe('virginia')
      // The loser is reported once its cancelled attempt has ended.
      await new Promise((resolve) => setTimeout(resolve, 100))
      expect(await unhealthy(g)).toEqual(['frankfurt'])
      expect(await read(g, '/posts/3')).toBe('virginia')
      expect(byId('frankfurt').requests).toHaveLength(3)
    })
  })

  it('ejects at most one origin of three when two refuse connections', async () => {
    byId('frankfurt').setMode('reset')
    byId('virginia').setMode('reset')
    await withGeoroute({ routing: { ejectionBaseMs: 60_000 } }, async (g) => {
      expect(await read(g, '/posts/hello')).toBe('tokyo')
      expect(await unhealthy(g)).toEqual(['frankfurt'])
      expect(await read(g, '/posts/hello', NEW_YORK)).toBe('tokyo')
      expect(await unhealthy(g)).toEqual(['frankfurt'])
    })
  })

  it('ejects at most one origin of three when every origin fails, from everywhere', async () => {
    for (const s of servers()) s.setMode('error503')
    await withGeoroute({ routing: { ejectionBaseMs: 60_000 } }, async (g) => {
      for (const geo of [PARIS, NEW_YORK, TOKYO, PARIS, NEW_YORK, TOKYO]) {
        const response = await g.fetch('/posts/hello', { geo })
        await response.arrayBuffer()
      }
      for (const s of servers()) s.setMode('reset')
      for (const geo of [PARIS, NEW_YORK, TOKYO]) {
        const response = await g.fetch('/posts/hello', { geo })
        await response.arrayBuffer()
      }
      expect((await unhealthy(g)).length).toBeLessThanOrEqual(1)
    })
  })

  it('takes a recovered origin back once its cool-down ends', async () => {
    byId('frankfurt').setMode('error503')
    await withGeoroute({ routing: { ejectionBaseMs: 300 } }, async (g) => {
      for (let i = 0; i < 3; i++) expect(await read(g, '/posts/hello')).toBe('virginia')
      expect(await unhealthy(g)).toEqual(['frankfurt'])
      byId('frankfurt').setMode('ok')
      let origin: string | null = null
      const until = Date.now() + 10_000
      while (origin !== 'frankfurt' && Date.now() < until) {
        await new Promise((resolve) => setTimeout(resolve, 100))
        const response = await g.fetch('/posts/hello', { geo: PARIS })
        origin = response.headers.get('x-georoute-origin')
        await response.arrayBuffer()
      }
      expect(origin).toBe('frankfurt')
    })
  })

  it('still tries every origin, nearest first, when all of them have failed recently', async () => {
    for (const s of servers()) s.setMode('reset')
    await withGeoroute({ routing: { ejectionBaseMs: 60_000 } }, async (g) => {
      const down = await g.fetch('/posts/hello', { geo: PARIS })
      expect(down.status).toBe(503)
      await down.arrayBuffer()
      for (const s of servers()) s.setMode('ok')
      const back = await g.fetch('/posts/hello', { geo: PARIS })
      expect(back.status).toBe(200)
      expect(back.headers.get('x-georoute-origin')).toBe('frankfurt')
      await back.arrayBuffer()
    })
  })
})

describe('an origin dying under load', () => {
  it.each<Mode>(['reset', 'hang', 'error503'])(
    'fails no GET while the nearest origin goes %s mid-stream',
    async (mode) => {
      await withGeoroute({ routing: { attemptTimeoutMs: 2_000, hedgeDelayMs: 300 } }, async (g) => {
        const statuses: number[] = []
        const origins = new Set<string | null>()
        const worker = async (n: number) => {
          for (let i = 0; i < 40; i++) {
            if (n === 0 && i === 10) byId('frankfurt').setMode(mode)
            const response = await g.fetch(`/posts/${i}`, { geo: PARIS })
            statuses.push(response.status)
            origins.add(response.headers.get('x-georoute-origin'))
            await response.arrayBuffer()
          }
        }
        await Promise.all([0, 1, 2, 3].map(worker))
        expect(statuses).toHaveLength(160)
        expect(statuses.filter((s) => s !== 200)).toEqual([])
        expect(origins).toEqual(new Set(['frankfurt', 'virginia']))
      })
    },
  )
})
