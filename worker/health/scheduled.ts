/**
 * The cron run: probe every origin in rounds across the minute, feed each result through the
 * hysteresis state machine, and write the snapshot when `writeReason` says so. See plan.ts for
 * how rounds fit the minute and the subrequest budget.
 *
 * Runs share nothing but the snapshot: each reads it once at its start (consecutive counts
 * included) and carries its own writes forward. Webhooks follow writes, not probes: a change
 * that is held back and undone before the next write is never announced, as readers never
 * saw it either.
 */

import { noteBuild, parseBuild } from '../builds'
import type { Config, ResolvedOrigin } from '../config'
import { loadConfig } from '../config-loader'
import type { Env } from '../env'
import { isolatePositions, parsePosition } from '../positions'
import { sendWebhook, skewPayload, webhookPayload } from './notify'
import { probePlan, RUN_WINDOW_MS } from './plan'
import { type Fetcher, type ProbeResult, platformFetch, probeOrigin } from './probe'
import {
  changesBetween,
  HEALTH_KEY,
  loadSnapshot,
  nextSnapshot,
  rememberSnapshot,
  type Snapshot,
  skewEventBetween,
  type WriteReason,
  writeReason,
} from './snapshot'
import { initialState, next, type OriginState, type Thresholds } from './state'

/** What a run talks to; everything but `kv` defaults to the platform's. */
export interface RunDeps {
  kv: KVNamespace
  fetch?: Fetcher
  now?: () => number
  sleep?: (ms: number) => Promise<void>
  /** The secret `HEALTH_WEBHOOK_URL`, if set. */
  webhookUrl?: string
}

/** What one run did, for its log line and for tests. */
export interface RunReport {
  rounds: number
  probes: number
  writes: WriteReason[]
  webhooks: number
  subrequests: number
  healthy: Record<string, boolean>
}

const wait = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** The states a run starts from: the stored ones, new origins added, removed ones dropped. */
export function startingStates(
  origins: readonly ResolvedOrigin[],
  stored: Snapshot | undefined,
  now: number,
): Record<string, OriginState> {
  const states: Record<string, OriginState> = {}
  for (const { id } of origins) states[id] = stored?.origins[id] ?? initialState(now)
  return states
}

function log(fields: Record<string, unknown>, error = false): void {
  const line = JSON.stringify(fields)
  if (error) console.error(line)
  else console.log(line)
}

/** One cron run for `config`, whose minute began at `scheduledTime`. Never throws. */
export async function runHealthChecks(
  config: Config,
  scheduledTime: number,
  deps: RunDeps,
): Promise<RunReport> {
  const now = deps.now ?? Date.now
  const sleep = deps.sleep ?? wait
  const fetcher = deps.fetch ?? platformFetch
  const { origins } = config
  const health = config.settings.health
  const plan = probePlan(origins, health)
  const report: RunReport = {
    rounds: 0,
    probes: 0,
    writes: [],
    webhooks: 0,
    subrequests: 0,
    healthy: {},
  }
  if (!plan.fits) {
    log({ message: 'georoute: health probes skipped: budget too small', ...plan }, true)
    return report
  }
  const slowest = Math.max(...origins.map((o) => o.probe.timeoutMs))
  // Consecutive counts persist only when a state change is written: within a run they must be
  // able to reach the thresholds, or with few rounds (many origins) an origin could never
  // change state. So no threshold exceeds the rounds of one run.
  const thresholds = {
    fall: Math.min(health.fall, plan.rounds),
    rise: Math.min(health.rise, plan.rounds),
  }
  const end = scheduledTime + RUN_WINDOW_MS
  const reports = { build: health.build, position: config.settings.writes.position?.header }
  const alertMs = health.buildSkewAlertMinutes * 60_000
  const loaded = await loadSnapshot(deps.kv)
  report.subrequests += 1
  let stored = loaded.ok ? loaded.snapshot : undefined
  // KV failing: probe anyway, but a blind write could undo another run's, so write nothing.
  let canWrite = loaded.ok
  let states = startingStates(origins, stored, now())

  for (let round = 0; round < plan.rounds; round += 1) {
    const due = scheduledTime + round * health.intervalMs
    if (now() < due) await sleep(due - now())
    // A late start skips the slots it missed rather than probing (almost) back to back.
    if (now() - due > health.intervalMs / 2) continue
    // Never run into the next minute's run.
    if (now() + slowest > end) break
    const results = await Promise.all(origins.map((o) => probeOrigin(o, fetcher, now, reports)))
    report.rounds += 1
    report.probes += origins.length
    report.subrequests += origins.length
    const at = now()
    states = apply(states, origins, results, thresholds, at, reports.build !== undefined)
    noteReports(config, results, at)

    const reason = canWrite
      ? writeReason(stored, states, at, health, scheduledTime, alertMs)
      : undefined
    if (!reason) continue
    const snapshot = nextSnapshot(stored, states, at, health, alertMs)
    report.subrequests += 1
    try {
      await deps.kv.put(HEALTH_KEY, JSON.stringify(snapshot))
    } catch (error) {
      log({ message: 'georoute: writing the health snapshot failed', error: String(error) }, true)
      canWrite = false
      continue
    }
    report.writes.push(reason)
    rememberSnapshot(snapshot, at)
    const changes = stored ? changesBetween(stored, snapshot) : []
    const skewEvent = stored ? skewEventBetween(stored, snapshot) : undefined
    stored = snapshot
    if (skewEvent) log({ message: 'georoute: build skew', ...skewEvent })
    if (changes.length > 0) log({ message: 'georoute: health changed', changes })
    if (!deps.webhookUrl) continue
    const url = deps.webhookUrl
    // The plan holds one webhook per origin back; this guard only catches a miscount, keeping
    // what the remaining rounds' probes need.
    const probesLeft = (plan.rounds - round - 1) * origins.length
    const spare = health.subrequestBudget - report.subrequests - probesLeft
    const payloads = [
      ...changes.map((change) => {
        const label = origins.find((o) => o.id === change.origin)?.label
        return webhookPayload(change, label)
      }),
      ...(skewEvent ? [skewPayload(skewEvent, at)] : []),
    ]
    const affordable = payloads.slice(0, Math.max(0, spare))
    report.subrequests += affordable.length
    const sent = await Promise.all(affordable.map((payload) => sendWebhook(url, payload, fetcher)))
    report.webhooks += sent.filter(Boolean).length
  }

  for (const [id, state] of Object.entries(states)) report.healthy[id] = state.healthy
  log({ message: 'georoute: health run', ...report, budget: plan.budget })
  return report
}

function apply(
  states: Record<string, OriginState>,
  origins: readonly ResolvedOrigin[],
  results: readonly ProbeResult[],
  thresholds: Thresholds,
  at: number,
  builds: boolean,
): Record<string, OriginState> {
  const after: Record<string, OriginState> = {}
  origins.forEach((origin, i) => {
    const state = states[origin.id] ?? initialState(at)
    const result = results[i]
    const { build: _stored, ...updated } = result ? next(state, result, thresholds, at) : state
    // The build its probes last reported, kept through a failed probe (which reports none);
    // none at all once `settings.health.build` is off, so no old skew outlives the setting.
    const build = builds ? (parseBuild(result?.build) ?? state.build) : undefined
    after[origin.id] = build ? { ...updated, build } : updated
  })
  return after
}

/**
 * Feeds what the probes reported into this isolate's records (builds and positions): useful
 * where the probes run in an isolate that also serves (`POST /__georoute/probe`).
 */
function noteReports(config: Config, results: readonly ProbeResult[], at: number): void {
  const { position } = config.settings.writes
  config.origins.forEach((origin, i) => {
    const result = results[i]
    const build = parseBuild(result?.build)
    if (build && config.settings.health.build) noteBuild(origin.id, build, at)
    const reported = position ? parsePosition(position.kind, result?.position) : undefined
    if (reported !== undefined) isolatePositions.note(origin.id, reported, at)
  })
}

/** The `scheduled` handler: loads the configuration and runs the probes for this minute. */
export async function scheduled(controller: ScheduledController, env: Env): Promise<void> {
  const result = loadConfig(env)
  if (!result.ok) {
    log({ message: 'georoute: invalid configuration, no probes', errors: result.errors }, true)
    return
  }
  await runHealthChecks(result.config, controller.scheduledTime, {
    kv: env.HEALTH,
    ...(env.HEALTH_WEBHOOK_URL ? { webhookUrl: env.HEALTH_WEBHOOK_URL } : {}),
  })
}
