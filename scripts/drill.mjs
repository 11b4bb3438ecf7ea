/**
 * `npm run drill`: georoute in front of three real origins on 127.0.0.1 under a steady stream
 * of reads and writes, while faults are injected one after another. Writes docs/DRILLS.md and
 * exits non-zero when a goal is missed, so it can guard a release.
 *
 *   npm run drill                 the full drill (a few minutes)
 *   npm run drill -- --short      the short version that `npm test` runs
 *   npm run drill -- --no-write   print only
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { machineDescription } from './lib/bench-proc.mjs'
import { buildBundle } from './lib/bundle.mjs'
import { parseFlags } from './lib/cli.mjs'
import { renderDrillReport, summaryLine } from './lib/drill-report.mjs'
import { runDrill } from './lib/drill-run.mjs'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')

const USAGE = `Usage: npm run drill [-- options]

  --short       the short version that npm test runs (about 40 s)
  --out FILE    where to write the report (default docs/DRILLS.md)
  --no-write    print only
  --help

Needs only Node and npm install: the origins are Node servers and the Worker runs under the
workerd that npm installs with Miniflare, all on 127.0.0.1 (free ports picked at start).`

const flags = parseFlags(
  {
    short: { type: 'boolean', default: false },
    out: { type: 'string', default: join(ROOT, 'docs', 'DRILLS.md') },
    'no-write': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
  USAGE,
)
const log = (/** @type {string} */ line) => process.stdout.write(`${line}\n`)

log('bundling the Worker (wrangler deploy --dry-run)…')
const script = buildBundle(join(ROOT, '.wrangler', 'drill', 'bundle'))

const machine = machineDescription()
const run = await runDrill({ script, short: flags.short, log })
log('')
for (const result of run.results) {
  log(summaryLine(result))
  for (const failure of result.failures) log(`  failed: ${failure}`)
  for (const other of result.allDown?.others ?? [])
    log(`  neither cached nor a clean 503: ${other}`)
}
log('')
for (const goal of run.goals) log(`${goal.met ? 'met   ' : 'MISSED'} ${goal.label}: ${goal.detail}`)

if (!flags['no-write']) {
  const report = renderDrillReport(run, {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    machine: { CPU: machine.cpu, Memory: machine.memory, OS: machine.os, Node: machine.node },
  })
  mkdirSync(dirname(flags.out), { recursive: true })
  writeFileSync(flags.out, report)
  log(`wrote ${flags.out}`)
}
process.exitCode = run.goals.every((g) => g.met) ? 0 : 1
