/**
 * Routing micro-benchmark: the per-request decision (reader location from `cf`, the data
 * center's view, health view, ranking, latency steering, preference) at 10, 100 and 1,000 origins, in microseconds per decision. Runs in
 * Node on the Worker's own TypeScript modules, loaded through tsx:
 *
 *   node --import tsx scripts/lib/bench-routing.mjs [--quick]
 *
 * Prints one JSON line. (Inside workerd the clock stands still while code runs, so a
 * micro-benchmark can only be timed outside it.)
 */
import { fileURLToPath } from 'node:url'

/** Origin counts measured. */
export const SIZES = [10, 100, 1000]

/** Readers in a few cities, cycled so that no two decisions in a row are identical. */
const READERS = [
  { latitude: '48.86', longitude: '2.35' },
  { latitude: '40.71', longitude: '-74.01' },
  { latitude: '35.68', longitude: '139.69' },
  { latitude: '-33.87', longitude: '151.21' },
  { latitude: '-23.55', longitude: '-46.63' },
  { latitude: '1.35', longitude: '103.82' },
  { latitude: '55.76', longitude: '37.62' },
  { latitude: '6.52', longitude: '3.38' },
]

/**
 * `n` valid origins spread over the globe (a fixed pseudo-random sequence), the first primary.
 * @param {number} n
 */
export function syntheticOrigins(n) {
  let seed = 42
  const next = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
    return seed / 2 ** 31
  }
  return Array.from({ length: n }, (_, i) => ({
    id: `origin-${i}`,
    url: `https://o${i}.example.com`,
    lat: Math.round((next() * 140 - 65) * 100) / 100,
    lon: Math.round((next() * 360 - 180) * 100) / 100,
    ...(i === 0 ? { primary: true } : {}),
  }))
}

/**
 * Median time of `fn` per call, in microseconds, over `batches` batches of about `batchMs`.
 * @param {() => unknown} fn
 * @param {{ batchMs: number, batches: number }} options
 */
function timePerCall(fn, { batchMs, batches }) {
  // Calibrate a batch size that lasts about batchMs, warming the JIT on the way.
  let n = 16
  for (;;) {
    const start = process.hrtime.bigint()
    for (let i = 0; i < n; i++) fn()
    const ms = Number(process.hrtime.bigint() - start) / 1e6
    if (ms >= batchMs / 4) {
      n = Math.max(1, Math.round((n * batchMs) / ms))
      break
    }
    n *= 2
  }
  const samples = []
  for (let b = 0; b < batches; b++) {
    const start = process.hrtime.bigint()
    for (let i = 0; i < n; i++) fn()
    samples.push(Number(process.hrtime.bigint() - start) / 1e3 / n)
  }
  samples.sort((a, b) => a - b)
  return samples[Math.floor(samples.length / 2)] ?? Number.NaN
}

/**
 * Runs the micro-benchmark; resolves with µs per decision (and per ranking alone) by size.
 * @param {{ quick?: boolean }} [options]
 */
export async function benchRouting({ quick = false } = {}) {
  // Non-literal specifiers: these are the Worker's TypeScript modules, typed for workerd.
  const load = (/** @type {string} */ path) => import(path)
  const { validateConfig } = await load('../../worker/config')
  const { locateReader } = await load('../../worker/geo')
  const { rankOrigins } = await load('../../worker/routing')
  const { healthView } = await load('../../worker/health/view')
  const { ColoHealth } = await load('../../worker/health/colo-store')
  const { steerReady } = await load('../../worker/health/latency')
  const { NO_OVERRIDES } = await load('../../worker/overrides')
  const { preferFirst } = await load('../../worker/steering')
  const timing = quick ? { batchMs: 50, batches: 5 } : { batchMs: 200, batches: 7 }
  /** @type {{ origins: number, decisionUs: number, nearestUs: number, rankUs: number }[]} */
  const results = []
  for (const size of SIZES) {
    const result = validateConfig(syntheticOrigins(size))
    if (!result.ok) throw new Error(`synthetic origins invalid: ${result.errors.join('; ')}`)
    const { origins, settings } = result.config
    const colo = new ColoHealth('FRA')
    // A realistic view: one origin ejected in this data center, every other one measured.
    const refused = { kind: 'failure', reason: 'connect error', conclusive: true }
    colo.record(origins[1].id, refused, Date.now(), origins.length)
    for (const [i, o] of origins.entries()) {
      if (i !== 1)
        colo.record(o.id, { kind: 'success', ms: 20 + (i % 7) * 15 }, Date.now(), origins.length)
    }
    const { routing, health: healthSettings } = settings
    const bucketMs = healthSettings.localEvidence.windowMs / 2
    const rule = { marginMs: routing.steeringMarginMs, ratio: routing.steeringRatio }
    const emptyProbes = new Map()
    let turn = 0
    let sink = 0
    /** As worker/pipeline.ts `fromOrigin` decides, with `fastest` steering or without. */
    const decision = (/** @type {boolean} */ fastest) => () => {
      const cf = READERS[turn++ % READERS.length]
      const now = Date.now()
      const reader = locateReader(cf, null)
      const facts = (/** @type {string} */ id) => colo.facts(id, now, bucketMs)
      const health = healthView(origins, emptyProbes, NO_OVERRIDES, facts, 5)
      let ranked = rankOrigins(origins, reader, health, now, routing.defaultOrder)
      if (fastest) {
        const nearest = ranked[0].origin.id
        const explore = { lastExploreAt: colo.lastExploreAt, now, intervalMs: 2_000 }
        const steered = steerReady(ranked, facts, colo.chosen.get(nearest), rule, explore)
        if (steered.chosen) colo.chosen.set(nearest, steered.chosen)
        if (steered.explored) colo.lastExploreAt = now
        ranked = steered.ranked
      }
      sink += preferFirst(ranked, undefined).length
    }
    const decide = decision(true)
    const health = healthView(origins, emptyProbes, NO_OVERRIDES, () => undefined, 5)
    const rankOnly = () => {
      const cf = /** @type {(typeof READERS)[number]} */ (READERS[turn++ % READERS.length])
      const reader = { lat: Number(cf.latitude), lon: Number(cf.longitude), source: 'cf' }
      sink += rankOrigins(origins, reader, health, Date.now()).length
    }
    results.push({
      origins: size,
      nearestUs: timePerCall(decision(false), timing),
      decisionUs: timePerCall(decide, timing),
      rankUs: timePerCall(rankOnly, timing),
    })
    if (sink < 0) console.log(sink)
  }
  return results
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const results = await benchRouting({ quick: process.argv.includes('--quick') })
  process.stdout.write(`${JSON.stringify(results)}\n`)
}
