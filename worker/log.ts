import type { Env } from './env'

/** One request, as the log line and the analytics data point record it. */
export interface RequestRecord {
  method: string
  path: string
  status: number
  origin: string | null
  attempts: number
  cache: string
  colo: string | null
  country: string | null
  totalMs: number
  originMs: number
  cacheMs: number
  /** Each failed attempt (`virginia: timeout (10000 ms)`), when there was one. */
  failures?: string[]
}

/**
 * Emits one structured JSON line for the request when `log` (Workers Logs indexes its fields)
 * and, when the `ANALYTICS` binding is set, one Analytics Engine data point (which samples
 * on its own).
 */
export function recordRequest(env: Env, log: boolean, record: RequestRecord): void {
  if (log) console.log(logLine(record))
  if (!env.ANALYTICS) return
  try {
    env.ANALYTICS.writeDataPoint({
      // blob1..4 and double1..3 in SQL: see README "Analytics".
      blobs: [
        record.origin ?? 'none',
        record.colo ?? '',
        record.cache,
        `${Math.floor(record.status / 100)}xx`,
      ],
      doubles: [record.totalMs, record.status, record.originMs],
      indexes: [record.origin ?? 'none'],
    })
  } catch (error) {
    // Analytics must never fail a reader's request.
    console.error(
      JSON.stringify({ message: 'georoute: analytics write failed', error: String(error) }),
    )
  }
}

/** A JSON string (escaped), or `null`. */
const text = (value: string | null) => (value === null ? 'null' : JSON.stringify(value))
/** A JSON number (a non-finite one is `null`, as `JSON.stringify` writes it). */
const number = (value: number) => (Number.isFinite(value) ? String(value) : 'null')

/**
 * The log line: what `JSON.stringify({ message: 'request', ...record })` gives, field for
 * field and in that order, written out directly (no object copy, no walk of the record): it
 * is built on every request.
 */
export function logLine(r: RequestRecord): string {
  const failures = r.failures === undefined ? '' : `,"failures":${JSON.stringify(r.failures)}`
  return `{"message":"request","method":${text(r.method)},"path":${text(r.path)},"status":${number(r.status)},"origin":${text(r.origin)},"attempts":${number(r.attempts)},"cache":${text(r.cache)},"colo":${text(r.colo)},"country":${text(r.country)},"totalMs":${number(r.totalMs)},"originMs":${number(r.originMs)},"cacheMs":${number(r.cacheMs)}${failures}}`
}
