/**
 * Raw `workerd serve` measurements that need no Miniflare in between: a Worker's time from
 * process start to first response, and how many KV reads georoute makes per request (its HEALTH
 * namespace is a small counting service speaking workerd's KV protocol: every key missing).
 */
import { spawn } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { median } from './bench-rounds.mjs'
import { freePort } from './bench-targets.mjs'
import { runWrk } from './bench-wrk.mjs'

// The `workerd` package (Miniflare's runtime) ships no types: it exports the binary's path.
const workerd = createRequire(import.meta.url)('workerd')

/** Path of the workerd binary that Miniflare also runs, and its version. */
export const WORKERD = {
  path: /** @type {string} */ (workerd.default),
  version: /** @type {string} */ (workerd.version),
}

// Counts KV calls; GET of any key answers 404 (no value), so the Worker sees an empty namespace.
// A bulk read (POST .../bulk/get, every key missing) is one call, and counts as one read here
// (KV bills it per key).
const KV_COUNTER = `
let reads = 0
let writes = 0
export default {
  async fetch(request) {
    const path = new URL(request.url).pathname
    if (path === '/__count') {
      return Response.json({ reads, writes })
    }
    if (request.method === 'GET') { reads++; return new Response(null, { status: 404 }) }
    if (request.method === 'POST' && path.endsWith('/bulk/get')) {
      reads++
      const { keys } = await request.json()
      return Response.json(Object.fromEntries(keys.map((key) => [key, null])))
    }
    writes++
    return new Response(null, { status: 200 })
  },
}
`

/**
 * Writes a workerd config serving `script` (an ES module) on `port`, with text bindings, and
 * the counting KV namespace as HEALTH (its own socket on `kvPort`) when `kv` is set.
 * @param {{ dir: string, name: string, script: string, port: number, kvPort: number,
 *   bindings: Record<string, string>, kv: boolean }} options
 */
function writeConfig({ dir, name, script, port, kvPort, bindings, kv }) {
  writeFileSync(join(dir, 'kv-counter.js'), KV_COUNTER)
  const text = Object.entries(bindings).map(
    ([key, value]) => `(name = ${JSON.stringify(key)}, text = ${JSON.stringify(value)})`,
  )
  if (kv) text.push('(name = "HEALTH", kvNamespace = "kv")')
  const config = `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = (
      modules = [(name = "index.js", esModule = embed ${JSON.stringify(relative(dir, script))})],
      compatibilityDate = "2026-03-01",
      bindings = [${text.join(', ')}],
      globalOutbound = "internet",
    )),
    (name = "kv", worker = (
      modules = [(name = "kv.js", esModule = embed "kv-counter.js")],
      compatibilityDate = "2026-03-01",
    )),
    (name = "internet", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [
    (name = "http", address = "127.0.0.1:${port}", http = (), service = "main"),
    (name = "kv", address = "127.0.0.1:${kvPort}", http = (), service = "kv"),
  ],
);
`
  const path = join(dir, `${name}.capnp`)
  writeFileSync(path, config)
  return path
}

/**
 * Starts `workerd serve` for one Worker and resolves once `path` answered 200, with the time
 * from spawning the process to that first response.
 * @param {{ dir: string, name: string, script: string, bindings: Record<string, string>,
 *   kv?: boolean, path: string, headers?: Record<string, string> }} options
 */
export async function startRawWorkerd({ dir, name, script, bindings, kv = false, path, headers }) {
  const port = await freePort()
  const kvPort = await freePort()
  const config = writeConfig({ dir, name, script, port, kvPort, bindings, kv })
  const started = process.hrtime.bigint()
  const child = spawn(WORKERD.path, ['serve', config, '--experimental'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let stderr = ''
  child.stderr.on('data', (chunk) => {
    stderr += chunk
  })
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 15_000
  let firstMs
  for (;;) {
    try {
      const response = await fetch(url + path, { headers })
      await response.arrayBuffer()
      if (response.status !== 200) throw new Error(`status ${response.status}`)
      firstMs = Number(process.hrtime.bigint() - started) / 1e6
      break
    } catch (error) {
      if (child.exitCode !== null || Date.now() > deadline) {
        child.kill('SIGKILL')
        throw new Error(`workerd (${name}) gave no 200 on ${path}: ${error}\n${stderr}`)
      }
      await new Promise((resolve) => setTimeout(resolve, 2))
    }
  }
  return {
    url,
    pid: /** @type {number} */ (child.pid),
    firstMs,
    /** KV calls the counting namespace has seen. */
    async kvCalls() {
      const response = await fetch(`http://127.0.0.1:${kvPort}/__count`)
      return /** @type {Promise<{ reads: number, writes: number }>} */ (response.json())
    },
    /** @returns {Promise<void>} */
    close: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve()
        child.once('exit', () => resolve())
        child.kill('SIGTERM')
      }),
  }
}

const GEO = { 'x-georoute-geo': '48.86,2.35' }

/**
 * Time to first response (median of three starts) of georoute and of the bare Worker, and
 * georoute's KV reads over a burst of requests (wrk when given its reporter, else fetches).
 * @param {{ work: string, script: string, origin: string, reporter?: string }} options
 */
export async function measureStartup({ work, script, origin, reporter }) {
  const dir = join(work, 'raw')
  mkdirSync(dir, { recursive: true })
  const origins = JSON.stringify([
    { id: 'frankfurt', url: origin, lat: 50.11, lon: 8.68, primary: true },
    { id: 'virginia', url: `${origin}/virginia`, lat: 38.95, lon: -77.45 },
  ])
  const bare = fileURLToPath(new URL('../bench/bare-fetch.js', import.meta.url))
  /** @type {Record<string, number[]>} */
  const firsts = { georoute: [], bare: [] }
  /** @type {{ reads: number, requests: number } | undefined} */
  let kv
  for (let i = 0; i < 3; i++) {
    const g = await startRawWorkerd({
      dir,
      name: 'georoute',
      script,
      kv: true,
      bindings: { ORIGINS: origins, GEO_OVERRIDE: 'true' },
      path: '/latest',
      headers: GEO,
    })
    try {
      firsts.georoute?.push(g.firstMs)
      if (i === 0) kv = await countKvReads(g, reporter)
    } finally {
      await g.close()
    }
    const b = await startRawWorkerd({
      dir,
      name: 'bare',
      script: bare,
      bindings: { ORIGIN: origin },
      path: '/latest',
    })
    firsts.bare?.push(b.firstMs)
    await b.close()
  }
  return {
    startup: [
      { label: 'georoute under `workerd serve`', ms: median(firsts.georoute ?? []) },
      { label: 'bare Worker under `workerd serve`', ms: median(firsts.bare ?? []) },
    ],
    kv,
  }
}

/**
 * Requests through georoute (cacheable and uncacheable pages), then the namespace's read count.
 * @param {Awaited<ReturnType<typeof startRawWorkerd>>} g
 * @param {string | undefined} reporter
 */
async function countKvReads(g, reporter) {
  let requests = 1
  if (reporter) {
    for (const path of ['/latest', '/posts/hello']) {
      const run = await runWrk({
        url: g.url + path,
        seconds: 2,
        connections: 8,
        headers: GEO,
        reporter,
      })
      requests += run.requests
    }
  } else {
    for (let i = 0; i < 500; i++) {
      const response = await fetch(g.url + (i % 2 ? '/latest' : '/posts/hello'), { headers: GEO })
      await response.arrayBuffer()
      requests++
    }
  }
  const { reads } = await g.kvCalls()
  return { reads, requests }
}
