/**
 * The benchmark's goals and its report: docs/BENCHMARKS.md, written from one run's numbers.
 */

/** Goals to reach and keep (issue "Prove it"). */
export const GOALS = {
  missRatio: 0.9,
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
 * @typedef {{ origins: number, decisionUs: number, rankUs: number }} RoutingResult
 * @typedef {{ label: string, met: boolean | undefined, detail: string }} GoalResult
 */

const ms = (/** @type {number} */ us) => (Number.isFinite(us) ? (us / 1000).toFixed(2) : '–')
const int = (/** @type {number} */ n) =>
  Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–'
const ratio = (/** @type {number | undefined} */ r) =>
  r !== undefined && Number.isFinite(r) ? `${r.toFixed(2)}×` : '–'
const kib = (/** @type {number} */ bytes) => `${(bytes / 1024).toFixed(1)} KiB`

/**
 * The ratio of `label`'s row in a scenario, if it ran.
 * @param {ScenarioReport | undefined} scenario
 * @param {string} label
 */
function rowRatio(scenario, label) {
  return scenario?.rows?.find((r) => r.label === label)?.ratio
}

/**
 * Checks every goal against the run's numbers; `met` undefined = not measured this run.
 * @param {{ scenarios: ScenarioReport[], routing?: RoutingResult[],
 *   bundle?: { gzip: number }, kv?: { reads: number, requests: number } }} run
 * @returns {GoalResult[]}
 */
export function checkGoals({ scenarios, routing, bundle, kv }) {
  const byId = (/** @type {string} */ id) => scenarios.find((s) => s.id === id)
  const miss = rowRatio(byId('miss'), 'georoute')
  const hit = rowRatio(byId('hit'), 'georoute')
  const at = (/** @type {number} */ n) => routing?.find((r) => r.origins === n)
  const r10 = at(10)
  const r100 = at(100)
  const r1000 = at(1000)
  const perOrigin = (/** @type {RoutingResult | undefined} */ r) =>
    r ? r.decisionUs / r.origins : Number.NaN
  const slope = perOrigin(r1000) / perOrigin(r100)
  const readsPer = kv ? kv.reads / Math.max(1, kv.requests) : Number.NaN
  const measured = (/** @type {number | undefined} */ v) => v !== undefined && Number.isFinite(v)
  return [
    {
      label: `cache-miss throughput ≥ ${GOALS.missRatio}× the bare Worker`,
      met: measured(miss) ? /** @type {number} */ (miss) >= GOALS.missRatio : undefined,
      detail: ratio(miss),
    },
    {
      label: `cache-hit throughput ≥ ${GOALS.hitRatio}× the bare cache Worker`,
      met: measured(hit) ? /** @type {number} */ (hit) >= GOALS.hitRatio : undefined,
      detail: byId('hit')?.skipped ?? ratio(hit),
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
      label: 'no KV read on most requests (≤ 1 per 100)',
      met: Number.isFinite(readsPer) ? readsPer <= GOALS.kvReadsPerRequest : undefined,
      detail: kv ? `${kv.reads} reads in ${int(kv.requests)} requests` : '–',
    },
  ]
}

/**
 * A scenario's row by its label.
 * @param {ScenarioReport | undefined} scenario
 */
const rowsOf = (scenario) => (/** @type {string} */ label) =>
  scenario?.rows?.find((r) => r.label === label)

const us = (/** @type {number} */ n) => `${Math.round(n)} µs`

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
  const signed = (/** @type {number} */ n) => `${n < 0 ? '−' : '+'}${us(Math.abs(n))}`
  const rules = get('bare Worker + DESIGN.md header rules + log line')
  const bound = rules
    ? [
        `A Worker that only keeps DESIGN.md's header rules and logs one line per request, with no routing, cache or timeouts, reaches ${ratio(rules.ratio)} of the bare Worker here (${us(rules.cpuUs)} CPU per request), about as well as any proxy keeping those rules can do on this path on this machine${(rules.ratio ?? 1) < GOALS.missRatio ? `: below the ${GOALS.missRatio}× goal, which no conforming proxy reaches here` : ''}. georoute's distance to that bound is its own cost.`,
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
  if (!georoute || !off || !memory || !trace) return []
  return [
    `Cache-hit path: georoute answers from its memory tier at ${ratio(georoute.ratio)} of the bare cache Worker (${us(georoute.cpuUs)} CPU per hit); a bare Worker answering from memory does ${ratio(memory.ratio)} (${us(memory.cpuUs)}), so georoute's own work on a memory hit is about ${us(georoute.cpuUs - memory.cpuUs)}.`,
    `With the memory tier off, every hit reads the Cache API, as an isolate does the first time it sees a page and once its copy is \`maxAgeSeconds\` old: ${ratio(off.ratio)} (${us(off.cpuUs)}), against ${ratio(trace.ratio)} for the bare cache Worker that only adds \`Age\`, the trace headers and the log line (${us(trace.cpuUs)}).${(off.ratio ?? 0) < GOALS.hitRatio ? ` That path alone is below the ${GOALS.hitRatio}× goal.` : ''}`,
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
      'Reader location, health view, ranking and preference for one request, in Node on the',
      "Worker's own modules (`scripts/lib/bench-routing.mjs`), median of batches.",
      '',
      '| origins | µs per decision | µs ranking only | ns per origin |',
      '| ---: | ---: | ---: | ---: |',
      ...run.routing.map(
        (r) =>
          `| ${int(r.origins)} | ${r.decisionUs.toFixed(2)} | ${r.rankUs.toFixed(2)} | ${((r.decisionUs * 1000) / r.origins).toFixed(0)} |`,
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
