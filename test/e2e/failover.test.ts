import { describe, expect, it } from 'vitest'
import type { Mode } from '../../scripts/lib/origin-server.mjs'
import { type Georoute, startGeoroute } from './harness'
import { useDemoOrigins } from './origins'

const PARIS = '48.86,2.35'
const { servers, byId, originsList } = useDemoOrigins()

async function withGeoroute(
  settings: Record<string, unknown>,
  body: (g: Georoute) => Promise<void>,
) {
  // Every read must reach an origin here: the edge cache is off (test/e2e/cache.test.ts has it).
  const georoute = await startGeoroute({
    origins: originsList(),
    settings: { cache: { enabled: false }, ...settings },
  })
  try {
    await body(georoute)
  } finally {
    await georoute.dispose()
  }
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

  it('takes a recovered origin back once its cool-down ends', async () => {
    byId('frankfurt').setMode('error503')
    await withGeoroute({ routing: { ejectionBaseMs: 300 } }, async (g) => {
      const first = await g.fetch('/posts/hello', { geo: PARIS })
      expect(first.headers.get('x-georoute-origin')).toBe('virginia')
      await first.arrayBuffer()
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
