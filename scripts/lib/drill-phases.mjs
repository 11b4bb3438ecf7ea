/**
 * The drill's faults, one after another: each is injected for a while, then undone, and the
 * drill waits until the recovered origin has its readers back (or a bounded time has passed).
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { readersBackAt, writesBackAt } from './drill-analyze.mjs'

/**
 * @typedef {import('./drill-fleet.mjs').Fleet} Fleet
 * @typedef {import('./drill-load.mjs').Sent} Sent
 */

/**
 * What a fault can reach: the origins, georoute's KV namespace, and the cron emulation.
 * @typedef {object} Levers
 * @property {Fleet} fleet
 * @property {{ put(key: string, value: string): Promise<unknown>, delete(key: string): Promise<unknown> }} kv
 * @property {(on: boolean) => void} probes Pauses or resumes the emulated cron.
 */

/**
 * @typedef {object} Phase
 * @property {string} name
 * @property {string} [target] Origin the fault hits ('all': every origin); readers whose nearest
 *   it is are the affected ones.
 * @property {boolean} [allDown] No origin is up while the fault lasts.
 * @property {boolean} [slow] The target answers, only slower: readers count as moved once
 *   another origin answers them (steering still measures the target in the background).
 * @property {string} [colo] Only readers entering this data center are cut off from the
 *   target; the target's other readers must not notice.
 * @property {number} faultMs How long the fault lasts.
 * @property {(levers: Levers) => Promise<void> | void} [inject]
 * @property {(levers: Levers) => Promise<void> | void} [restore]
 */

/**
 * @typedef {object} PhaseRun
 * @property {Phase} phase
 * @property {number} start
 * @property {number} faultEnd When the fault was undone.
 * @property {number} end
 */

/**
 * A key name exported by one of the Worker's modules (`export const NAME = '...'`), read from
 * its source so the drill follows a rename.
 * @param {string} file Path from the repository root.
 * @param {string} name
 */
export function workerConstant(file, name) {
  const source = readFileSync(fileURLToPath(new URL(`../../${file}`, import.meta.url)), 'utf8')
  const match = new RegExp(`export const ${name} = '([^']+)'`).exec(source)
  if (!match?.[1]) throw new Error(`${file}: no ${name}`)
  return match[1]
}

const NEAREST = 'virginia'
/** The data center of the New York readers (scripts/lib/drill-load.mjs). */
const CUT_COLO = 'EWR'

/**
 * The faults in order. `short` is the version `npm test` runs: the same faults minus flapping,
 * each shorter.
 * @param {{ short: boolean }} options
 * @returns {Phase[]}
 */
export function phases({ short }) {
  const faultMs = short ? 3_000 : 10_000
  /** @type {NodeJS.Timeout | undefined} */
  let flapping
  const healthKey = workerConstant('worker/health/snapshot.ts', 'HEALTH_KEY')
  const overridesKey = workerConstant('worker/overrides.ts', 'OVERRIDES_KEY')
  /** @type {Phase[]} */
  const list = [
    { name: 'baseline (no fault)', faultMs: short ? 2_000 : 5_000 },
    {
      name: 'nearest origin resets connections',
      target: NEAREST,
      faultMs,
      inject: ({ fleet }) => fleet.setMode(NEAREST, 'reset'),
      restore: ({ fleet }) => fleet.setMode(NEAREST, 'ok'),
    },
    {
      name: 'nearest origin hangs',
      target: NEAREST,
      faultMs,
      inject: ({ fleet }) => fleet.setMode(NEAREST, 'hang'),
      restore: ({ fleet }) => fleet.setMode(NEAREST, 'ok'),
    },
    {
      name: 'nearest origin answers 503',
      target: NEAREST,
      faultMs,
      inject: ({ fleet }) => fleet.setMode(NEAREST, 'error503'),
      restore: ({ fleet }) => fleet.setMode(NEAREST, 'ok'),
    },
    {
      name: `one colo (${CUT_COLO}) cannot reach the nearest origin`,
      target: NEAREST,
      colo: CUT_COLO,
      faultMs,
      inject: ({ fleet }) => fleet.cutColos(NEAREST, [CUT_COLO]),
      restore: ({ fleet }) => fleet.cutColos(NEAREST, []),
    },
    {
      name: 'nearest origin slow (+300 ms)',
      target: NEAREST,
      slow: true,
      faultMs,
      inject: ({ fleet }) => {
        fleet.setSlowMs(NEAREST, 300)
        fleet.setMode(NEAREST, 'slow')
      },
      restore: ({ fleet }) => fleet.setMode(NEAREST, 'ok'),
    },
  ]
  if (!short) {
    list.push({
      name: 'nearest origin flaps (reset ↔ ok every 2 s)',
      target: NEAREST,
      faultMs: 12_000,
      inject: ({ fleet }) => {
        let down = true
        fleet.setMode(NEAREST, 'reset')
        flapping = setInterval(() => {
          down = !down
          fleet.setMode(NEAREST, down ? 'reset' : 'ok')
        }, 2_000)
      },
      restore: ({ fleet }) => {
        clearInterval(flapping)
        fleet.setMode(NEAREST, 'ok')
      },
    })
  }
  list.push(
    {
      name: 'primary dies during writes',
      target: 'frankfurt',
      faultMs,
      // First it drops connections it has accepted (writes in flight), then it is gone.
      inject: async ({ fleet }) => {
        fleet.setMode('frankfurt', 'reset')
        await new Promise((resolve) => setTimeout(resolve, faultMs / 2))
        await fleet.kill('frankfurt')
      },
      restore: ({ fleet }) => fleet.revive('frankfurt'),
    },
    {
      name: 'every origin dies',
      target: 'all',
      allDown: true,
      faultMs,
      inject: async ({ fleet }) => {
        await Promise.all(fleet.ids.map((id) => fleet.kill(id)))
      },
      restore: async ({ fleet }) => {
        await Promise.all(fleet.ids.map((id) => fleet.revive(id)))
      },
    },
    {
      name: 'KV holds a corrupt snapshot',
      // Longer than the isolate's memo of each key (10 s), so readers do read the corrupt values.
      faultMs: short ? 11_000 : 15_000,
      inject: async ({ kv, probes }) => {
        probes(false)
        await kv.put(healthKey, '{"version":1,"updatedAt":')
        await kv.put(overridesKey, 'drained: everything')
      },
      restore: async ({ kv, probes }) => {
        await kv.delete(healthKey)
        await kv.delete(overridesKey)
        probes(true)
      },
    },
  )
  return list
}

const sleep = (/** @type {number} */ ms) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Runs the phases in order against the live stream `sent`.
 * @param {Phase[]} list
 * @param {{ levers: Levers, sent: Sent[], recoveryMs: number,
 *   log?: (line: string) => void }} context
 * @returns {Promise<PhaseRun[]>}
 */
export async function runPhases(list, { levers, sent, recoveryMs, log = () => {} }) {
  /** @type {PhaseRun[]} */
  const runs = []
  for (const phase of list) {
    const start = Date.now()
    log(`fault: ${phase.name}`)
    // An inject that takes time (the primary's slow death) counts as part of the fault.
    const injected = Promise.resolve(phase.inject?.(levers))
    await Promise.all([injected, sleep(phase.faultMs)])
    await phase.restore?.(levers)
    const faultEnd = Date.now()
    if (phase.target) {
      const deadline = faultEnd + recoveryMs
      const writes = phase.target === 'all' || phase.target === levers.fleet.primary
      while (Date.now() < deadline) {
        const readers = readersBackAt(sent, phase, faultEnd) !== undefined
        if (readers && (!writes || writesBackAt(sent, faultEnd) !== undefined)) break
        await sleep(250)
      }
    }
    // Let requests sent during the phase finish inside it.
    await sleep(500)
    runs.push({ phase, start, faultEnd, end: Date.now() })
  }
  return runs
}
