/**
 * The benchmark's goals and its report: docs/BENCHMARKS.md, written from one run's numbers.
 */
import { median } from './bench-rounds.mjs'

/** Goals to reach and keep (issues "Prove it" and "Goals"). */
export const GOALS = {
  /** georoute's miss throughput at least this times the contract row's (`CONTRACT_ROW`). */
  missRatio: 0.9,
  /** georoute's CPU per miss at most this times the contract row's. */
  missCpuRatio: 1.2,
  /** georoute's memory-tier hits at least this times the bare cache Worker's throughput. */
  memoryHitRatio: 3,
  /** georoute's hits from the Cache API (memory tier off) at least this times the same. */
  hitRatio: 0.9,
  routingUsAt10: 5,
  /** Per-origin cost at 1,000 origins at most this many times that at 100 ("linear beyond"). */
  linearSlack: 2,
  bundleGzipBytes: 64 * 1024,
  /** KV reads per request at most (1 in 100: "no KV read on most requests"). */
  kvReadsPerRequest: 0.01,
}

/**
 * @typedef {import('./bench-rounds.mjs').TargetSummary} TargetSummary
 * @typedef {{ id: string, title: string, about: string, path: string,
 *   rows?: TargetSummary[], skipped?: string }} ScenarioReport
 * @typedef {{ origins: number, decisionUs: number, nearestUs?: number, rankUs: number }} RoutingResult
 * @typedef {{ label: string, met: boolean | undefined, detail: string }} GoalResult
 */

const ms = (/** @type {number} */ us) => (Number.isFinite(us) ? (us / 1000).toFixed(2) : '–')
const int = (/** @type {number} */ n) =>
  Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–'
const ratio = (/** @type {number | undefined} */ r) =>
  r !== undefined && Number.isFinite(r) ? `${r.toFixed(2)}×` : '–'
const kib = (/** @type {number} */ bytes) => `${(bytes / 1024).toFixed(1)} KiB`

/**
 * A scenario's row by its label.
 * @param {ScenarioReport | undefined} scenario
 */
const rowsOf = (scenario) => (/** @type {string} */ label) =>
  scenario?.rows?.find((r) => r.label === label)

/**
 * The miss scenario's reference for the goal: the least a proxy keeping DESIGN.md's header rules
 * and logging one line does (scripts/bench/bare-proxy.js).
 */
export const CONTRACT_ROW = 'bare Worker + DESIGN.md header rules + log line'

/**
 * The ratio of `label`'s row in a scenario, if it ran.
 * @param {ScenarioReport | undefined} scenario
 * @param {string} label
 */
function rowRatio(scenario, label) {
  return scenario?.rows?.find((r) => r.label === label)?.ratio
}

/**
 * `row` against `reference`, paired per round (both ran in the same rounds, side by side): the
 * medians of the per-round throughput and CPU-per-request ratios.
 * @param {TargetSummary | undefined} row
 * @param {TargetSummary | undefined} reference
 * @returns {{ ratio: number, cpuRatio: number }}
 */
export function pairedRatios(row, reference) {
  if (!row || !reference) return { ratio: Number.NaN, cpuRatio: Number.NaN }
  const per = (/** @type {number[]} */ a, /** @type {number[]} */ b) =>
    median(a.map((v, i) => v / (b[i] ?? Number.NaN)))
  return {
    ratio: per(row.roundRps, reference.roundRps),
    cpuRatio: per(row.roundCpuUs, reference.roundCpuUs),
  }
}

/**
 * Checks every goal against the run's numbers; `met` undefined = not measured this run.
 * @param {{ scenarios: ScenarioReport[], routing?: RoutingResult[],
 *   bundle?: { gzip: number }, kv?: { reads: number, requests: number } }} run
 * @returns {GoalResult[]}
 */
export function checkGoals({ scenarios, routing, bundle, kv }) {
  const byId = (/** @type {string} */ id) => scenarios.find((s) => s.id === id)
  const missRows = rowsOf(byId('miss'))
  const miss = pairedRatios(missRows('georoute'), missRows(CONTRACT_ROW))
  const hit = rowRatio(byId('hit'), 'georoute')
  const cacheApiHit = rowRatio(byId('hit'), 'georoute, memory tier off')
  const at = (/** @type {number} */ n) => routing?.find((r) => r.origins === n)
  const r10 = at(10)
  const r100 = at(100)
  const r1000 = at(1000)
  const perOrigin = (/** @type {RoutingResult | undefined} */ r) =>
    r ? r.decisionUs / r.origins : Number.NaN
  const slope = perOrigin(r1000) / perOrigin(r100)
  const readsPer = kv ? kv.reads / Math.max(1, kv.requests) : Number.NaN
  // Every row georoute answers (its label starts with "georoute"): a failed answer under load is
  // a bug whatever the speed (a request cancelled as hung, a reset, a non-2xx).
  const georouteRows = scenarios.flatMap((s) =>
    (s.rows ?? []).filter((r) => r.label.startsWith('georoute')),
  )
  const failed = georouteRows.filter((r) => r.errors > 0)
  const measured = (/** @type {number | undefined} */ v) => v !== undefined && Number.isFinite(v)
  return [
    {
      label: `cache-miss throughput ≥ ${GOALS.missRatio}× the ${CONTRACT_ROW} row`,
      met: measured(miss.ratio) ? miss.ratio >= GOALS.missRatio : undefined,
      detail: ratio(miss.ratio),
    },
    {
      label: `cache-miss CPU per request ≤ ${GOALS.missCpuRatio}× the ${CONTRACT_ROW} row`,
      met: measured(miss.cpuRatio) ? miss.cpuRatio <= GOALS.missCpuRatio : undefined,
      detail: ratio(miss.cpuRatio),
    },
    {
      label: `memory-tier hit throughput ≥ ${GOALS.memoryHitRatio}× the bare cache Worker`,
      met: measured(hit) ? /** @type {number} */ (hit) >= GOALS.memoryHitRatio : undefined,
      detail: byId('hit')?.skipped ?? ratio(hit),
    },
    {
      label: `Cache API hit throughput (memory tier off) ≥ ${GOALS.hitRatio}× the bare cache Worker`,
      met: measured(cacheApiHit)
        ? /** @type {number} */ (cacheApiHit) >= GOALS.hitRatio
        : undefined,
      detail: byId('hit')?.skipped ?? ratio(cacheApiHit),
    },
    {
      label: `routing decision < ${GOALS.routingUsAt10} µs at 10 origins`,
      met: r10 ? r10.decisionUs < GOALS.routingUsAt10 : undefined,
      detail: r10 ? `${r10.decisionUs.toFixed(2)} µs` : '–',
    },
    {
      label: 'routing linear beyond 10 origins (µs per origin at 1,000 ≤ 2× that at 100)',
      met: Number.isFinite(slope) ? slope <= GOALS.linearSlack : undefined,
      detail: Number.isFinite(slope)
        ? `${(perOrigin(r100) * 1000).toFixed(0)} → ${(perOrigin(r1000) * 1000).toFixed(0)} ns per origin (${slope.toFixed(1)}×)`
        : '–',
    },
    {
      label: 'bundle < 64 KiB gzip',
      met: bundle ? bundle.gzip < GOALS.bundleGzipBytes : undefined,
      detail: bundle ? kib(bundle.gzip) : '–',
    },
    {
      label: 'no failed answer from georoute under load',
      met: georouteRows.length > 0 ? failed.length === 0 : undefined,
      detail:
        failed.length > 0
          ? failed.map((r) => `${r.label}: ${int(r.errors)} of ${int(r.requests)}`).join('; ')
          : georouteRows.length > 0
            ? `0 in ${int(georouteRows.reduce((sum, r) => sum + r.requests, 0))} requests`
            : '–',
    },
    {
      label: 'no KV read on most requests (≤ 1 per 100)',
      met: Number.isFinite(readsPer) ? readsPer <= GOALS.kvReadsPerRequest : undefined,
      detail: kv ? `${kv.reads} reads in ${int(kv.requests)} requests` : '–',
    },
  ]
}

const us = (/** @type {number} */ n) => `${Math.round(n)} µs`
const signed = (/** @type {number} */ n) => `${n < 0 ? '−' : '+'}${us(Math.abs(n))}`

/**
 * Where georoute's CPU goes on the cache-miss path, from the medians of the miss scenario's
 * rows: its own pipeline (cache off vs bare), its cache layer, and the Cache API lookup itself
 * (bare + lookup vs bare). Empty when those rows did not run.
 * @param {ScenarioReport | undefined} miss
 * @returns {string[]}
 */
export function missBreakdown(miss) {
  const get = rowsOf(miss)
  const bare = get('bare Worker')
  const georoute = get('georoute')
  const off = get('georoute, cache off')
  const lookup = get('bare Worker + cache lookup')
  if (!bare || !georoute || !off || !lookup) return []
  const rules = get(CONTRACT_ROW)
  const paired = pairedRatios(georoute, rules)
  const bound = rules
    ? [
        `The goal's reference is "${CONTRACT_ROW}": a Worker that only keeps DESIGN.md's header rules and logs one line per request, with no routing, cache or timeouts (${ratio(rules.ratio)} of the bare Worker here, ${us(rules.cpuUs)} CPU per request). Paired per round, georoute reaches ${ratio(paired.ratio)} of its throughput (goal ≥ ${GOALS.missRatio}×) at ${ratio(paired.cpuRatio)} of its CPU per request (goal ≤ ${GOALS.missCpuRatio}×): ${signed(georoute.cpuUs - rules.cpuUs)} per request (medians) is georoute's own cost.`,
      ]
    : []
  return [
    ...bound,
    `Cache-miss CPU per request: bare Worker ${us(bare.cpuUs)}; georoute with its cache off ${us(off.cpuUs)} (its own pipeline: ${signed(off.cpuUs - bare.cpuUs)}); georoute ${us(georoute.cpuUs)} (its cache layer: ${signed(georoute.cpuUs - off.cpuUs)}). A Cache API lookup alone costs about ${us(lookup.cpuUs - bare.cpuUs)} here ("bare Worker + cache lookup"); georoute skips it for a page it has seen may not be shared (hit-for-pass).`,
    `Against "bare Worker + cache lookup", the like-for-like reference for a caching proxy, georoute's miss throughput is ${ratio(georoute.rps / lookup.rps)} (medians). Locally the Cache API is Miniflare's simulator, in the same workerd process; on Cloudflare a lookup is I/O outside the Worker's CPU time.`,
  ]
}

/**
 * Notes on the hit path: where georoute's hits come from, and each tier against its reference.
 * @param {ScenarioReport | undefined} hit
 * @returns {string[]}
 */
export function hitBreakdown(hit) {
  const get = rowsOf(hit)
  const georoute = get('georoute')
  const off = get('georoute, memory tier off')
  const memory = get('bare memory Worker')
  const trace = get('bare cache Worker + Age, trace headers + log line')
  const everyHit = get('georoute, every hit logged (logs.hitSampleRate 1)')
  if (!georoute || !off || !memory || !trace) return []
  const line = everyHit
    ? [
        `The per-hit log line: georoute logs one fresh hit in a hundred by default (\`logs.hitSampleRate\` 0.01); logging every hit, its memory hits reach ${ratio(everyHit.ratio)} (${us(everyHit.cpuUs)} CPU per hit, ${signed(everyHit.cpuUs - georoute.cpuUs)}). Each line is one write to the pipe workerd's output goes to here, and wakes the process that reads it.`,
      ]
    : []
  return [
    `Cache-hit path: georoute answers from its memory tier at ${ratio(georoute.ratio)} of the bare cache Worker (${us(georoute.cpuUs)} CPU per hit); a bare Worker answering from memory does ${ratio(memory.ratio)} (${us(memory.cpuUs)}), so georoute's own work on a memory hit is about ${us(georoute.cpuUs - memory.cpuUs)}.`,
    `With the memory tier off, every hit reads the Cache API, as an isolate does the first time it sees a page and once its copy is \`maxAgeSeconds\` old: ${ratio(off.ratio)} (${us(off.cpuUs)}), against ${ratio(trace.ratio)} for the bare cache Worker that only adds \`Age\`, the trace headers and the log line (${us(trace.cpuUs)}).${(off.ratio ?? 0) < GOALS.hitRatio ? ` That path alone is below the ${GOALS.hitRatio}× goal.` : ''}`,
    ...line,
  ]
}

/** @param {boolean | undefined} met */
const mark = (met) => (met === undefined ? 'not measured' : met ? 'met' : '**missed**')

/**
 * The Markdown report.
 * @param {{ date: string, machine: Record<string, string>, tools: Record<string, string>,
 *   options: Record<string, string | number>, scenarios: ScenarioReport[],
 *   routing?: RoutingResult[], bundle?: { raw: number, gzip: number },
 *   startup?: { label: string, ms: number }[], kv?: { reads: number, requests: number },
 *   goals: GoalResult[], notes: string[] }} run
 */
export function renderReport(run) {
  const lines = [
    '# Benchmarks',
    '',
    'Generated by `npm run bench` (scripts/bench.mjs); rerun it to measure your own machine.',
    'Bench runs are measurements, not tests: `npm test` asserts no timing.',
    '',
    `- Date: ${run.date}`,
    ...Object.entries(run.machine).map(([k, v]) => `- ${k}: ${v}`),
    ...Object.entries(run.tools).map(([k, v]) => `- ${k}: ${v}`),
    `- Settings: ${Object.entries(run.options)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
    '',
    '## Goals',
    '',
    '| goal | result | this run |',
    '| --- | --- | --- |',
    ...run.goals.map((g) => `| ${g.label} | ${mark(g.met)} | ${g.detail} |`),
    '',
  ]
  for (const scenario of run.scenarios) {
    lines.push(`## ${scenario.title}`, '', scenario.about, '', `Path: \`${scenario.path}\``, '')
    if (!scenario.rows) {
      lines.push(`Not measured: ${scenario.skipped ?? 'skipped'}.`, '')
      continue
    }
    lines.push(
      '| target | req/s | vs reference (paired) | CPU µs/req | CPU vs reference | p50 @1 conn (ms) | p99 (ms) | errors |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    )
    for (const row of scenario.rows) {
      const name = row.note ? `${row.label} (${row.note})` : row.label
      lines.push(
        `| ${name} | ${int(row.rps)} | ${ratio(row.ratio)} | ${int(row.cpuUs)} | ${ratio(row.cpuRatio)} | ${ms(row.p50One)} | ${ms(row.p99)} | ${row.errors} |`,
      )
    }
    lines.push('')
  }
  if (run.routing) {
    lines.push(
      '## Routing decision (micro-benchmark)',
      '',
      'Reader location, data center view, health view, ranking, latency steering (`fastest`, the',
      "default) and preference for one request, in Node on the Worker's own modules",
      '(`scripts/lib/bench-routing.mjs`), median of batches; `nearest` leaves steering out.',
      '',
      '| origins | µs per decision | µs with `nearest` | µs ranking only | ns per origin |',
      '| ---: | ---: | ---: | ---: | ---: |',
      ...run.routing.map(
        (r) =>
          `| ${int(r.origins)} | ${r.decisionUs.toFixed(2)} | ${r.nearestUs?.toFixed(2) ?? '–'} | ${r.rankUs.toFixed(2)} | ${((r.decisionUs * 1000) / r.origins).toFixed(0)} |`,
      ),
      '',
    )
  }
  lines.push('## Bundle and start-up', '')
  if (run.bundle) {
    lines.push(
      `- Bundle (\`wrangler deploy --dry-run\`): ${kib(run.bundle.raw)} raw, ${kib(run.bundle.gzip)} gzip`,
    )
  }
  for (const s of run.startup ?? []) {
    lines.push(`- ${s.label}: ${s.ms.toFixed(0)} ms from process start to first response`)
  }
  if (run.kv) {
    lines.push(
      `- KV reads (raw workerd, counting namespace): ${run.kv.reads} in ${int(run.kv.requests)} requests`,
    )
  }
  lines.push('')
  if (run.notes.length > 0) lines.push('## Notes', '', ...run.notes.map((n) => `- ${n}`), '')
  return `${lines.join('\n')}`
}
