/**
 * CPU accounting from Linux's /proc: which processes a proxy under test runs as, and how much CPU
 * time (user + system) they used, so the benchmark can report CPU time per request of the
 * proxy's own process rather than of the whole machine.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { cpus, loadavg, release, totalmem, type } from 'node:os'

/**
 * Whether this system has Linux's /proc. Without it (macOS, Windows) no process's CPU time can
 * be read: the drill needs none, the bench refuses to run.
 */
export const HAS_PROC = existsSync('/proc/self/stat')

/** Clock ticks per second of /proc's utime/stime fields (almost always 100). */
export const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
  } catch {
    return 100
  }
})()

/**
 * The fields of /proc/<pid>/stat that we need, or undefined when the process is gone.
 * @param {number} pid
 */
export function procStat(pid) {
  let text
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return undefined
  }
  // The command name is in parentheses and may contain spaces: split after the last ')'.
  const close = text.lastIndexOf(')')
  const comm = text.slice(text.indexOf('(') + 1, close)
  const fields = text.slice(close + 2).split(' ')
  // fields[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
  return {
    pid,
    comm,
    ppid: Number(fields[1]),
    ticks: Number(fields[11]) + Number(fields[12]),
  }
}

/** Every process's pid, from /proc. */
function allPids() {
  if (!HAS_PROC) return []
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
}

/**
 * Children of `parent` whose command name is `comm` (any name when omitted).
 * @param {number} parent
 * @param {string} [comm]
 */
export function childPids(parent, comm) {
  const found = []
  for (const pid of allPids()) {
    const stat = procStat(pid)
    if (stat && stat.ppid === parent && (comm === undefined || stat.comm === comm)) found.push(pid)
  }
  return found
}

/**
 * CPU time used so far by these processes, in seconds (a process that is gone counts 0).
 * @param {readonly number[]} pids
 */
export function cpuSeconds(pids) {
  let ticks = 0
  for (const pid of pids) ticks += procStat(pid)?.ticks ?? 0
  return ticks / CLOCK_TICKS
}

/** A one-line description of this machine for the report. */
export function machineDescription() {
  const list = cpus()
  const model = list[0]?.model.replace(/\s+/g, ' ').trim() ?? 'unknown CPU'
  const memGiB = Math.round(totalmem() / 1024 ** 3)
  let os = `${type()} ${release()}`
  try {
    os = /PRETTY_NAME="([^"]+)"/.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? os
  } catch {}
  return {
    cpu: `${list.length} × ${model}`,
    memory: `${memGiB} GiB`,
    os,
    node: process.version,
    load: loadavg()
      .map((l) => l.toFixed(2))
      .join(' '),
  }
}
