/**
 * The benchmark's scenarios: which targets run side by side, on which path, checked how before
 * anything is measured. Each scenario starts its own Workers and stops them afterwards.
 */
import { fileURLToPath } from 'node:url'
import { freePort, startNginx, startWorker } from './bench-targets.mjs'

/** The reader: Paris, sent as the GEO_OVERRIDE header (georoute's nearest origin: Frankfurt). */
export const READER = { 'x-georoute-geo': '48.86,2.35' }

/** Uncacheable page (the origin says `no-store`): every request takes the cache-miss path. */
const MISS_PATH = '/latest'
/** Cacheable page (`public, max-age=3600`): after one fill, every request is a cache hit. */
const HIT_PATH = '/posts/hello-world'

const bareScript = (/** @type {string} */ name) =>
  fileURLToPath(new URL(`../bench/${name}.js`, import.meta.url))

/**
 * georoute's origins: Frankfurt (nearest to the reader) first, two more on the same server under
 * other base paths, as a real three-origin configuration ranks them.
 * @param {string} nearest URL of the nearest origin.
 * @param {string} live URL of the bench origin.
 */
function georouteOrigins(nearest, live) {
  return JSON.stringify([
    { id: 'frankfurt', url: nearest, lat: 50.11, lon: 8.68, primary: true },
    { id: 'virginia', url: live === nearest ? `${live}/virginia` : live, lat: 38.95, lon: -77.45 },
    { id: 'tokyo', url: `${live}/tokyo`, lat: 35.68, lon: 139.69 },
  ])
}

/**
 * GETs `path` (twice, so a cache can fill) and answers the last response's headers.
 * @param {string} url
 * @param {string} path
 */
async function probe(url, path) {
  let response
  for (let i = 0; i < 2; i++) {
    response = await fetch(url + path, { headers: READER })
    await response.arrayBuffer()
    if (response.status !== 200) throw new Error(`${url}${path} answered ${response.status}`)
  }
  return /** @type {Response} */ (response).headers
}

/**
 * @typedef {import('./bench-targets.mjs').Target} Target
 * @typedef {import('./bench-rounds.mjs').RoundTarget} RoundTarget
 * @typedef {import('./bench-rounds.mjs').TargetSummary} TargetSummary
 * @typedef {import('./bench-report.mjs').ScenarioReport} ScenarioReport
 */

/**
 * Runs every scenario (or those in `only`): cache miss, cache hit, failover.
 * @param {{ script: string, origin: Target, nginx: boolean, work: string,
 *   only: Set<string> | undefined, cleanups: (() => Promise<void>)[], notes: string[],
 *   log: (line: string) => void,
 *   rounds: (scenario: { path: string, headers: Record<string, string>, targets: RoundTarget[] }) => Promise<TargetSummary[]> }} context
 * @returns {Promise<ScenarioReport[]>}
 */
export async function runScenarios(context) {
  const { script, origin, only, log } = context
  /** @type {Target[]} */
  let running = []
  /** @param {Target} target */
  const track = (target) => {
    running.push(target)
    context.cleanups.push(target.close)
    return target
  }
  const stopAll = async () => {
    await Promise.all(running.map((t) => t.close()))
    running = []
  }
  const worker = (
    /** @type {string} */ name,
    /** @type {string} */ scriptPath,
    /** @type {Record<string, string>} */ bindings,
    kv = false,
  ) => startWorker({ name, scriptPath, bindings, kv }).then(track)
  const georoute = (/** @type {string} */ name, /** @type {Record<string, string>} */ vars) =>
    worker(name, script, { GEO_OVERRIDE: 'true', ...vars }, true)
  const row = (/** @type {Target} */ t, /** @type {string} */ label, /** @type {string} */ note) =>
    /** @type {RoundTarget} */ ({ label, url: t.url, pids: t.pids, ...(note ? { note } : {}) })
  const cacheNote = (/** @type {Headers} */ h) => {
    const cache = h.get('x-georoute-cache')
    return cache ? `answers ${cache}` : ''
  }

  /** @type {ScenarioReport[]} */
  const reports = []
  const wanted = (/** @type {string} */ id) => !only || only.has(id)

  if (wanted('miss')) {
    log('scenario: cache-miss path')
    const report = {
      id: 'miss',
      title: 'Cache-miss path',
      about:
        'Every request goes to the origin (the page is `no-store`). Ratios are paired per round to the bare Worker (`return fetch(origin + path)`); "bare Worker #2" is the same Worker again, as a noise control. "bare Worker + cache lookup" adds a `caches.default.match` in front: the least any caching proxy does on a miss. "bare Worker + DESIGN.md header rules + log line" (scripts/bench/bare-proxy.js) forwards headers as the contract requires and logs one line, with no routing, cache or timeouts: the least any proxy keeping those rules does, and the reference of the miss goal: georoute\'s throughput and CPU per request are paired with it per round. CPU is that of the process named in the row.',
      path: MISS_PATH,
    }
    const bare = await worker('bare', bareScript('bare-fetch'), { ORIGIN: origin.url })
    const g = await georoute('georoute', { ORIGINS: georouteOrigins(origin.url, origin.url) })
    const gHeaders = await probe(g.url, MISS_PATH)
    const hasCache = gHeaders.has('x-georoute-cache')
    const bare2 = await worker('bare2', bareScript('bare-fetch'), { ORIGIN: origin.url })
    const match = await worker('match', bareScript('bare-match'), { ORIGIN: origin.url })
    const rules = await worker('rules', bareScript('bare-proxy'), { ORIGIN: origin.url })
    /** @type {RoundTarget[]} */
    const targets = [
      row(bare, 'bare Worker', ''),
      row(g, 'georoute', cacheNote(gHeaders)),
      row(bare2, 'bare Worker #2', ''),
      row(match, 'bare Worker + cache lookup', ''),
      row(rules, 'bare Worker + DESIGN.md header rules + log line', ''),
    ]
    if (hasCache) {
      const off = await georoute('georoute-nocache', {
        ORIGINS: georouteOrigins(origin.url, origin.url),
        SETTINGS: JSON.stringify({ cache: { enabled: false } }),
      })
      targets.push(row(off, 'georoute, cache off', cacheNote(await probe(off.url, MISS_PATH))))
    }
    targets.push(row(origin, 'origin directly (no proxy)', ''))
    if (context.nginx) {
      const nginx = track(await startNginx(origin.url, context.work))
      targets.push(row(nginx, 'nginx reverse proxy', ''))
    }
    reports.push({
      ...report,
      rows: await context.rounds({ path: MISS_PATH, headers: READER, targets }),
    })
    await stopAll()
  }

  if (wanted('hit')) {
    log('scenario: cache-hit path')
    const report = {
      id: 'hit',
      title: 'Cache-hit path',
      about:
        'A cacheable page, filled once. Reference: a bare Worker that answers `caches.default.match` (and fills the cache on a miss), under the same runner; "#2" is the noise control. "bare cache Worker + Age, trace headers + log line" (scripts/bench/bare-cache-trace.js) adds what DESIGN.md asks of every hit and nothing else: the cost of those obligations alone. georoute answers a hot page from its memory tier (settings.cache.memory); "memory tier off" reads the Cache API on every hit, as an isolate does the first time it sees a page and once a copy is `maxAgeSeconds` old. "bare memory Worker" (scripts/bench/bare-memory.js) answers from a copy in memory and does nothing else: the like-for-like reference for the memory tier. georoute logs one fresh hit in a hundred by default (`logs.hitSampleRate` 0.01); "every hit logged" is georoute with `logs.hitSampleRate: 1`: the cost of a log line per hit, which workerd writes to a pipe that the bench reads.',
      path: HIT_PATH,
    }
    const g = await georoute('georoute', { ORIGINS: georouteOrigins(origin.url, origin.url) })
    const status = (await probe(g.url, HIT_PATH)).get('x-georoute-cache')
    if (status !== 'HIT') {
      const skipped = status
        ? `georoute answered \`x-georoute-cache: ${status}\` on a warm page, not HIT`
        : 'cache not available (georoute sends no `x-georoute-cache` header yet)'
      context.notes.push(`Cache-hit path: ${skipped}.`)
      reports.push({ ...report, skipped })
    } else {
      const cache1 = await worker('barecache', bareScript('bare-cache'), { ORIGIN: origin.url })
      const cache2 = await worker('barecache2', bareScript('bare-cache'), { ORIGIN: origin.url })
      const trace = await worker('cachetrace', bareScript('bare-cache-trace'), {
        ORIGIN: origin.url,
      })
      const noMemory = await georoute('georoute-nomemory', {
        ORIGINS: georouteOrigins(origin.url, origin.url),
        SETTINGS: JSON.stringify({ cache: { memory: { maxBytes: 0 } } }),
      })
      const memory = await worker('barememory', bareScript('bare-memory'), { ORIGIN: origin.url })
      // The same georoute with a line for every fresh hit: what the per-hit log line costs here.
      const everyHit = await georoute('georoute-every-hit', {
        ORIGINS: georouteOrigins(origin.url, origin.url),
        SETTINGS: JSON.stringify({ logs: { hitSampleRate: 1 } }),
      })
      await probe(cache1.url, HIT_PATH)
      await probe(cache2.url, HIT_PATH)
      await probe(trace.url, HIT_PATH)
      await probe(memory.url, HIT_PATH)
      await probe(everyHit.url, HIT_PATH)
      const offStatus = (await probe(noMemory.url, HIT_PATH)).get('x-georoute-cache')
      const targets = [
        row(cache1, 'bare cache Worker', ''),
        row(g, 'georoute', 'answers HIT'),
        row(cache2, 'bare cache Worker #2', ''),
        row(trace, 'bare cache Worker + Age, trace headers + log line', ''),
        row(noMemory, 'georoute, memory tier off', `answers ${offStatus}`),
        row(memory, 'bare memory Worker', ''),
        row(everyHit, 'georoute, every hit logged (logs.hitSampleRate 1)', 'answers HIT'),
      ]
      reports.push({
        ...report,
        rows: await context.rounds({ path: HIT_PATH, headers: READER, targets }),
      })
    }
    await stopAll()
  }

  if (wanted('failover')) {
    log('scenario: failover from a dead nearest origin')
    const dead = `http://127.0.0.1:${await freePort()}`
    const bare = await worker('bare', bareScript('bare-fetch'), { ORIGIN: origin.url })
    const g = await georoute('georoute-failover', { ORIGINS: georouteOrigins(dead, origin.url) })
    const served = (await probe(g.url, MISS_PATH)).get('x-georoute-origin')
    if (served !== 'virginia')
      throw new Error(`failover scenario: served by ${served}, not virginia`)
    const bare2 = await worker('bare2', bareScript('bare-fetch'), { ORIGIN: origin.url })
    const targets = [
      row(bare, 'bare Worker (to the live origin)', ''),
      row(g, 'georoute, nearest origin dead', 'served by the next origin'),
      row(bare2, 'bare Worker #2', ''),
    ]
    reports.push({
      id: 'failover',
      title: 'Failover from a dead nearest origin',
      about:
        "The reader's nearest origin refuses connections (nothing listens on its port); georoute answers from the next one. After the first refused connection, passive ejection keeps the dead origin out of the ranking for a cool-down (5 s, doubling), so this is the steady state of an outage: routing around a known-dead origin.",
      path: MISS_PATH,
      rows: await context.rounds({ path: MISS_PATH, headers: READER, targets }),
    })
    await stopAll()
  }
  return reports
}
