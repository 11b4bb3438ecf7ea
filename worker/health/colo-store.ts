/**
 * Per-colo health in one isolate: the passive state machine for readers entering one data
 * center, steering's memory, and the data center's shared record in the Cache API (per data
 * center, unlike KV), read through a short memo and written in the background. Requests that
 * play several colos on one machine (GEO_OVERRIDE) each get their own, even in one isolate.
 */
import {
  type ColoFacts,
  type ColoRecord,
  coloFacts,
  type LocalFacts,
  mergeColoRecord,
  parseColoRecord,
} from './colo'
import { DEFAULT_THRESHOLDS, PassiveHealth, type PassiveThresholds, type Verdict } from './passive'

/**
 * The Cache API key of a data center's record. The host is under `.invalid` (RFC 2606): no
 * reader's URL can name it, so no cached page shares the key and no purge or write reaches it.
 */
export function coloRecordKey(colo: string): string {
  return `https://colo-health.georoute.invalid/v1/${encodeURIComponent(colo)}`
}

/** A record untouched this long holds nothing current (the longest ejection is shorter). */
const RECORD_TTL_SECONDS = 3600

/** Colos one isolate keeps apart; a real isolate sees one, the demo and tests a few. */
export const MAX_COLOS = 16

/** A read of the record still not ended after this long is taken as abandoned. */
const READ_ABANDONED_MS = 2_000

/** What one isolate knows of the origins as seen from one data center. */
export class ColoHealth {
  readonly colo: string
  /** This isolate's passive state machine for requests entering this data center. */
  readonly passive = new PassiveHealth()
  /** Nearest origin id → the origin its readers were last sent to (steering's hysteresis). */
  readonly chosen = new Map<string, string>()
  /** When a request last went to a nearer origin to measure it (`exploreTarget`). */
  lastExploreAt = Number.NEGATIVE_INFINITY
  #record: ColoRecord | undefined
  #readAt = Number.NEGATIVE_INFINITY
  /** When this isolate's latest read of the record started (one request's, awaited by it alone). */
  #readStartedAt = Number.NEGATIVE_INFINITY
  readonly #unwritten = new Map<string, { ok: number; failed: number }>()
  /** Each origin's facts as last computed, until that origin, the record or the bucket changes. */
  readonly #facts = new Map<string, { bucket: number; bucketMs: number; facts: ColoFacts }>()
  /** An ejection started or ended here and is not written yet. */
  #changed = false
  #writtenAt = Number.NEGATIVE_INFINITY
  #writing = false

  constructor(colo: string) {
    this.colo = colo
  }

  /** One request's verdict on an origin (the `RequestJudge`'s sink). */
  record(
    originId: string,
    verdict: Verdict,
    now: number,
    origins: number,
    thresholds: PassiveThresholds = DEFAULT_THRESHOLDS,
  ): void {
    const before = this.passive.get(originId)?.changedAt ?? 0
    this.passive.record(originId, verdict, now, origins, thresholds)
    if ((this.passive.get(originId)?.changedAt ?? 0) !== before) this.#changed = true
    const counts = this.#unwritten.get(originId) ?? { ok: 0, failed: 0 }
    if (verdict.kind === 'success') counts.ok++
    else counts.failed++
    this.#unwritten.set(originId, counts)
    this.#facts.delete(originId)
  }

  /** An attempt at `originId` had no answer in `ms` (a hedge that lost). */
  observeSlow(originId: string, ms: number, now: number): void {
    this.passive.observeSlow(originId, ms, now)
    this.#facts.delete(originId)
  }

  /**
   * One origin as seen from this data center: the shared record with this isolate's facts.
   * Computed again only once something about the origin changed: a request usually recomputes
   * the one origin its previous request judged.
   */
  facts(originId: string, now: number, bucketMs: number): ColoFacts {
    const bucket = Math.floor(now / bucketMs)
    const known = this.#facts.get(originId)
    if (known && known.bucket === bucket && known.bucketMs === bucketMs) return known.facts
    const facts = coloFacts(this.#record?.origins[originId], this.#local(originId), now, bucketMs)
    this.#facts.set(originId, { bucket, bucketMs, facts })
    return facts
  }

  #local(originId: string): LocalFacts {
    const counts = this.#unwritten.get(originId)
    return { state: this.passive.get(originId), ok: counts?.ok ?? 0, failed: counts?.failed ?? 0 }
  }

  /**
   * Reads the shared record when the memo is older than `memoMs`: a promise for this request to
   * await then, `undefined` (nothing to wait for) otherwise. While another request's read is
   * under way, the others go on with the memo rather than wait for it: workerd cancels a request
   * that waits on another request's I/O once that request is gone ("the Worker's code had hung"),
   * which a reader closing the connection early is enough for. A read that never ended (its
   * request cancelled) is retried after `READ_ABANDONED_MS`.
   */
  refresh(cache: Cache, now: number, memoMs: number): Promise<void> | undefined {
    if (now - this.#readAt < memoMs) return undefined
    if (now - this.#readStartedAt < Math.min(memoMs, READ_ABANDONED_MS)) return undefined
    this.#readStartedAt = now
    return this.#read(cache, now)
  }

  async #read(cache: Cache, now: number): Promise<void> {
    const record = await loadColoRecord(cache, this.colo)
    // A read that started before our own write ended must not undo it.
    if (record && record.writtenAt >= (this.#record?.writtenAt ?? 0)) {
      this.#record = record
      this.#facts.clear()
    }
    this.#readAt = now
  }

  /** True when something must be written: a change at once, counts every `intervalMs`. */
  writeDue(now: number, intervalMs: number): boolean {
    if (this.#writing) return false
    if (this.#changed) return true
    return now - this.#writtenAt >= intervalMs && this.#unwritten.size > 0
  }

  /**
   * Writes this isolate's facts into the data center's record: reads what other isolates wrote,
   * merges, puts. Two isolates writing at the same moment may lose one's counts (the Cache API
   * has no compare-and-swap); ejections and latency are rewritten by the next write anyway.
   */
  async write(cache: Cache, now: number, bucketMs: number): Promise<void> {
    this.#writing = true
    this.#changed = false
    this.#writtenAt = now
    const locals = new Map<string, LocalFacts>()
    for (const [id, state] of this.passive.entries()) {
      const counts = this.#unwritten.get(id)
      locals.set(id, { state, ok: counts?.ok ?? 0, failed: counts?.failed ?? 0 })
    }
    this.#unwritten.clear()
    try {
      const stored = await loadColoRecord(cache, this.colo)
      const record = mergeColoRecord(stored, locals, this.colo, now, bucketMs)
      await cache.put(
        coloRecordKey(this.colo),
        new Response(JSON.stringify(record), {
          headers: {
            'content-type': 'application/json',
            'cache-control': `max-age=${RECORD_TTL_SECONDS}`,
          },
        }),
      )
      this.#record = record
      this.#facts.clear()
      this.#readAt = now
    } catch (error) {
      log('writing the colo health record failed', error)
      // Counted again next time rather than lost.
      for (const [id, facts] of locals) {
        const counts = this.#unwritten.get(id) ?? { ok: 0, failed: 0 }
        counts.ok += facts.ok
        counts.failed += facts.failed
        if (counts.ok + counts.failed > 0) this.#unwritten.set(id, counts)
      }
      this.#changed = true
    } finally {
      this.#writing = false
    }
  }
}

/** The data center's record as the Cache API holds it; `undefined` if none, corrupt or failing. */
export async function loadColoRecord(cache: Cache, colo: string): Promise<ColoRecord | undefined> {
  try {
    const response = await cache.match(coloRecordKey(colo))
    if (!response) return undefined
    const record = parseColoRecord(await response.json(), colo)
    if (!record) log('ignoring a malformed colo health record', colo)
    return record
  } catch (error) {
    log('reading the colo health record failed', error)
    return undefined
  }
}

function log(message: string, error: unknown): void {
  console.error(JSON.stringify({ message: `georoute: ${message}`, error: String(error) }))
}

const colos = new Map<string, ColoHealth>()

/** This isolate's view for readers entering `colo`; the oldest colo makes room past MAX_COLOS. */
export function coloHealth(colo: string): ColoHealth {
  let health = colos.get(colo)
  if (health) return health
  if (colos.size >= MAX_COLOS) colos.delete(colos.keys().next().value as string)
  health = new ColoHealth(colo)
  colos.set(colo, health)
  return health
}

/** Forgets every colo's view (tests). */
export function clearColoHealth(): void {
  colos.clear()
}
