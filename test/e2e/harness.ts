import { connect } from 'node:net'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { Headers, Miniflare, type RequestInit } from 'miniflare'

export const BUNDLE_DIR = join(process.cwd(), '.wrangler', 'e2e-bundle')

export interface GeorouteOptions {
  /** The `ORIGINS` variable: origin objects, serialised for the Worker. */
  origins: unknown[]
  /** The `SETTINGS` variable: settings sections laid over those of `origins/`. */
  settings?: Record<string, unknown>
  /** Extra variables and secrets. */
  bindings?: Record<string, string>
}

export interface Georoute {
  mf: Miniflare
  /** Sends a request as a reader at `geo` ("lat,lon") or with the given `cf` properties. */
  fetch(
    path: string,
    init?: RequestInit & { geo?: string; cf?: Record<string, unknown> },
  ): Promise<Awaited<ReturnType<Miniflare['dispatchFetch']>>>
  dispose(): Promise<void>
}

/**
 * Runs `body` against a Worker in front of `origins` with the edge cache off (every read must
 * reach an origin: test/e2e/cache.test.ts has the cache), and disposes of it afterwards.
 */
export async function withUncachedGeoroute(
  origins: unknown[],
  settings: Record<string, unknown>,
  body: (g: Georoute) => Promise<void>,
): Promise<void> {
  const georoute = await startGeoroute({
    origins,
    settings: { cache: { enabled: false }, ...settings },
  })
  try {
    await body(georoute)
  } finally {
    await georoute.dispose()
  }
}

/** Starts the bundled Worker under workerd (Miniflare API) with a fresh KV namespace. */
export async function startGeoroute(options: GeorouteOptions): Promise<Georoute> {
  const mf = new Miniflare({
    // The Worker logs one JSON line per request: keep test output readable unless asked.
    ...(process.env.GEOROUTE_E2E_LOGS
      ? {}
      : {
          handleRuntimeStdio(stdout: Readable, stderr: Readable) {
            stdout.resume()
            stderr.resume()
          },
        }),
    scriptPath: join(BUNDLE_DIR, 'index.js'),
    modules: true,
    compatibilityDate: '2026-03-01',
    kvNamespaces: ['HEALTH'],
    bindings: {
      GEO_OVERRIDE: 'true',
      ORIGINS: JSON.stringify(options.origins),
      ...(options.settings ? { SETTINGS: JSON.stringify(options.settings) } : {}),
      ...options.bindings,
    },
  })
  await mf.ready
  return {
    mf,
    fetch(path, init = {}) {
      const { geo, cf, ...rest } = init
      // Miniflare's (undici's) Headers, the type dispatchFetch takes, not the DOM's.
      const headers = new Headers(rest.headers)
      if (geo) headers.set('x-georoute-geo', geo)
      return mf.dispatchFetch(new URL(path, 'https://blog.example').toString(), {
        ...rest,
        headers,
        cf: cf ?? {},
      })
    },
    dispose: () => mf.dispose(),
  }
}

/**
 * Sends bytes exactly as written (no client library in between) and returns the raw answer,
 * interim (1xx) ones included.
 */
export async function rawRequest(g: Georoute, head: string): Promise<string> {
  const url = await g.mf.ready
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname, () => socket.write(head))
    let answer = ''
    // Complete at the end of the final answer's body: do not wait for the server to hang up.
    const complete = () => {
      const final = answer.replace(/^(HTTP\/1\.1 1\d\d [^\r]*\r\n(?:[^\r]+\r\n)*\r\n)+/, '')
      const end = final.indexOf('\r\n\r\n')
      if (end < 0) return false
      const length = /^content-length: *(\d+)/im.exec(final.slice(0, end))
      if (length) return Buffer.byteLength(final.slice(end + 4)) >= Number(length[1])
      return final.endsWith('\r\n0\r\n\r\n')
    }
    socket.setEncoding('utf8')
    socket.on('data', (chunk) => {
      answer += chunk
      if (complete()) {
        socket.destroy()
        resolve(answer)
      }
    })
    socket.on('error', reject)
    socket.on('close', () => resolve(answer))
  })
}
