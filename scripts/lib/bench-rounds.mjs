/**
 * Load rounds for one scenario: every target driven by the same wrk settings, in alternating
 * order (A B C, C B A, ...) so drift on a shared machine spreads evenly, with throughput ratios
 * paired per round to the scenario's reference target.
 */
import { cpuSeconds } from './bench-proc.mjs'
import { runWrk } from './bench-wrk.mjs'

/**
 * @typedef {object} RoundOptions
 * @property {number} seconds Length of one loaded run.
 * @property {number} oneSeconds Length of the one-connection run (p50 at one connection).
 * @property {number} rounds
 * @property {number} connections
 * @property {string} reporter wrk Lua reporter path.
 * @property {(line: string) => void} [log]
 */

/**
 * @typedef {object} RoundTarget
 * @property {string} label Row name in the report.
 * @property {string} url Base URL.
 * @property {number[]} pids Processes whose CPU counts (the proxy under test).
 * @property {string} [note] Shown next to the row (e.g. the cache status it answered with).
 */

/**
 * @typedef {object} TargetSummary
 * @property {string} label
 * @property {string | undefined} note
 * @property {number} rps Median over rounds.
 * @property {number | undefined} ratio Median of per-round rps ratios to the reference.
 * @property {number | undefined} cpuRatio Median of per-round CPU-per-request ratios.
 * @property {number} cpuUs Median CPU time per request of the target's process, µs.
 * @property {number} p50One Median p50 latency at one connection, µs.
 * @property {number} p99 Median p99 latency under load, µs.
 * @property {number} errors Summed over rounds (loaded and one-connection runs).
 * @property {number} requests Summed over the loaded runs.
 * @property {number[]} roundRps Per round, in round order (for ratios paired to another row).
 * @property {number[]} roundCpuUs Per round, in round order.
 */

/** @param {number[]} values */
export function median(values) {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  const upper = sorted[mid] ?? Number.NaN
  return sorted.length % 2 ? upper : ((sorted[mid - 1] ?? Number.NaN) + upper) / 2
}

/**
 * One wrk run with the target's CPU time read before and after.
 * @param {RoundTarget} target
 * @param {{ path: string, headers: Record<string, string>, seconds: number,
 *   connections: number, reporter: string }} run
 */
async function measure(target, { path, headers, seconds, connections, reporter }) {
  const before = cpuSeconds(target.pids)
  const result = await runWrk({ url: target.url + path, seconds, connections, headers, reporter })
  const cpu = cpuSeconds(target.pids) - before
  return { ...result, cpuUs: result.requests > 0 ? (cpu * 1e6) / result.requests : Number.NaN }
}

/**
 * Runs the rounds; the first target is the reference that ratios are paired to.
 * @param {{ path: string, headers?: Record<string, string>, targets: RoundTarget[] }} scenario
 * @param {RoundOptions} options
 * @returns {Promise<TargetSummary[]>}
 */
export async function runRounds({ path, headers = {}, targets }, options) {
  const { seconds, oneSeconds, rounds, connections, reporter, log = () => {} } = options
  /** @type {Map<RoundTarget, { rps: number, cpuUs: number, p50One: number, p99: number, errors: number, requests: number }[]>} */
  const results = new Map(targets.map((t) => [t, []]))
  // Warm every target up (JIT, connection pools) before anything counts.
  for (const target of targets) {
    await measure(target, { path, headers, seconds: 1, connections, reporter })
  }
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? targets : [...targets].reverse()
    for (const target of order) {
      const loaded = await measure(target, { path, headers, seconds, connections, reporter })
      const one = await runWrk({
        url: target.url + path,
        seconds: oneSeconds,
        connections: 1,
        headers,
        reporter,
      })
      results.get(target)?.push({
        rps: loaded.rps,
        cpuUs: loaded.cpuUs,
        p50One: one.p50,
        p99: loaded.p99,
        errors: loaded.errors + one.errors,
        requests: loaded.requests,
      })
      log(
        `  round ${round + 1}/${rounds} ${target.label.padEnd(28)} ${Math.round(loaded.rps)
          .toString()
          .padStart(6)} req/s  ${loaded.cpuUs.toFixed(0).padStart(4)} µs CPU/req  p50@1 ${(
          one.p50 / 1000
        ).toFixed(2)} ms  errors ${loaded.errors + one.errors}`,
      )
    }
  }
  const reference = results.get(/** @type {RoundTarget} */ (targets[0])) ?? []
  return targets.map((target) => {
    const runs = results.get(target) ?? []
    return {
      label: target.label,
      note: target.note,
      rps: median(runs.map((r) => r.rps)),
      ratio: median(runs.map((r, i) => r.rps / (reference[i]?.rps ?? Number.NaN))),
      cpuRatio: median(runs.map((r, i) => r.cpuUs / (reference[i]?.cpuUs ?? Number.NaN))),
      cpuUs: median(runs.map((r) => r.cpuUs)),
      p50One: median(runs.map((r) => r.p50One)),
      p99: median(runs.map((r) => r.p99)),
      errors: runs.reduce((sum, r) => sum + r.errors, 0),
      requests: runs.reduce((sum, r) => sum + r.requests, 0),
      roundRps: runs.map((r) => r.rps),
      roundCpuUs: runs.map((r) => r.cpuUs),
    }
  })
}
