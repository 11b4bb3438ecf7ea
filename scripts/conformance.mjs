/**
 * `npm run conformance`: the public cache-tests suite (http-tests/cache-tests, behind
 * cache-tests.fyi) against georoute under workerd, in front of the suite's own origin server on
 * 127.0.0.1. Scores the run with the suite's own result logic next to the results the suite
 * publishes for other caches, and writes docs/CONFORMANCE.md.
 *
 *   CACHE_TESTS_DIR=../cache-tests npm run conformance
 *   npm run conformance -- --only freshness-none        one test, with its requests and responses
 *   npm run conformance -- --compare old-results.json   what passed before and fails now, and back
 *   npm run conformance -- --no-write                   print only
 *   npm run conformance -- --rerender                   the report again from the saved results
 *
 * Every run saves its per-test results to .wrangler/conformance/results.json (outside git); a
 * test that went from pass to fail under --compare makes the exit status 1.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { WORKERD } from './lib/bench-startup.mjs'
import { ROOT } from './lib/bundle.mjs'
import { UNSTABLE } from './lib/conformance-classes.mjs'
import { renderConformanceReport } from './lib/conformance-report.mjs'
import { runConformance } from './lib/conformance-run.mjs'
import {
  classify,
  compareRuns,
  failures,
  groupFailures,
  proxyTests,
  score,
} from './lib/conformance-score.mjs'
import { gitHead, loadSuite, locateSuite, SUITE_HELP } from './lib/conformance-suite.mjs'

/** @typedef {import('./lib/conformance-suite.mjs').RawResult} RawResult */

const { values: flags } = parseArgs({
  options: {
    only: { type: 'string' },
    compare: { type: 'string' },
    out: { type: 'string', default: join(ROOT, 'docs', 'CONFORMANCE.md') },
    json: { type: 'string', default: join(ROOT, '.wrangler', 'conformance', 'results.json') },
    'no-write': { type: 'boolean', default: false },
    rerender: { type: 'boolean', default: false },
    'timeout-seconds': { type: 'string', default: '600' },
  },
})
const log = (/** @type {string} */ line) => process.stdout.write(`${line}\n`)

const located = locateSuite(process.env.CACHE_TESTS_DIR)
if (!located.ok) {
  process.stderr.write(`${located.problem}.\n\n${SUITE_HELP}\n`)
  process.exit(2)
}
const dir = resolve(located.dir)
const suite = await loadSuite(dir)
const tests = proxyTests(suite.sections)
if (flags.only && !tests.some((t) => t.id === flags.only)) {
  process.stderr.write(`no test "${flags.only}" among the suite's proxy tests\n`)
  process.exit(2)
}

/** @type {{ date: string, suiteCommit: string, georouteCommit: string, runtime: string }} */
let meta
/** @type {Record<string, RawResult>} */
let raw
if (flags.rerender) {
  // The saved results of the last run, with today's classes and diagnoses.
  const saved = JSON.parse(readFileSync(flags.json, 'utf8'))
  raw = saved.results
  meta = {
    date: saved.date,
    suiteCommit: saved.suiteCommit,
    georouteCommit: saved.georouteCommit,
    runtime: saved.runtime,
  }
} else {
  meta = {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    suiteCommit: suite.commit,
    georouteCommit: gitHead(ROOT),
    runtime: `workerd ${WORKERD.version} (Miniflare)`,
  }
  const timeoutMs = Number(flags['timeout-seconds']) * 1000
  const run = await runConformance({
    dir,
    ...(flags.only ? { only: flags.only } : {}),
    tests: tests.length,
    timeoutMs,
    log,
  })
  if (run.timedOut) {
    process.stderr.write(`the suite's client did not finish within ${timeoutMs / 1000} s\n`)
    process.exit(1)
  }
  if (flags.only) {
    const { class: name, reason } = classify(flags.only)
    if (name !== 'open') log(`class: ${name} (${reason})`)
    process.exit(run.code ?? 1)
  }
  try {
    raw = JSON.parse(run.stdout.slice(run.stdout.indexOf('{')))
  } catch {
    process.stderr.write(
      `the suite's client printed no results (exit ${run.code}):\n${run.stderr}\n`,
    )
    process.exit(1)
  }
  if (run.stderr.trim()) log(`the suite's client reported:\n${run.stderr.trim().slice(0, 2000)}`)
}

const georoute = score(tests, (id) => suite.verdict(id, raw))
const failed = failures(tests, georoute, raw)
const published = suite.published.map((item) => ({
  name: item.name,
  type: item.type,
  version: item.version,
  score: score(tests, (id) => suite.verdict(id, item.results)),
}))
const verdicts = Object.fromEntries(georoute.verdicts)

if (!flags.rerender) {
  mkdirSync(dirname(flags.json), { recursive: true })
  if (existsSync(flags.json))
    copyFileSync(flags.json, `${flags.json.replace(/\.json$/, '')}.previous.json`)
  writeFileSync(flags.json, `${JSON.stringify({ ...meta, verdicts, results: raw }, null, 2)}\n`)
}

const tally = (/** @type {{ passed: number, of: number }} */ t) => `${t.passed}/${t.of}`
log('')
log(
  `georoute: ${tally(georoute.total)} passed (required ${tally(georoute.byKind.required)}, optimal ${tally(georoute.byKind.optimal)}, check ${tally(georoute.byKind.check)})`,
)
for (const group of groupFailures(failed)) {
  const groups = group.groups.map((g) => `${g.prefix} ${g.count}`).join(', ')
  log(`${group.class} (${group.count}): ${groups}`)
}
if (!flags.rerender) log(`results saved to ${flags.json} (the one before: results.previous.json)`)

let broke = false
if (flags.compare) {
  const before = JSON.parse(readFileSync(flags.compare, 'utf8'))
  const diff = compareRuns(before.verdicts ?? {}, verdicts)
  const mark = (/** @type {string[]} */ ids) =>
    ids.map((id) => (id in UNSTABLE ? `${id} (unstable)` : id)).join(' ') || '-'
  log(`\ncompared with ${flags.compare} (georoute ${before.georouteCommit ?? '?'}):`)
  log(`  pass → fail (${diff.broke.length}): ${mark(diff.broke)}`)
  log(`  fail → pass (${diff.fixed.length}): ${mark(diff.fixed)}`)
  if (diff.broke.some((id) => id in UNSTABLE))
    log(
      '  (unstable: seen to flip between identical runs, see scripts/lib/conformance-classes.mjs)',
    )
  broke = diff.broke.some((id) => !(id in UNSTABLE))
}

if (!flags['no-write']) {
  const report = renderConformanceReport({ ...meta, georoute, published, failed })
  mkdirSync(dirname(flags.out), { recursive: true })
  writeFileSync(flags.out, report)
  log(`wrote ${flags.out}`)
}
process.exitCode = broke ? 1 : 0
