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
 *
 * Every run saves its per-test results to .wrangler/conformance/results.json (outside git).
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { WORKERD } from './lib/bench-startup.mjs'
import { startWorker } from './lib/bench-targets.mjs'
import { buildBundle, ROOT } from './lib/bundle.mjs'
import { UNSTABLE } from './lib/conformance-classes.mjs'
import { renderConformanceReport } from './lib/conformance-report.mjs'
import {
  classify,
  compareRuns,
  failures,
  groupFailures,
  proxyTests,
  score,
} from './lib/conformance-score.mjs'
import {
  gitHead,
  loadSuite,
  locateSuite,
  runClient,
  SUITE_HELP,
  startSuiteServer,
} from './lib/conformance-suite.mjs'

const { values: flags } = parseArgs({
  options: {
    only: { type: 'string' },
    compare: { type: 'string' },
    out: { type: 'string', default: join(ROOT, 'docs', 'CONFORMANCE.md') },
    json: { type: 'string', default: join(ROOT, '.wrangler', 'conformance', 'results.json') },
    'no-write': { type: 'boolean', default: false },
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
const timeoutMs = Number(flags['timeout-seconds']) * 1000

// Everything started below is stopped on the way out: normal end, error, Ctrl-C. Stopping runs
// once; whoever asks again waits for the same run. (Miniflare exits the process on SIGINT itself:
// the suite's processes are also signalled synchronously on exit, see conformance-suite.mjs.)
/** @type {(() => Promise<void>)[]} */
const cleanups = []
/** @type {Promise<void> | undefined} */
let stopping
const cleanUp = () => {
  stopping ??= (async () => {
    for (const stop of cleanups.splice(0).reverse()) await stop().catch(() => {})
  })()
  return stopping
}
let interrupted = false
for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
  process.once(signal, () => {
    interrupted = true
    log(`\n${signal}: stopping…`)
    cleanUp().finally(() => process.exit(130))
  })
}

const scratch = join(ROOT, '.wrangler', 'conformance')
mkdirSync(scratch, { recursive: true })
/** @type {Awaited<ReturnType<typeof runClient>>} */
let run
try {
  log('bundling the Worker (wrangler deploy --dry-run)…')
  const script = buildBundle(join(scratch, 'bundle'))
  const server = await startSuiteServer({ dir, scratch, echo: Boolean(flags.only) })
  cleanups.push(server.close)
  const worker = await startWorker({
    name: 'georoute',
    scriptPath: script,
    kv: true,
    // A single test also shows the Worker's own output: its error lines say why an attempt failed.
    ...(flags.only ? { onOutput: (/** @type {string} */ line) => log(`[georoute] ${line}`) } : {}),
    bindings: {
      // One origin, primary (the suite's PUT /config/… calls are writes), shipped settings but
      // no request log lines: the suite's client output stays readable.
      ORIGINS: JSON.stringify([
        { id: 'cache-tests', url: server.url, lat: 50.11, lon: 8.68, primary: true },
      ]),
      SETTINGS: JSON.stringify({ logs: { sampleRate: 0 } }),
    },
  })
  cleanups.push(worker.close)
  log(`suite server ${server.url}, georoute ${worker.url}`)
  log(flags.only ? `running ${flags.only}…` : `running ${tests.length} tests…`)
  run = await runClient({
    dir,
    base: worker.url,
    ...(flags.only ? { only: flags.only } : {}),
    timeoutMs,
    onAbort: (stop) => cleanups.push(stop),
  })
} finally {
  await cleanUp()
}
if (interrupted) process.exit(130)

if (run.timedOut) {
  process.stderr.write(`the suite's client did not finish within ${timeoutMs / 1000} s\n`)
  process.exit(1)
}
if (flags.only) {
  const { class: name, reason } = classify(flags.only)
  if (name !== 'open') log(`class: ${name} (${reason})`)
  process.exit(run.code ?? 1)
}

/** @type {Record<string, import('./lib/conformance-suite.mjs').RawResult>} */
let raw
try {
  raw = JSON.parse(run.stdout.slice(run.stdout.indexOf('{')))
} catch {
  process.stderr.write(`the suite's client printed no results (exit ${run.code}):\n${run.stderr}\n`)
  process.exit(1)
}
const georoute = score(tests, (id) => suite.verdict(id, raw))
const failed = failures(tests, georoute, raw)
const published = suite.published.map((item) => ({
  name: item.name,
  type: item.type,
  version: item.version,
  score: score(tests, (id) => suite.verdict(id, item.results)),
}))
const meta = {
  date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
  suiteCommit: suite.commit,
  georouteCommit: gitHead(ROOT),
  runtime: `workerd ${WORKERD.version} (Miniflare)`,
}

const verdicts = Object.fromEntries(georoute.verdicts)
const saved = { ...meta, verdicts, results: raw }
mkdirSync(dirname(flags.json), { recursive: true })
if (existsSync(flags.json))
  copyFileSync(flags.json, `${flags.json.replace(/\.json$/, '')}.previous.json`)
writeFileSync(flags.json, `${JSON.stringify(saved, null, 2)}\n`)

const tally = (/** @type {{ passed: number, of: number }} */ t) => `${t.passed}/${t.of}`
log('')
log(
  `georoute: ${tally(georoute.total)} passed (required ${tally(georoute.byKind.required)}, optimal ${tally(georoute.byKind.optimal)}, check ${tally(georoute.byKind.check)})`,
)
for (const group of groupFailures(failed)) {
  log(
    `${group.class} (${group.count}): ${group.groups.map((g) => `${g.prefix} ${g.count}`).join(', ')}`,
  )
}
if (run.stderr.trim()) log(`\nthe suite's client reported:\n${run.stderr.trim().slice(0, 2000)}`)
log(`results saved to ${flags.json}`)

let broke = false
if (flags.compare) {
  const before = JSON.parse(readFileSync(flags.compare, 'utf8'))
  const diff = compareRuns(before.verdicts ?? {}, verdicts)
  log(`\ncompared with ${flags.compare} (georoute ${before.georouteCommit ?? '?'}):`)
  const mark = (/** @type {string[]} */ ids) =>
    ids.map((id) => (id in UNSTABLE ? `${id} (unstable)` : id)).join(' ') || '-'
  log(`  pass → fail (${diff.broke.length}): ${mark(diff.broke)}`)
  log(`  fail → pass (${diff.fixed.length}): ${mark(diff.fixed)}`)
  if (diff.broke.some((id) => id in UNSTABLE))
    log(
      '  (unstable: seen to flip between identical runs; see scripts/lib/conformance-classes.mjs)',
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
