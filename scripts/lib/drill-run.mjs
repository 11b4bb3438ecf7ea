/**
 * One fault drill: three real origins on 127.0.0.1, georoute under workerd in front of them, a
 * steady request stream, the faults one after another, and what readers saw. Used by
 * `npm run drill` (scripts/drill.mjs) and, in its short version, by test/e2e/drill.test.ts.
 */
import { startWorker } from './bench-targets.mjs'
import { analyze, drillGoals } from './drill-analyze.mjs'
import { consistencyGoals, runReplicaLag, runRollingDeploy } from './drill-consistency.mjs'
import { startFleet } from './drill-fleet.mjs'
import { herdGoal, runHerd } from './drill-herd.mjs'
import { startLoad } from './drill-load.mjs'
import { phases, runPhases } from './drill-phases.mjs'

const sleep = (/** @type {number} */ ms) => new Promise((resolve) => setTimeout(resolve, ms))

// For the herd's purge of everything (POST /__georoute/purge).
const ADMIN_TOKEN = 'drill-admin-token'

/**
 * The drill's settings for georoute (the `SETTINGS` variable). The full drill keeps the shipped
 * defaults, only making each emulated cron run one probe round; the short one shrinks the
 * timings so every fault fits in a few seconds.
 * @param {boolean} short
 */
export function drillSettings(short) {
  return short
    ? {
        health: { intervalMs: 1_000, maxRounds: 1, minWriteIntervalMs: 0, memoTtlMs: 1_000 },
        routing: { ejectionBaseMs: 1_000, ejectionMaxMs: 2_000 },
      }
    : { health: { maxRounds: 1 } }
}

/**
 * Runs the drill and resolves with per-fault results and the goals.
 * @param {{ script: string, short?: boolean, log?: (line: string) => void }} options
 */
export async function runDrill({ script, short = false, log = () => {} }) {
  const settings = drillSettings(short)
  const probeEveryMs = short ? 1_000 : 10_000
  const recoveryMs = short ? 6_000 : 60_000
  const rates = short
    ? { getsPerSecond: 30, postsPerSecond: 3 }
    : { getsPerSecond: 40, postsPerSecond: 2 }
  const fleet = await startFleet()
  /** @type {string[]} */
  const workerErrors = []
  /** @type {import('./drill-analyze.mjs').WorkerLine[]} */
  const errorLines = []
  let worker
  try {
    worker = await startWorker({
      name: 'georoute',
      scriptPath: script,
      kv: true,
      bindings: {
        GEO_OVERRIDE: 'true',
        ADMIN_TOKEN,
        ORIGINS: JSON.stringify(fleet.origins),
        SETTINGS: JSON.stringify(settings),
      },
      onOutput: (line) => {
        // Our own structured error lines (corrupt KV, failed attempts) are expected in a drill.
        if (/uncaught|unhandled/i.test(line)) workerErrors.push(line.slice(0, 300))
        const request = requestLine(line)
        if (request && request.status >= 500) errorLines.push({ ...request, at: Date.now() })
      },
    })
    const base = worker.url
    const warm = await fetch(`${base}/posts/drill-1`, {
      headers: { 'x-georoute-geo': '48.86,2.35' },
    })
    await warm.arrayBuffer()
    const cacheAvailable = warm.headers.has('x-georoute-cache')
    const kv = await worker.mf.getKVNamespace('HEALTH')
    const cron = await startCron(worker.mf, probeEveryMs)
    const load = startLoad({ baseUrl: base, ...rates })
    let runs
    try {
      runs = await runPhases(phases({ short }), {
        levers: { fleet, kv, probes: cron.enable },
        sent: load.sent,
        recoveryMs,
        log,
      })
    } finally {
      await load.stop()
      await cron.stop()
    }
    const results = analyze({ runs, sent: load.sent, fleet, recoveryMs, errorLines })
    // After the faults, with every origin back and the load stopped: the herd after a purge.
    log('herd: readers of one post right after a purge of everything')
    const herd = cacheAvailable
      ? await runHerd({ baseUrl: base, fleet, token: ADMIN_TOKEN })
      : undefined
    // Build skew and replica lag, each on its own origins and Worker.
    log('rolling deploy: origins switch builds one by one')
    const rolling = await runRollingDeploy({ script, short })
    // What the same deploy does to readers without skew protection: the full drill only.
    const unprotected = short
      ? undefined
      : await runRollingDeploy({ script, short, protect: false })
    log('replica lag: replicas apply writes late')
    const lag = await runReplicaLag({ script, short })
    return {
      short,
      settings,
      rates,
      probeEveryMs: cron.available ? probeEveryMs : undefined,
      cacheAvailable,
      skipped: load.skipped,
      requests: load.sent.length,
      workerErrors,
      results,
      herd,
      consistency: { rolling, unprotected, lag },
      goals: [
        ...drillGoals(results, { cacheAvailable }),
        ...(herd ? [herdGoal(herd)] : []),
        ...consistencyGoals(rolling, lag),
      ],
    }
  } finally {
    await worker?.close()
    await fleet.close()
  }
}

/**
 * The Worker's request log line in a line of its output (plain, or inside a structured-log
 * envelope), or `undefined`.
 * @param {string} line
 * @returns {{ path: string, status: number, failures?: string[] } | undefined}
 */
export function requestLine(line) {
  /** @param {string} text @returns {any} */
  const parse = (text) => {
    try {
      return JSON.parse(text)
    } catch {
      return undefined
    }
  }
  let entry = parse(line.slice(line.indexOf('{')))
  if (typeof entry?.message === 'string' && entry.message.startsWith('{')) {
    entry = parse(entry.message)
  }
  if (entry?.message !== 'request' || typeof entry.status !== 'number') return undefined
  return { path: String(entry.path), status: entry.status, failures: entry.failures }
}

/**
 * Emulates the cron trigger: runs the Worker's `scheduled` handler every `everyMs` (one probe
 * round each, as `settings.health.maxRounds: 1` asks), never two at once. Does nothing when the
 * Worker has no scheduled handler.
 * @param {import('miniflare').Miniflare} mf
 * @param {number} everyMs
 */
async function startCron(mf, everyMs) {
  const worker = await mf.getWorker('georoute')
  let available = true
  try {
    await worker.scheduled({ cron: '* * * * *' })
  } catch {
    available = false
  }
  let enabled = true
  let stopped = false
  const loop = (async () => {
    while (available && !stopped) {
      await sleep(everyMs)
      if (enabled && !stopped) await worker.scheduled({ cron: '* * * * *' }).catch(() => {})
    }
  })()
  return {
    available,
    enable: (/** @type {boolean} */ on) => {
      enabled = on
    },
    stop: async () => {
      stopped = true
      await loop
    },
  }
}
