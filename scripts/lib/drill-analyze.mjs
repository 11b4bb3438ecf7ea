/**
 * What each fault did to readers, from the drill's own records and the origins' request logs:
 * failed GETs, duplicated POSTs, how fast readers moved away and came back, and what was served
 * while every origin was down. Plus the goals a release must keep.
 */

/**
 * @typedef {import('./drill-load.mjs').Sent} Sent
 * @typedef {import('./drill-phases.mjs').Phase} Phase
 * @typedef {import('./drill-phases.mjs').PhaseRun} PhaseRun
 * @typedef {import('./drill-fleet.mjs').Fleet} Fleet
 */

/**
 * Requests from a cut-off data center to the origin after detection: one try when the first
 * cool-down ends inside the fault (5 s of the full drill's 10 s; the short drill's 1 s of 3 s,
 * after which the doubled cool-down outlasts it), which the instant retry of a failed
 * connection sends twice (worker/proxy/index.ts).
 */
export const MAX_AFTER_DETECTION = 2

/** Consecutive affected reads that must agree before readers count as moved or back. */
const MOVED_RUN = 5
const BACK_RUN = 3

const answered = (/** @type {Sent} */ s) => s.doneAt !== undefined
const succeeded = (/** @type {Sent} */ s) =>
  s.status !== undefined && s.status >= 200 && s.status < 400
const fromCache = (/** @type {Sent} */ s) =>
  succeeded(s) && (s.cache === 'HIT' || s.cache === 'STALE')

/**
 * Uncacheable GETs of the readers a fault affects, sent in [from, to), by send time.
 * @param {Sent[]} sent
 * @param {Phase} phase
 * @param {number} from
 * @param {number} to
 */
function affectedReads(sent, phase, from, to) {
  return sent.filter(
    (s) =>
      s.kind === 'read' &&
      s.sentAt >= from &&
      s.sentAt < to &&
      (phase.target === 'all' || s.nearest === phase.target) &&
      (!phase.colo || s.colo === phase.colo),
  )
}

/**
 * Median time to first byte (ms) of the answered reads in `list`, or `undefined`.
 * @param {Sent[]} list
 */
function p50FirstByte(list) {
  const times = list
    .filter((s) => succeeded(s) && s.firstByteAt !== undefined)
    .map((s) => /** @type {number} */ (s.firstByteAt) - s.sentAt)
    .sort((a, b) => a - b)
  return times.length === 0 ? undefined : times[Math.floor((times.length - 1) / 2)]
}

/** Time to first byte before the fault is measured over this long before it. */
const BEFORE_MS = 3_000

/**
 * Index of the first run of `length` entries that all pass `test` (a shorter run at the end
 * counts when nothing follows it), or -1.
 * @param {Sent[]} list
 * @param {(s: Sent) => boolean} test
 * @param {number} length
 */
function firstRun(list, test, length) {
  for (let i = 0; i < list.length; i++) {
    const run = list.slice(i, i + length)
    if (
      run.length > 0 &&
      run.every(test) &&
      (run.length === length || i + run.length === list.length)
    ) {
      return i
    }
  }
  return -1
}

/**
 * When (ms after `faultEnd`) readers were back on the recovered origin: the first of
 * `BACK_RUN` consecutive affected reads it answered itself, in every data center the affected
 * readers enter (the latest of those). All origins down: the first of
 * `BACK_RUN` consecutive successful reads. `undefined` while not (yet) back.
 * @param {Sent[]} sent
 * @param {Phase} phase
 * @param {number} faultEnd
 * @param {number} [until] Reads sent from then on belong to later phases.
 */
export function readersBackAt(sent, phase, faultEnd, until = Number.POSITIVE_INFINITY) {
  const reads = affectedReads(sent, phase, faultEnd, until).filter(answered)
  const test =
    phase.target === 'all'
      ? succeeded
      : (/** @type {Sent} */ s) => succeeded(s) && s.origin === phase.target
  if (phase.target === 'all') return backAt(reads, test, faultEnd)
  // Health and steering are per data center: readers are back once those of every one are.
  let latest = Number.NEGATIVE_INFINITY
  for (const colo of new Set(reads.map((s) => s.colo))) {
    const back = backAt(
      reads.filter((s) => s.colo === colo),
      test,
      faultEnd,
    )
    if (back === undefined) return undefined
    latest = Math.max(latest, back)
  }
  return latest === Number.NEGATIVE_INFINITY ? undefined : latest
}

/**
 * When (ms after `faultEnd`) the first run of `BACK_RUN` reads passing `test` began.
 * @param {Sent[]} reads
 * @param {(s: Sent) => boolean} test
 * @param {number} faultEnd
 */
function backAt(reads, test, faultEnd) {
  const i = firstRun(reads, test, BACK_RUN)
  if (i < 0 || reads.length - i < BACK_RUN) return undefined
  return /** @type {Sent} */ (reads[i]).sentAt - faultEnd
}

/**
 * When (ms after `faultEnd`) the primary took writes again: the first POST sent from then on
 * (before `until`) that it answered 201. `undefined` while none has.
 * @param {Sent[]} sent
 * @param {number} faultEnd
 * @param {number} [until]
 */
export function writesBackAt(sent, faultEnd, until = Number.POSITIVE_INFINITY) {
  const first = sent.find(
    (s) => s.kind === 'write' && s.sentAt >= faultEnd && s.sentAt < until && s.status === 201,
  )
  return first ? first.sentAt - faultEnd : undefined
}

/**
 * True when the target origin answered the last affected reads sent before `start` itself.
 * @param {Sent[]} sent
 * @param {Phase} phase
 * @param {number} start
 */
function servingBefore(sent, phase, start) {
  const before = affectedReads(sent, phase, 0, start).filter(answered).slice(-BACK_RUN)
  return before.length > 0 && before.every((s) => s.origin === phase.target)
}

/**
 * Seqs of the requests an origin received (the `r` of `/echo/read?r=N`).
 * @param {Fleet} fleet
 * @param {string} id
 */
function readsReceived(fleet, id) {
  const seen = new Set()
  for (const r of fleet.received(id)) {
    const match = /[?&]r=(\d+)/.exec(r.url)
    if (match) seen.add(Number(match[1]))
  }
  return seen
}

/**
 * Arrivals of each POST (by its drill id) at each origin.
 * @param {Fleet} fleet
 * @returns {Map<number, string[]>}
 */
function postArrivals(fleet) {
  /** @type {Map<number, string[]>} */
  const arrivals = new Map()
  for (const id of fleet.ids) {
    for (const r of fleet.received(id)) {
      if (r.method !== 'POST') continue
      const match = /"drillId":(\d+)/.exec(r.body)
      if (!match) continue
      const seq = Number(match[1])
      arrivals.set(seq, [...(arrivals.get(seq) ?? []), id])
    }
  }
  return arrivals
}

/**
 * @typedef {object} PhaseResult
 * @property {string} name
 * @property {number} seconds Whole phase, fault and recovery.
 * @property {number} gets
 * @property {number} failedGets GETs that failed while at least one origin was up.
 * @property {string[]} failures The first few failed GETs, described.
 * @property {number} posts
 * @property {number} postsOk
 * @property {number} postsRefused Clean 5xx from georoute (nothing duplicated).
 * @property {number} postsOther Network errors, timeouts or anything else.
 * @property {number} duplicatedPosts POSTs an origin received more than once.
 * @property {number} misroutedPosts POSTs that reached an origin other than the primary.
 * @property {number | undefined} movedAwayMs
 * @property {number | undefined} backMs
 * @property {boolean} writesApply The fault took the primary down.
 * @property {number | undefined} writesBackMs From the repair to the first write the primary took.
 * @property {boolean} alreadyAway The target was not serving its readers when the fault began
 *   (an earlier fault's detour was still on), so "moved away" does not apply.
 * @property {boolean} movedApplies
 * @property {boolean} backApplies
 * @property {number} recoveryWindowMs
 * @property {{ before?: number, during?: number, after?: number } | undefined} firstByteP50
 *   Median time to first byte (ms) of the affected readers' reads: in the 3 s before the fault,
 *   during it, and once readers were back (slow and one-colo faults).
 * @property {number | undefined} otherColosDisturbed One-colo fault: reads of the target's
 *   readers entering other data centers that failed or were not answered by the target.
 * @property {number | undefined} afterDetection One-colo fault: requests the target received
 *   from the cut-off data center after its first reader had been answered by another origin.
 * @property {{ servedFromCache: number, cachedPageGets: number, cachedPagesServed: number,
 *   clean503: number, unclean: number, others: string[] } | undefined} allDown While every
 *   origin was down: answers
 *   from the cache, GETs of pages cached before the outage (and how many of those were served),
 *   clean 503s, anything else.
 */

/**
 * A request log line of the Worker with a 5xx status, as the drill received it.
 * @typedef {object} WorkerLine
 * @property {number} at When the drill read it (ms since the epoch).
 * @property {string} path
 * @property {number} status
 * @property {string[]} [failures] The failed attempts, as the Worker logs them.
 */

/**
 * One failed request in a line: when, who, what came back, and which origins the Worker tried
 * (from its log line for the same path logged while the request was open).
 * @param {Sent} s
 * @param {number} phaseStart
 * @param {WorkerLine[]} [lines]
 */
export function describeFailure(s, phaseStart, lines = []) {
  const at = ((s.sentAt - phaseStart) / 1000).toFixed(2)
  const took = s.doneAt === undefined ? '?' : `${s.doneAt - s.sentAt} ms`
  const what =
    s.error ?? `status ${s.status} from ${s.origin ?? 'georoute'} (cache ${s.cache ?? '-'})`
  const path = s.path.split('?')[0]
  const until = (s.doneAt ?? Number.POSITIVE_INFINITY) + 1_000
  const line = lines.find((l) => l.path === path && l.at >= s.sentAt && l.at <= until)
  const tried = line?.failures?.length ? `; tried ${line.failures.join(', ')}` : ''
  return `${s.kind} ${s.path} by ${s.city} at +${at} s, ${took}: ${what}${tried}`
}

/**
 * Per-phase results.
 * @param {{ runs: PhaseRun[], sent: Sent[], fleet: Fleet, recoveryMs: number,
 *   errorLines?: WorkerLine[] }} drill
 * @returns {PhaseResult[]}
 */
export function analyze({ runs, sent, fleet, recoveryMs, errorLines = [] }) {
  const arrivals = postArrivals(fleet)
  return runs.map(({ phase, start, faultEnd, end }) => {
    const within = sent.filter((s) => s.sentAt >= start && s.sentAt < end)
    const downWindow = (/** @type {Sent} */ s) =>
      Boolean(phase.allDown) && s.sentAt >= start && s.sentAt < faultEnd
    const gets = within.filter((s) => s.kind !== 'write')
    const posts = within.filter((s) => s.kind === 'write')
    const failures = gets.filter((s) => !downWindow(s) && !succeeded(s))
    const postWhere = posts.map((s) => arrivals.get(s.seq) ?? [])
    // Readers still kept off the target by an earlier fault were never moved by this one.
    const alreadyAway =
      Boolean(phase.target) && phase.target !== 'all' && !servingBefore(sent, phase, start)
    const movedApplies = Boolean(phase.target) && phase.target !== 'all' && !alreadyAway
    let movedAwayMs
    if (movedApplies) {
      const reads = affectedReads(sent, phase, start, faultEnd).filter(answered)
      const seen = readsReceived(fleet, /** @type {string} */ (phase.target))
      // A slow origin still gets steering's background measurements: moved means answered
      // by another origin.
      const moved = phase.slow
        ? (/** @type {Sent} */ s) => succeeded(s) && s.origin !== phase.target
        : (/** @type {Sent} */ s) => !seen.has(s.seq) && succeeded(s)
      const i = firstRun(reads, moved, MOVED_RUN)
      movedAwayMs = i >= 0 ? /** @type {Sent} */ (reads[i]).sentAt - start : undefined
    }
    /** @type {PhaseResult['allDown']} */
    let allDown
    if (phase.allDown) {
      // Pages some reader had been served before the outage: the edge could have kept them.
      const cachedBefore = new Set(
        sent
          .filter((s) => s.kind === 'page' && s.sentAt < start && succeeded(s))
          .map((s) => s.path),
      )
      const down = gets.filter(downWindow)
      const cachedPageGets = down.filter((s) => s.kind === 'page' && cachedBefore.has(s.path))
      const clean = (/** @type {Sent} */ s) =>
        s.status === 503 && Boolean(s.retryAfter) && /text\/html/.test(s.contentType ?? '')
      // A request that the dying origins still answered (the first milliseconds) is no failure.
      const others = down.filter((s) => !succeeded(s) && !clean(s))
      allDown = {
        servedFromCache: down.filter(fromCache).length,
        cachedPageGets: cachedPageGets.length,
        cachedPagesServed: cachedPageGets.filter(succeeded).length,
        clean503: down.filter(clean).length,
        unclean: others.length,
        others: others.slice(0, 5).map((s) => describeFailure(s, start, errorLines)),
      }
    }
    const backMs = phase.target ? readersBackAt(sent, phase, faultEnd, end) : undefined
    const firstByteP50 =
      phase.slow || phase.colo
        ? {
            before: p50FirstByte(affectedReads(sent, phase, start - BEFORE_MS, start)),
            during: p50FirstByte(affectedReads(sent, phase, start, faultEnd)),
            after:
              backMs === undefined
                ? undefined
                : p50FirstByte(affectedReads(sent, phase, faultEnd + backMs, end)),
          }
        : undefined
    let otherColosDisturbed
    let afterDetection
    if (phase.colo && phase.target) {
      const target = phase.target
      // Readers of the other colos, each counted only when the target was serving it when the
      // fault began (an earlier fault's detour may still be on in one): any that failed, or
      // that the target did not answer, was disturbed.
      const others = new Set(
        sent.filter((s) => s.nearest === target && s.colo !== phase.colo).map((s) => s.colo),
      )
      const serving = [...others].filter((colo) => servingBefore(sent, { ...phase, colo }, start))
      otherColosDisturbed = sent.filter(
        (s) =>
          s.kind === 'read' &&
          s.sentAt >= start &&
          s.sentAt < faultEnd &&
          s.nearest === target &&
          s.colo !== phase.colo &&
          answered(s) &&
          (!succeeded(s) || (serving.includes(s.colo) && s.origin !== target)),
      ).length
      const first = affectedReads(sent, phase, start, faultEnd).find(answered)
      const detectedAt = first?.doneAt ?? faultEnd
      afterDetection = fleet
        .received(target)
        .filter(
          (r) =>
            r.headers['x-georoute-colo'] === phase.colo && r.at > detectedAt && r.at < faultEnd,
        ).length
    }
    return {
      name: phase.name,
      seconds: (end - start) / 1000,
      gets: gets.length,
      failedGets: failures.length,
      failures: failures.slice(0, 5).map((s) => describeFailure(s, start, errorLines)),
      posts: posts.length,
      postsOk: posts.filter((s) => s.status === 201).length,
      postsRefused: posts.filter(
        (s) => s.status !== undefined && s.status >= 500 && /text\/html/.test(s.contentType ?? ''),
      ).length,
      postsOther: posts.filter(
        (s) =>
          s.status !== 201 &&
          !(s.status !== undefined && s.status >= 500 && /text\/html/.test(s.contentType ?? '')),
      ).length,
      duplicatedPosts: postWhere.filter((where) => where.length > 1).length,
      misroutedPosts: postWhere.filter((where) => where.some((id) => id !== fleet.primary)).length,
      movedAwayMs,
      alreadyAway,
      writesApply: phase.target === 'all' || phase.target === fleet.primary,
      writesBackMs:
        phase.target === 'all' || phase.target === fleet.primary
          ? writesBackAt(sent, faultEnd, end)
          : undefined,
      backMs,
      firstByteP50,
      otherColosDisturbed,
      afterDetection,
      movedApplies,
      backApplies: Boolean(phase.target),
      recoveryWindowMs: recoveryMs,
      allDown,
    }
  })
}

/**
 * @typedef {{ label: string, met: boolean, detail: string }} DrillGoal
 */

/**
 * The goals a release must keep; any miss makes `npm run drill` exit non-zero.
 * @param {PhaseResult[]} results
 * @param {{ cacheAvailable: boolean }} facts
 * @returns {DrillGoal[]}
 */
export function drillGoals(results, { cacheAvailable }) {
  const failed = results.filter((r) => r.failedGets > 0)
  const duplicated = results.reduce((n, r) => n + r.duplicatedPosts, 0)
  const misrouted = results.reduce((n, r) => n + r.misroutedPosts, 0)
  const down = results.find((r) => r.allDown)?.allDown
  /** @type {DrillGoal[]} */
  const goals = [
    {
      label: '0 failed GETs while any origin is up',
      met: failed.length === 0,
      detail:
        failed.length === 0 ? '0' : failed.map((r) => `${r.name}: ${r.failedGets}`).join('; '),
    },
    { label: '0 duplicated POSTs', met: duplicated === 0, detail: String(duplicated) },
    {
      label: '0 POSTs sent to an origin other than the primary',
      met: misrouted === 0,
      detail: String(misrouted),
    },
  ]
  const cut = results.find((r) => r.otherColosDisturbed !== undefined)
  if (cut) {
    goals.push(
      {
        label: 'one colo cut off from an origin: 0 reads of other colos disturbed',
        met: cut.otherColosDisturbed === 0,
        detail: String(cut.otherColosDisturbed),
      },
      {
        label: `one colo cut off: at most ${MAX_AFTER_DETECTION} requests from it to the origin after detection`,
        met: (cut.afterDetection ?? 0) <= MAX_AFTER_DETECTION,
        detail: String(cut.afterDetection),
      },
    )
  }
  if (down) {
    goals.push({
      label: 'every origin down: each answer is a cached page or a clean 503',
      met: down.unclean === 0,
      detail: `${down.unclean} other answers`,
    })
    if (cacheAvailable) {
      goals.push({
        label: 'every origin down: pages cached before the outage are served stale',
        met: down.cachedPagesServed === down.cachedPageGets,
        detail: `${down.cachedPagesServed} of ${down.cachedPageGets} served from the cache`,
      })
    }
  }
  return goals
}
