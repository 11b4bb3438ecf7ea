/**
 * One data center's shared view of the origins: the record its isolates keep in the Cache API
 * (which is per data center), and how an isolate's own facts merge into it. Pure: the I/O is in
 * `./colo-store.ts`.
 */
import type { PassiveState } from './passive'

/** One origin in a data center's record. */
export interface ColoOrigin {
  /** The ejection in force here (0, 0 when none), why, and when it last started or ended. */
  ejectedAt: number
  ejectedUntil: number
  why: string | null
  changedAt: number
  /** Smoothed time to response headers from this data center; null before the first sample. */
  latencyMs: number | null
  sampledAt: number
  /**
   * Outcomes of real requests, in buckets of half the evidence window: `bucket` is the index
   * (time / bucket length) of the one counted in `ok`/`failed`, `prev*` the one before.
   */
  bucket: number
  ok: number
  failed: number
  prevOk: number
  prevFailed: number
}

export interface ColoRecord {
  version: 1
  colo: string
  writtenAt: number
  origins: Record<string, ColoOrigin>
}

/** What one isolate knows of one origin that its data center's record may not have yet. */
export interface LocalFacts {
  state: PassiveState | undefined
  /** Outcomes counted here and not written yet. */
  ok: number
  failed: number
}

/** One origin as routing and the status page see it from this data center. */
export interface ColoFacts {
  ejectedAt: number
  ejectedUntil: number
  why: string | null
  latencyMs: number | undefined
  sampledAt: number | undefined
  /** Outcomes within the last half to whole evidence window, this data center's isolates together. */
  ok: number
  failed: number
}

const isTime = (x: unknown) => typeof x === 'number' && Number.isFinite(x) && x >= 0
const isCount = (x: unknown) => Number.isSafeInteger(x) && (x as number) >= 0

function isColoOrigin(raw: unknown): raw is ColoOrigin {
  if (typeof raw !== 'object' || raw === null) return false
  const o = raw as Record<string, unknown>
  return (
    ['ejectedAt', 'ejectedUntil', 'changedAt', 'sampledAt'].every((k) => isTime(o[k])) &&
    ['bucket', 'ok', 'failed', 'prevOk', 'prevFailed'].every((k) => isCount(o[k])) &&
    (o.why === null || typeof o.why === 'string') &&
    (o.latencyMs === null || isTime(o.latencyMs))
  )
}

/** Validates a stored record; anything malformed is `undefined` (and is overwritten). */
export function parseColoRecord(raw: unknown, colo: string): ColoRecord | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined
  const r = raw as Record<string, unknown>
  if (r.version !== 1 || r.colo !== colo || !isTime(r.writtenAt)) return undefined
  const origins = r.origins
  if (typeof origins !== 'object' || origins === null || Array.isArray(origins)) return undefined
  if (!Object.values(origins).every(isColoOrigin)) return undefined
  return raw as ColoRecord
}

const EMPTY: ColoOrigin = {
  ejectedAt: 0,
  ejectedUntil: 0,
  why: null,
  changedAt: 0,
  latencyMs: null,
  sampledAt: 0,
  bucket: 0,
  ok: 0,
  failed: 0,
  prevOk: 0,
  prevFailed: 0,
}

/** The counts of `stored` moved on to bucket `bucket`: older buckets drop out. */
function rolled(stored: ColoOrigin, bucket: number) {
  if (stored.bucket === bucket) return stored
  if (stored.bucket === bucket - 1) {
    return { ok: 0, failed: 0, prevOk: stored.ok, prevFailed: stored.failed }
  }
  if (stored.bucket > bucket) return stored // Written by a clock ahead of ours: keep it.
  return { ok: 0, failed: 0, prevOk: 0, prevFailed: 0 }
}

/**
 * One origin's entry after this isolate's facts are merged in: the newer ejection change wins
 * (so one isolate's recovery is not undone by another's older ejection), the newer latency
 * sample wins, and this isolate's unwritten counts are added. Pure.
 */
export function mergeOrigin(
  stored: ColoOrigin | undefined,
  local: LocalFacts | undefined,
  bucket: number,
): ColoOrigin {
  const base = stored ?? EMPTY
  const counts = stored ? rolled(stored, bucket) : EMPTY
  const state = local?.state
  const merged: ColoOrigin = {
    ejectedAt: base.ejectedAt,
    ejectedUntil: base.ejectedUntil,
    why: base.why,
    changedAt: base.changedAt,
    latencyMs: base.latencyMs,
    sampledAt: base.sampledAt,
    bucket: Math.max(bucket, stored?.bucket ?? 0),
    ok: counts.ok + (local?.ok ?? 0),
    failed: counts.failed + (local?.failed ?? 0),
    prevOk: counts.prevOk,
    prevFailed: counts.prevFailed,
  }
  if (state && state.changedAt > base.changedAt) {
    merged.ejectedAt = state.ejectedAt
    merged.ejectedUntil = state.ejectedUntil
    merged.why = state.lastFailure ?? null
    merged.changedAt = state.changedAt
  }
  if (state?.latencyMs !== undefined && (state.sampledAt ?? 0) > base.sampledAt) {
    merged.latencyMs = state.latencyMs
    merged.sampledAt = state.sampledAt ?? 0
  }
  return merged
}

/** The record to write: `stored` (what the Cache API holds now) with this isolate's facts. */
export function mergeColoRecord(
  stored: ColoRecord | undefined,
  locals: ReadonlyMap<string, LocalFacts>,
  colo: string,
  now: number,
  bucketMs: number,
): ColoRecord {
  const bucket = Math.floor(now / bucketMs)
  const origins: Record<string, ColoOrigin> = {}
  const ids = new Set([...Object.keys(stored?.origins ?? {}), ...locals.keys()])
  for (const id of ids) origins[id] = mergeOrigin(stored?.origins[id], locals.get(id), bucket)
  return { version: 1, colo, writtenAt: now, origins }
}

/** One origin as this data center sees it: its record merged with this isolate's facts. */
export function coloFacts(
  stored: ColoOrigin | undefined,
  local: LocalFacts | undefined,
  now: number,
  bucketMs: number,
): ColoFacts {
  const merged = mergeOrigin(stored, local, Math.floor(now / bucketMs))
  return {
    ejectedAt: merged.ejectedAt,
    ejectedUntil: merged.ejectedUntil,
    why: merged.why,
    latencyMs: merged.latencyMs ?? undefined,
    sampledAt: merged.latencyMs === null ? undefined : merged.sampledAt,
    ok: merged.ok + merged.prevOk,
    failed: merged.failed + merged.prevFailed,
  }
}

/**
 * Readers as probes: this data center's own recent requests to the origin succeed (at least
 * `minSuccesses`, none failed, within the evidence window), so the probes' "down" — sent from
 * wherever the cron ran — does not demote the origin here.
 */
export function hasLocalEvidence(facts: ColoFacts | undefined, minSuccesses: number): boolean {
  return facts !== undefined && facts.failed === 0 && facts.ok >= minSuccesses
}
