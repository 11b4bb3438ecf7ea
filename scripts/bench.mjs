/**
 * `npm run bench`: georoute's speed, measured side by side with a bare Worker on this machine.
 *
 *   npm run bench                  full run (a few minutes), writes docs/BENCHMARKS.md
 *   npm run bench -- --quick       shorter rounds, for a quick look
 *   npm run bench -- --seconds 3 --rounds 6 --connections 32 --only miss,hit,failover
 *   npm run bench -- --no-write    print only
 *
 * A lean origin serves a ~20 KB page on 127.0.0.1. Every Worker runs under the same workerd
 * (Miniflare API, listening socket wired straight to the Worker, no dev proxy in between),
 * and every target is driven by the same `wrk` settings in alternating rounds. See
 * docs/BENCHMARKS.md for what each number means. What it needs from the system: see USAGE.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { HAS_PROC, machineDescription } from './lib/bench-proc.mjs'
import { checkGoals, hitBreakdown, missBreakdown, renderReport } from './lib/bench-report.mjs'
import { runRounds } from './lib/bench-rounds.mjs'
import { runScenarios } from './lib/bench-scenarios.mjs'
import { measureStartup, WORKERD } from './lib/bench-startup.mjs'
import { nginxVersion, startOriginProcess } from './lib/bench-targets.mjs'
import { writeReporter, wrkVersion } from './lib/bench-wrk.mjs'
import { buildBundle } from './lib/bundle.mjs'
import { parseFlags } from './lib/cli.mjs'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const WORK = join(ROOT, '.wrangler', 'bench')

const USAGE = `Usage: npm run bench [-- options]

  --quick                 shorter rounds, for a quick look
  --seconds N --rounds N --connections N
  --only miss,hit,...     only these scenarios
  --out FILE              where to write the report (default docs/BENCHMARKS.md)
  --no-write              print only
  --help

Needs, besides Node and npm install:
  Linux            CPU time per process is read from /proc (macOS, Windows: run it in a Linux VM
                   or container)
  wrk              drives the load rounds (req/s, latency, CPU per request); without it only the
                   routing micro-benchmark and start-up are measured, and no report is written.
                   Debian/Ubuntu: sudo apt-get install -y wrk
  nginx, optional  a reference row (nginx as a reverse proxy); skipped when missing.
                   Debian/Ubuntu: sudo apt-get install -y nginx-light`

const flags = parseFlags(
  {
    quick: { type: 'boolean', default: false },
    seconds: { type: 'string' },
    rounds: { type: 'string' },
    connections: { type: 'string' },
    only: { type: 'string' },
    out: { type: 'string', default: join(ROOT, 'docs', 'BENCHMARKS.md') },
    'no-write': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
  USAGE,
)
if (!HAS_PROC) {
  process.stderr.write(
    `npm run bench needs Linux: it reads each process's CPU time from /proc, which ${process.platform} does not have. Run it in a Linux VM or container.\n`,
  )
  process.exit(1)
}

const options = {
  seconds: Number(flags.seconds ?? (flags.quick ? 2 : 3)),
  oneSeconds: flags.quick ? 1 : 2,
  rounds: Number(flags.rounds ?? (flags.quick ? 2 : 6)),
  connections: Number(flags.connections ?? 32),
}
const only = flags.only ? new Set(flags.only.split(',')) : undefined
const log = (/** @type {string} */ line) => process.stdout.write(`${line}\n`)

/** Bundles the Worker exactly as `wrangler deploy` would, and measures the bundle. */
function bundleAndMeasure() {
  const script = buildBundle(join(WORK, 'bundle'))
  const bytes = readFileSync(script)
  return { script, raw: bytes.length, gzip: gzipSync(bytes).length }
}

/** @type {(() => Promise<void>)[]} */
const cleanups = []
async function cleanUp() {
  for (const close of cleanups.splice(0).reverse()) await close().catch(() => {})
}
for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
  process.once(signal, () => cleanUp().finally(() => process.exit(130)))
}

async function main() {
  mkdirSync(WORK, { recursive: true })
  const machine = machineDescription()
  const wrk = wrkVersion()
  const nginx = nginxVersion()
  /** @type {string[]} */
  const notes = []
  log(`georoute bench: ${machine.cpu}, ${machine.memory}, load ${machine.load}`)
  log(`wrk:   ${wrk ?? 'NOT FOUND'}`)
  log(`nginx: ${nginx ?? 'not found (optional)'}`)
  if (!wrk) {
    notes.push('wrk is not installed (Debian: `apt-get install wrk`): load rounds were skipped.')
    log(
      'wrk is not installed: the load rounds are SKIPPED and no report is written (docs/BENCHMARKS.md keeps its numbers). Install it: sudo apt-get install -y wrk',
    )
  }
  if (!nginx) {
    notes.push('nginx is not installed (`apt-get install nginx-light`): its row is skipped.')
    if (wrk)
      log(
        'nginx is not installed: its reference row is skipped (sudo apt-get install -y nginx-light)',
      )
  }

  log('bundling the Worker (wrangler deploy --dry-run)…')
  const bundle = bundleAndMeasure()
  const origin = await startOriginProcess()
  cleanups.push(origin.close)
  const reporter = writeReporter(WORK)

  const scenarios = wrk
    ? await runScenarios({
        script: bundle.script,
        origin,
        nginx: Boolean(nginx),
        work: WORK,
        only,
        cleanups,
        notes,
        log,
        rounds: (scenario) => runRounds(scenario, { ...options, reporter, log }),
      })
    : []

  notes.push(...missBreakdown(scenarios.find((s) => s.id === 'miss')))
  notes.push(...hitBreakdown(scenarios.find((s) => s.id === 'hit')))

  log('routing micro-benchmark…')
  const routing = JSON.parse(
    execFileSync(
      process.execPath,
      [
        '--import',
        'tsx',
        join(ROOT, 'scripts', 'lib', 'bench-routing.mjs'),
        ...(flags.quick ? ['--quick'] : []),
      ],
      { cwd: ROOT, encoding: 'utf8' },
    ),
  )

  log('start-up and KV reads under raw workerd…')
  const { startup, kv } = await measureStartup({
    work: WORK,
    script: bundle.script,
    origin: origin.url,
    reporter: wrk ? reporter : undefined,
  })
  machine.load = `${machine.load} at start, ${machineDescription().load} at end (1, 5, 15 min)`

  const goals = checkGoals({ scenarios, routing, bundle, kv })
  const report = renderReport({
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    machine: {
      CPU: machine.cpu,
      Memory: machine.memory,
      OS: machine.os,
      Node: machine.node,
      'Load average': machine.load,
    },
    tools: {
      workerd: WORKERD.version,
      wrk: wrk ?? 'not installed',
      nginx: nginx ?? 'not installed',
    },
    options: {
      'rounds per scenario': options.rounds,
      'seconds per loaded run': options.seconds,
      connections: options.connections,
      'seconds per one-connection run': options.oneSeconds,
    },
    scenarios,
    routing,
    bundle,
    startup,
    kv,
    goals,
    notes,
  })
  if (!flags['no-write'] && wrk) {
    mkdirSync(dirname(flags.out), { recursive: true })
    writeFileSync(flags.out, report)
    log(`wrote ${flags.out}`)
  }
  log('')
  for (const goal of goals) {
    const state = goal.met === undefined ? 'n/a   ' : goal.met ? 'met   ' : 'MISSED'
    log(`${state} ${goal.label}: ${goal.detail}`)
  }
}

try {
  await main()
} finally {
  await cleanUp()
}
