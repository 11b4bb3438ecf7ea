/**
 * The probes' verdict in KV: one key holds every origin's state. The cron writes it only when
 * some origin changes state (paced by `minWriteIntervalMs`) plus a heartbeat, because the free
 * plan allows 1,000 KV writes a day. Readers see it through a per-isolate memo.
 */
import type { HealthSettings } from '../config'
import type { OriginState } from './state'

export const HEALTH_KEY = 'georoute:health'

export interface Snapshot {
  version: 1
  /** Time of the latest write (a change or a heartbeat), ms since the epoch. */
  updatedAt: number
  /** Time of the latest write that carried a state change; `null` before the first. */
  changedAt: number | null
  /** Change writes left at `updatedAt` (a token bucket; absent = a full bucket). */
  writeCredits?: number
  origins: Record<string, OriginState>
  /**
   * Set while the probes see origins on different builds (`settings.health.build`): since when,
   * and whether it has lasted past `buildSkewAlertMinutes` (reported once, by the write that
   * sets it). Absent when the builds agree or are unknown.
   */
  skew?: BuildSkew
}

/** A build skew as the probes see it. */
export interface BuildSkew {
  since: number
  alerted: boolean
}

/** Why the cron writes the snapshot now. */
export type WriteReason = 'first' | 'change' | 'heartbeat'

/** One origin's state change, as the webhook reports it. */
export interface StateChange {
  origin: string
  from: 'up' | 'down'
  to: 'up' | 'down'
  reason: string | null
  /** When the origin changed state (ms since the epoch). */
  at: number
  /** How long it had been in the state it left. */
  afterMs: number
}

const isTime = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x >= 0
const isCount = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0
const orNull = <T>(x: unknown, test: (x: unknown) => x is T) => x === null || test(x)

function isOriginState(raw: unknown): raw is OriginState {
  if (typeof raw !== 'object' || raw === null) return false
  const s = raw as Record<string, unknown>
  return (
    typeof s.healthy === 'boolean' &&
    isTime(s.since) &&
    orNull(s.lastCheck, isTime) &&
    orNull(s.latencyMs, isTime) &&
    orNull(s.status, isCount) &&
    isCount(s.successes) &&
    isCount(s.failures) &&
    orNull(s.reason, (x): x is string => typeof x === 'string') &&
    (s.build === undefined || typeof s.build === 'string')
  )
}

function isSkew(raw: unknown): raw is BuildSkew | undefined {
  if (raw === undefined) return true
  if (typeof raw !== 'object' || raw === null) return false
  const s = raw as Record<string, unknown>
  return isTime(s.since) && typeof s.alerted === 'boolean'
}

/** Validates a stored value; anything malformed is `undefined` (the caller logs it). */
export function parseSnapshot(raw: unknown): Snapshot | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined
  const value = raw as Record<string, unknown>
  if (value.version !== 1 || !isTime(value.updatedAt) || !orNull(value.changedAt, isTime)) {
    return undefined
  }
  const origins = value.origins
  if (typeof origins !== 'object' || origins === null || Array.isArray(origins)) return undefined
  if (!Object.values(origins).every(isOriginState)) return undefined
  if (!isSkew(value.skew)) return undefined
  return raw as Snapshot
}

/** What KV holds: `ok: false` when KV itself failed (as opposed to no or a corrupt value). */
export type StoredSnapshot = { ok: true; snapshot: Snapshot | undefined } | { ok: false }

/** Reads the snapshot from KV; never throws, logs a corrupt value or a failing call. */
export async function loadSnapshot(kv: KVNamespace): Promise<StoredSnapshot> {
  let text: string | null
  try {
    text = await kv.get(HEALTH_KEY, 'text')
  } catch (error) {
    log('georoute: reading the health snapshot failed', error)
    return { ok: false }
  }
  if (text === null) return { ok: true, snapshot: undefined }
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch {
    raw = undefined
  }
  const snapshot = parseSnapshot(raw)
  if (!snapshot) log('georoute: corrupt health snapshot in KV, treated as unknown')
  return { ok: true, snapshot }
}

function log(message: string, error?: unknown): void {
  console.error(
    JSON.stringify(error === undefined ? { message } : { message, error: String(error) }),
  )
}

let memo: { snapshot: Snapshot | undefined; fetchedAt: number } | undefined

/**
 * The snapshot for the request path, from this isolate's memo while it is younger than `ttlMs`:
 * most requests cost no KV read. A failing read keeps the previous value until the next try.
 */
export async function readSnapshot(
  kv: KVNamespace,
  now = Date.now(),
  ttlMs = 10_000,
): Promise<Snapshot | undefined> {
  if (memo && now - memo.fetchedAt < ttlMs) return memo.snapshot
  const stored = await loadSnapshot(kv)
  const snapshot = stored.ok ? stored.snapshot : memo?.snapshot
  memo = { snapshot, fetchedAt: now }
  return snapshot
}

/** Puts a snapshot just written into this isolate's memo. */
export function rememberSnapshot(snapshot: Snapshot, now = Date.now()): void {
  memo = { snapshot, fetchedAt: now }
}

/** Forgets the memo (tests). */
export function resetSnapshotMemo(): void {
  memo = undefined
}

/**
 * True when the cron has missed its heartbeat by more than `staleAfterMs`: the probes may have
 * stopped, so their verdict no longer counts. (An unchanged snapshot is only rewritten every
 * `heartbeatMs`, so age alone up to that is normal.)
 */
export function isStale(
  snapshot: Snapshot,
  now: number,
  health: Pick<HealthSettings, 'heartbeatMs' | 'staleAfterMs'>,
): boolean {
  return now - snapshot.updatedAt > health.heartbeatMs + health.staleAfterMs
}

/** The probes' verdict on one origin, and since when it holds. */
export interface ProbedHealth {
  healthy: boolean
  since: number
}

/** The probes' verdict per origin for ranking; empty (unknown) when absent or stale. */
export function healthFromSnapshot(
  snapshot: Snapshot | undefined,
  now: number,
  health: Pick<HealthSettings, 'heartbeatMs' | 'staleAfterMs'>,
): Map<string, ProbedHealth> {
  const view = new Map<string, ProbedHealth>()
  if (!snapshot || isStale(snapshot, now, health)) return view
  for (const [id, state] of Object.entries(snapshot.origins)) {
    view.set(id, { healthy: state.healthy, since: state.since })
  }
  return view
}

/** True when the origins differ from the stored ones in state, build or membership. */
export function hasChanged(
  stored: Record<string, OriginState>,
  current: Record<string, OriginState>,
): boolean {
  const ids = Object.keys(current)
  if (ids.length !== Object.keys(stored).length) return true
  return ids.some(
    (id) =>
      stored[id]?.healthy !== current[id]?.healthy || stored[id]?.build !== current[id]?.build,
  )
}

/**
 * The build skew the probes' states show now: `undefined` while every known build agrees;
 * otherwise since when (kept from `stored`), and `alerted` once it has lasted `alertMs`. Pure.
 */
export function skewNow(
  stored: BuildSkew | undefined,
  current: Record<string, OriginState>,
  now: number,
  alertMs: number,
): BuildSkew | undefined {
  const builds = new Set<string>()
  for (const state of Object.values(current)) if (state.build) builds.add(state.build)
  if (builds.size < 2) return undefined
  const since = stored?.since ?? now
  return { since, alerted: stored?.alerted === true || now - since >= alertMs }
}

/** True when a skew begins, ends or reaches its alert: a change worth a write. */
function skewChanged(stored: BuildSkew | undefined, next: BuildSkew | undefined): boolean {
  return (stored === undefined) !== (next === undefined) || stored?.alerted !== next?.alerted
}

type WriteLimits = Pick<HealthSettings, 'heartbeatMs' | 'minWriteIntervalMs' | 'writeBurst'>

/**
 * Change writes available now: a token bucket that holds `writeBurst` and refills one per
 * `minWriteIntervalMs`. A lone outage and its recovery are written at once; only an origin that
 * keeps flapping is paced, to one change write per interval on average.
 */
export function writeCredits(stored: Snapshot, now: number, limits: WriteLimits): number {
  if (limits.minWriteIntervalMs === 0) return Number.POSITIVE_INFINITY
  const held = stored.writeCredits ?? limits.writeBurst
  const refilled = Math.max(0, now - stored.updatedAt) / limits.minWriteIntervalMs
  return Math.min(limits.writeBurst, held + refilled)
}

/**
 * Whether to write now. A change is written when a write credit is left and this run has not
 * written a change yet (`runStartedAt`); otherwise it waits, coalesced with whatever else
 * changes. With no change, a heartbeat is written every `heartbeatMs`. `undefined` = no write.
 *
 * The bound holds with KV's eventual consistency too. A run reads the snapshot once, at its
 * start, and KV may serve a copy up to 60 s old: the previous run's write may be missing, never
 * an older one (runs are a minute apart and never overlap), and a run makes at most one change
 * write. So the runs form at most two chains that each see their own writes, and each chain
 * obeys the bucket: at most 2 × (a day / interval + burst) change writes a day, about 740 with
 * the defaults, and half that when reads are fresh. A stale read can also repeat a change (one
 * write, one webhook) that was just written.
 */
export function writeReason(
  stored: Snapshot | undefined,
  current: Record<string, OriginState>,
  now: number,
  limits: WriteLimits,
  runStartedAt = Number.NEGATIVE_INFINITY,
  alertMs = Number.POSITIVE_INFINITY,
): WriteReason | undefined {
  if (!stored) return 'first'
  const skew = skewNow(stored.skew, current, now, alertMs)
  if (hasChanged(stored.origins, current) || skewChanged(stored.skew, skew)) {
    const changedThisRun = stored.changedAt !== null && stored.changedAt >= runStartedAt
    if (!changedThisRun && writeCredits(stored, now, limits) >= 1) return 'change'
  }
  if (now - stored.updatedAt >= limits.heartbeatMs) return 'heartbeat'
  return undefined
}

/** The snapshot to write now, given what KV holds. */
export function nextSnapshot(
  stored: Snapshot | undefined,
  current: Record<string, OriginState>,
  now: number,
  limits: WriteLimits,
  alertMs = Number.POSITIVE_INFINITY,
): Snapshot {
  const skew = skewNow(stored?.skew, current, now, alertMs)
  // A heartbeat that carries a pending change spends a credit too (it is a change write).
  const changed =
    stored !== undefined && (hasChanged(stored.origins, current) || skewChanged(stored.skew, skew))
  const credits = stored ? writeCredits(stored, now, limits) : limits.writeBurst
  const left = changed ? Math.max(0, credits - 1) : credits
  const snapshot: Snapshot = {
    version: 1,
    updatedAt: now,
    changedAt: changed ? now : (stored?.changedAt ?? null),
    origins: { ...current },
  }
  if (Number.isFinite(left)) snapshot.writeCredits = left
  if (skew) snapshot.skew = skew
  return snapshot
}

/** Origins whose state differs between two snapshots (origins added or removed are not). */
export function changesBetween(before: Snapshot, after: Snapshot): StateChange[] {
  const changes: StateChange[] = []
  for (const [origin, now] of Object.entries(after.origins)) {
    const was = before.origins[origin]
    if (!was || was.healthy === now.healthy) continue
    changes.push({
      origin,
      from: was.healthy ? 'up' : 'down',
      to: now.healthy ? 'up' : 'down',
      reason: now.healthy ? null : now.reason,
      at: now.since,
      afterMs: Math.max(0, now.since - was.since),
    })
  }
  return changes
}

/** What a write says of the build skew: it reached its alert, or an alerted one ended. */
export type SkewEvent =
  | { event: 'build-skew'; since: number; builds: Record<string, string> }
  | { event: 'build-skew-over'; since: number; at: number }

/** The skew report a write carries, if any (webhooks follow writes, as for state changes). */
export function skewEventBetween(before: Snapshot, after: Snapshot): SkewEvent | undefined {
  if (after.skew?.alerted && !before.skew?.alerted) {
    const builds: Record<string, string> = {}
    for (const [id, state] of Object.entries(after.origins))
      if (state.build) builds[id] = state.build
    return { event: 'build-skew', since: after.skew.since, builds }
  }
  if (before.skew?.alerted && !after.skew) {
    return { event: 'build-skew-over', since: before.skew.since, at: after.updatedAt }
  }
  return undefined
}
