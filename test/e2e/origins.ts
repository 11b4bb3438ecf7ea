import { afterAll, afterEach, beforeAll } from 'vitest'
import {
  DEMO_ORIGINS,
  type LoggedRequest,
  type OriginEntry,
  type OriginServer,
  originsList,
  startOrigins,
} from '../../scripts/lib/origin-server.mjs'

export interface DemoOrigins {
  /** The running origins, in DEMO_ORIGINS order. */
  servers(): OriginServer[]
  /** The running origin with this id; throws for an unknown id. */
  byId(id: string): OriginServer
  /** Every request every origin received, as `origin METHOD url`. */
  everything(): string[]
  /** Every POST any origin received. */
  posts(): LoggedRequest[]
  /** The `ORIGINS` list for `startGeoroute`. */
  originsList(): OriginEntry[]
  /** Puts a restarted origin in place of the one with the same id (closed by the caller). */
  replace(server: OriginServer): void
}

export interface DemoOriginsOptions {
  /** After each test, set every origin back to 'ok' and clear its log (default true). */
  resetAfterEach?: boolean
}

/**
 * Starts the three demo origins for the file (`beforeAll`), resets them after each test and
 * closes them at the end. Call it before the file's own hooks: its `afterAll` then runs last,
 * once the file's Workers are disposed.
 */
export function useDemoOrigins({ resetAfterEach = true }: DemoOriginsOptions = {}): DemoOrigins {
  let running: OriginServer[] = []

  beforeAll(async () => {
    running = await startOrigins(DEMO_ORIGINS)
  })

  if (resetAfterEach) {
    afterEach(() => {
      for (const s of running) {
        s.setMode('ok')
        s.setJitterMs(0)
        s.cutColos([])
        s.clearLog()
      }
    })
  }

  afterAll(async () => {
    await Promise.all(running.map((s) => s.close()))
  })

  const byId = (id: string) => {
    const found = running.find((s) => s.id === id)
    if (!found) throw new Error(`no origin "${id}"`)
    return found
  }

  return {
    servers: () => running,
    byId,
    everything: () => running.flatMap((s) => s.requests.map((r) => `${s.id} ${r.method} ${r.url}`)),
    posts: () => running.flatMap((s) => s.requests.filter((r) => r.method === 'POST')),
    originsList: () => originsList(running, DEMO_ORIGINS),
    replace(server) {
      running = running.map((s) => (s.id === server.id ? server : s))
    },
  }
}
