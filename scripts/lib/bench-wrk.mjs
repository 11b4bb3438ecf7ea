/**
 * Drives a target with `wrk` (Debian's package): bounded in time, latency percentiles in
 * microseconds, errors by kind, all read from one JSON line that a small Lua `done` hook prints.
 */
import { execFile, execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'

// wrk's Lua hook: one machine-readable line instead of its human summary.
const REPORT_LUA = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"durationUs":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"p50":%.0f,"p90":%.0f,"p99":%.0f,"max":%.0f,"mean":%.1f}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
end
`

/** The `wrk` version line, or undefined when wrk is not installed. */
export function wrkVersion() {
  try {
    const out = execFileSync('wrk', ['--version'], { encoding: 'utf8', stdio: 'pipe' })
    return out.split('\n')[0]?.trim()
  } catch (error) {
    // wrk prints its version and usage, then exits 1.
    const out = /** @type {{ stdout?: string }} */ (error).stdout ?? ''
    return /^wrk /.test(out) ? out.split('\n')[0]?.trim() : undefined
  }
}

/**
 * Writes the Lua reporter into `dir` and returns its path.
 * @param {string} dir
 */
export function writeReporter(dir) {
  const path = join(dir, 'wrk-report.lua')
  writeFileSync(path, REPORT_LUA)
  return path
}

/**
 * @typedef {object} WrkResult
 * @property {number} requests
 * @property {number} seconds Measured duration.
 * @property {number} rps Requests per second.
 * @property {number} errors Connect, read, write, timeout errors and non-2xx/3xx answers.
 * @property {number} p50 Latency in microseconds.
 * @property {number} p90
 * @property {number} p99
 * @property {number} max
 */

/**
 * Runs wrk against `url` and resolves with its numbers.
 * @param {{ url: string, seconds: number, connections: number, threads?: number,
 *   headers?: Record<string, string>, reporter: string }} options
 * @returns {Promise<WrkResult>}
 */
export function runWrk({ url, seconds, connections, threads = 1, headers = {}, reporter }) {
  const args = [
    `-t${Math.min(threads, connections)}`,
    `-c${connections}`,
    `-d${seconds}s`,
    '--timeout',
    '10s',
    '-s',
    reporter,
  ]
  for (const [name, value] of Object.entries(headers)) args.push('-H', `${name}: ${value}`)
  args.push(url)
  return new Promise((resolve, reject) => {
    execFile('wrk', args, { encoding: 'utf8', timeout: (seconds + 30) * 1000 }, (error, stdout) => {
      const line = stdout.split('\n').find((l) => l.startsWith('WRK_JSON '))
      if (!line) {
        reject(new Error(`wrk gave no report (${error?.message ?? 'no output'}): ${stdout}`))
        return
      }
      const r = JSON.parse(line.slice('WRK_JSON '.length))
      const measured = r.durationUs / 1e6
      resolve({
        requests: r.requests,
        seconds: measured,
        rps: r.requests / measured,
        errors: r.connect + r.read + r.write + r.timeout + r.status,
        p50: r.p50,
        p90: r.p90,
        p99: r.p99,
        max: r.max,
      })
    })
  })
}
