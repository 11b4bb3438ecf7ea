/**
 * How one cron run spends its time and subrequests. Pure, so the cron and `npm run check`
 * compute the same numbers.
 *
 * Time: the cron fires once a minute (the platform's floor). Round k of a run starts at
 * `scheduledTime + k × intervalMs`, and a round starts only if its probes end (slowest
 * timeout) within `RUN_WINDOW_MS`: the last write and webhook then finish before the next
 * run starts, so runs never overlap, without a lease in (eventually consistent) KV.
 *
 * Subrequests: a Free-plan invocation may make 50, KV calls included. A run makes one KV read,
 * at most two writes (a heartbeat or first write, and one change, since changes are paced at
 * least a minute apart) and one webhook per origin for that change; the probes get the rest.
 */
import type { HealthSettings } from '../config'

/** The cron's period, fixed by `crons = ["* * * * *"]` in wrangler.toml. */
export const RUN_PERIOD_MS = 60_000

/** Probes of a run end by then; the rest of the minute is for the final write and webhook. */
export const RUN_WINDOW_MS = 50_000

const DAY_MS = 86_400_000

export interface ProbePlan {
  origins: number
  intervalMs: number
  /** Probe rounds per run: every origin once per round. */
  rounds: number
  probes: number
  /** Subrequests held back for KV and the webhook. */
  kvReads: number
  kvWrites: number
  webhooks: number
  /** Probes plus everything held back: the most a run can use. */
  subrequests: number
  budget: number
  /** False when not even one round fits the budget: the cron then probes nothing. */
  fits: boolean
  /** KV writes per day: a steady day (heartbeats), and at most (an origin flapping all day). */
  writesPerDay: { steady: number; atMost: number }
}

/** Writes that may carry a change within one run: one when changes are paced at all. */
function changeWritesPerRun(rounds: number, minWriteIntervalMs: number): number {
  if (minWriteIntervalMs > 0) return Math.min(rounds, 1)
  return rounds
}

/** Rounds that fit in the run window: the last one's probes must end inside it. */
function roundsInWindow(intervalMs: number, maxTimeoutMs: number): number {
  if (maxTimeoutMs > RUN_WINDOW_MS) return 1
  return Math.floor((RUN_WINDOW_MS - maxTimeoutMs) / intervalMs) + 1
}

/** Rounds per run and the subrequests they cost, for `origins` and the health settings. */
export function probePlan(
  origins: readonly { probe: { timeoutMs: number } }[],
  health: HealthSettings,
): ProbePlan {
  const n = origins.length
  const maxTimeoutMs = Math.max(0, ...origins.map((o) => o.probe.timeoutMs))
  const cost = (rounds: number) => {
    const changeWrites = changeWritesPerRun(rounds, health.minWriteIntervalMs)
    const kvWrites = changeWrites + 1
    const webhooks = changeWrites * n
    return { kvWrites, webhooks, subrequests: rounds * n + 1 + kvWrites + webhooks }
  }
  let rounds = Math.min(
    roundsInWindow(health.intervalMs, maxTimeoutMs),
    health.maxRounds ?? Number.POSITIVE_INFINITY,
  )
  while (rounds > 0 && cost(rounds).subrequests > health.subrequestBudget) rounds -= 1
  const { kvWrites, webhooks, subrequests } = cost(rounds)
  const heartbeats = Math.ceil(DAY_MS / health.heartbeatMs)
  // Two bucket chains: a run may miss the previous run's write in KV (see writeReason).
  const changeWrites = Math.min(
    health.minWriteIntervalMs > 0
      ? 2 * (Math.floor(DAY_MS / health.minWriteIntervalMs) + health.writeBurst)
      : Infinity,
    (DAY_MS / RUN_PERIOD_MS) * changeWritesPerRun(rounds, health.minWriteIntervalMs),
  )
  return {
    origins: n,
    intervalMs: health.intervalMs,
    rounds,
    probes: rounds * n,
    kvReads: 1,
    kvWrites,
    webhooks,
    subrequests,
    budget: health.subrequestBudget,
    fits: rounds > 0,
    writesPerDay: { steady: heartbeats, atMost: changeWrites + heartbeats },
  }
}
