import type { ResolvedOrigin } from '../config'
import { CDN_LOOP_TOKEN } from '../proxy/headers'

/** Why a probe failed, in the words the status page and the webhook show. */
export type ProbeFailure =
  | 'timeout'
  | 'connect refused'
  | 'connect error'
  | 'body mismatch'
  | `status ${number}`

/** One probe of one origin. Failures are values: a probe never throws. */
export interface ProbeResult {
  ok: boolean
  /** The origin's status code, when it answered at all. */
  status?: number
  /** Time to the verdict (headers, or the body when its text is checked). */
  latencyMs: number
  reason?: ProbeFailure
  /** What the answer's `Reports` headers said, when it had them (build id, db position). */
  build?: string
  position?: string
}

/** Response headers a probe reads, when set: the build id and the database position. */
export interface Reports {
  build?: string | undefined
  position?: string | undefined
}

/** The reported values of an answer, as header text (parsed by whoever uses them). */
function reported(response: Response, reports: Reports | undefined): Partial<ProbeResult> {
  if (!reports) return {}
  const out: Partial<ProbeResult> = {}
  const build = reports.build && response.headers.get(reports.build)
  if (build) out.build = build
  const position = reports.position && response.headers.get(reports.position)
  if (position) out.position = position
  return out
}

/** The subrequest a probe makes; injectable so tests can stand in for the network. */
export type Fetcher = (input: Request | string | URL, init?: RequestInit) => Promise<Response>

// A bare `fetch` reference loses its `this` in workerd ("Illegal invocation"): always wrap it.
export const platformFetch: Fetcher = (input, init) => fetch(input, init)

class ProbeTimeout extends Error {}

/** The URL a probe asks for: the origin's base path + the probe path (and its query, if any). */
export function probeUrl(origin: ResolvedOrigin): URL {
  const url = new URL(origin.base.origin)
  const [path = '/', query] = origin.probe.path.split(/\?(.*)/s, 2)
  url.pathname = `${origin.base.pathname.replace(/\/+$/, '')}${path}`
  if (query) url.search = query
  return url
}

/** Tells a refused connection (the process is gone) from other network errors. */
function networkReason(error: unknown): ProbeFailure {
  return /refused/i.test(String(error)) ? 'connect refused' : 'connect error'
}

/**
 * Probes one origin as its `probe` spec says: method, path, headers, accepted status range,
 * optional body text, all within `timeoutMs` (which also covers reading the body).
 */
export async function probeOrigin(
  origin: ResolvedOrigin,
  fetcher: Fetcher = platformFetch,
  now: () => number = Date.now,
  reports?: Reports,
): Promise<ProbeResult> {
  const { probe } = origin
  const started = now()
  const controller = new AbortController()
  const timer = setTimeout(() => controller.abort(new ProbeTimeout()), probe.timeoutMs)
  const elapsed = () => now() - started
  try {
    const headers = new Headers(probe.headers)
    if (!headers.has('user-agent')) headers.set('user-agent', 'georoute-probe')
    // Marks the probe as ours: an origin URL that points back at this Worker answers 508.
    headers.set('cdn-loop', CDN_LOOP_TOKEN)
    // A probe must reach the origin, never a cached answer. (`cache` is supported by workerd
    // since 2024-11-11 but missing from the 2023-07-01 types.)
    const init: RequestInit & { cache: 'no-store' } = {
      method: probe.method,
      headers,
      redirect: 'manual',
      cache: 'no-store',
      signal: controller.signal,
    }
    const response = await fetcher(probeUrl(origin), init)
    const { status } = response
    const told = reported(response, reports)
    const [min, max] = probe.expectStatus
    if (status < min || status > max) {
      await response.body?.cancel()
      return { ok: false, status, latencyMs: elapsed(), reason: `status ${status}`, ...told }
    }
    if (probe.bodyIncludes === undefined) {
      await response.body?.cancel()
      return { ok: true, status, latencyMs: elapsed(), ...told }
    }
    const text = await response.text()
    if (!text.includes(probe.bodyIncludes)) {
      return { ok: false, status, latencyMs: elapsed(), reason: 'body mismatch', ...told }
    }
    return { ok: true, status, latencyMs: elapsed(), ...told }
  } catch (error) {
    const reason = controller.signal.aborted ? 'timeout' : networkReason(error)
    return { ok: false, latencyMs: elapsed(), reason }
  } finally {
    clearTimeout(timer)
  }
}
