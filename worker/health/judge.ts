import { DEFAULT_THRESHOLDS, type PassiveThresholds, type Verdict } from './passive'

/** Where verdicts go: a passive view (`PassiveHealth`, or a data center's `ColoHealth`). */
export interface VerdictSink {
  record(
    originId: string,
    verdict: Verdict,
    now: number,
    origins: number,
    thresholds?: PassiveThresholds,
  ): void
  /** An attempt had no answer in `ms` (a hedge that lost): a lower bound of its latency. */
  observeSlow?(originId: string, ms: number, now: number): void
}

/**
 * What one request's attempts say about each origin it tried. The rule: a failure is the
 * origin's only when the same request shows it was not the request's own. A URL can make an
 * application answer 500 or take 10 s on every origin; it cannot make one origin refuse
 * connections while another accepts the very same request. So:
 *
 * - a 5xx or a timeout counts against an origin only when another origin answered the same
 *   request well (below 500). A 5xx that every tried origin gave, or a timeout everywhere, is
 *   the application's answer: nobody is blamed (nginx does not even count a 500; Envoy counts
 *   every 5xx, which lets one URL eject hosts);
 * - a refused or reset connection (no HTTP answer) is conclusive once another origin answered
 *   the request at all, or when it was the only origin tried. When another origin of the same
 *   request failed to connect too, either everything is down or the request itself cannot be
 *   sent (an oversized header): nobody is blamed;
 * - a hedge lost is not a failure: the slower of two healthy origins loses every race on a
 *   page that is slow everywhere. It counts only when the origin was overtaken by far: the
 *   winner started later and answered in at most half the time this origin had been given
 *   (`OVERTAKEN_FACTOR`), which is what a hung origin looks like next to a live one.
 *
 * A success counts at once. Each origin gets at most one verdict per request, however many
 * attempts and hedges it took.
 */

/** The facts of one attempt that passive health reads (the proxy's `Attempt`). */
export interface AttemptFacts {
  origin: string
  ms: number
  status?: number
  failure?: string
  lostHedge?: boolean
  /** A good answer whose body is still coming: judged once it ends (`RequestJudge.body`). */
  bodyPending?: boolean
}

/** A lost hedge counts as slow when the origin had waited this many times the winner's time. */
export const OVERTAKEN_FACTOR = 2

/** Not decided yet (more attempts may come), or decided that nobody is to blame. */
export type Judgement = Verdict | 'pending' | 'blameless'

const answered = (a: AttemptFacts) => a.status !== undefined && !a.lostHedge
const answeredWell = (a: AttemptFacts) => answered(a) && a.failure === undefined

/**
 * Judges `attempt` against the other attempts of the same request; `settled` once the proxy
 * has returned (no attempt may still confirm a failure, only cancelled hedges can follow). Pure.
 */
export function judge(
  attempt: AttemptFacts,
  others: readonly AttemptFacts[],
  settled: boolean,
): Judgement {
  if (attempt.lostHedge) {
    const winner = others.find(answeredWell)
    if (winner && attempt.ms >= OVERTAKEN_FACTOR * winner.ms) {
      const reason = `slow: no answer in ${attempt.ms} ms, ${winner.origin} answered in ${winner.ms} ms`
      return { kind: 'failure', reason, conclusive: false }
    }
    return 'blameless'
  }
  if (attempt.failure === undefined) return { kind: 'success', ms: attempt.ms }
  if (attempt.status === undefined && attempt.failure !== 'timeout') {
    // No HTTP answer at all: a refused or reset connection.
    if (others.some(answered)) return { kind: 'failure', reason: attempt.failure, conclusive: true }
    if (!settled) return 'pending'
    const alsoRefused = others.some((o) => !answered(o) && o.failure !== 'timeout')
    return alsoRefused
      ? 'blameless'
      : { kind: 'failure', reason: attempt.failure, conclusive: true }
  }
  if (others.some(answeredWell)) {
    return { kind: 'failure', reason: attempt.failure, conclusive: false }
  }
  return settled ? 'blameless' : 'pending'
}

/**
 * Collects one request's attempts and feeds each origin's verdict to the isolate's passive view
 * as soon as it is known: a success or a confirmed failure during the request, the rest when
 * the proxy has returned (`settle`). Cancelled hedges reported later are judged then.
 */
export class RequestJudge {
  readonly #attempts: AttemptFacts[] = []
  readonly #judged = new Set<string>()
  // Origin id → how the body of its answer ended: `null` whole (or cancelled by its reader).
  readonly #bodies = new Map<string, string | null>()
  #settled = false
  readonly #passive: VerdictSink
  readonly #origins: number
  readonly #thresholds: PassiveThresholds

  /** `origins`: how many are configured (ejections are bounded by a share of them). */
  constructor(
    passive: VerdictSink,
    origins: number,
    thresholds: PassiveThresholds = DEFAULT_THRESHOLDS,
  ) {
    this.#passive = passive
    this.#origins = origins
    this.#thresholds = thresholds
  }

  /** One attempt has ended (the proxy's `onAttempt`). */
  attempt(attempt: AttemptFacts, now: number): void {
    this.#attempts.push(attempt)
    this.#review(now)
  }

  /**
   * The body of `origin`'s answer has ended, whole (`failure` undefined) or not. A body cut
   * mid-way (`body stalled`, `body error`) makes the answer a failure, not conclusive (a page
   * can stall on every origin): it counts towards ejection like a 5xx.
   */
  body(origin: string, failure: string | undefined, now: number): void {
    this.#bodies.set(origin, failure ?? null)
    this.#review(now)
  }

  /** The proxy has returned: what is still undecided is decided now. */
  settle(now: number): void {
    this.#settled = true
    this.#review(now)
  }

  #review(now: number): void {
    for (const attempt of this.#attempts) {
      if (this.#judged.has(attempt.origin)) continue
      const body = this.#bodies.get(attempt.origin)
      // A good answer is not over until its body is.
      if (attempt.bodyPending && body === undefined) continue
      const others = this.#attempts.filter((a) => a.origin !== attempt.origin)
      const judgement: Judgement = body
        ? { kind: 'failure', reason: body, conclusive: false }
        : judge(attempt, others, this.#settled)
      if (judgement === 'pending') continue
      this.#judged.add(attempt.origin)
      if (attempt.lostHedge) this.#passive.observeSlow?.(attempt.origin, attempt.ms, now)
      if (judgement === 'blameless') continue
      this.#passive.record(attempt.origin, judgement, now, this.#origins, this.#thresholds)
    }
  }
}
