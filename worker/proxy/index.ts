import type { ResolvedOrigin, RoutingSettings } from '../config'
import {
  downstreamHeaders,
  type EdgeFacts,
  type OriginHosts,
  type SharedFields,
  upstreamHeaders,
} from './headers'
import { type BodyFailure, boundedBody, idleTimeout, withDeclaredLength } from './idle'

/** Why one attempt at one origin did not give a usable answer. */
export type FailureReason = 'timeout' | 'connect error' | `status ${number}`

/** One try at one origin, as the trace and passive health see it. */
export interface Attempt {
  origin: string
  ms: number
  status?: number
  failure?: FailureReason
  /** Cancelled by us because another origin answered first: slow, not necessarily broken. */
  lostHedge?: boolean
  /** What the runtime said of a connect error (for the log line). */
  error?: string
  /** A good answer whose body is still coming: its end is reported to `onBodyEnd`. */
  bodyPending?: boolean
}

/** How the proxy step ended. */
export interface ProxyOutcome {
  response: Response
  /** The origin whose response is returned, if any. */
  origin?: ResolvedOrigin
  attempts: Attempt[]
  /**
   * Set when no origin gave a usable answer. `response` is then the last origin answer exactly
   * as sent (a 5xx, `origin` naming who sent it), which the cache may replace with a stale copy;
   * or, when no origin answered at all (connect errors, timeouts), our own error page, and
   * `origin` is unset.
   */
  failed?: 'all-failed' | 'write-failed'
}

export interface ProxyContext {
  edge: EdgeFacts
  originHosts: OriginHosts
  routing: RoutingSettings
  /** Called after each attempt (passive health listens here). */
  onAttempt?: (origin: ResolvedOrigin, attempt: Attempt) => void
  /**
   * Called once the body of an attempt marked `bodyPending` ends: read whole or cancelled by
   * its reader (no failure), stalled past `bodyIdleTimeoutMs`, or cut by the connection.
   */
  onBodyEnd?: (origin: ResolvedOrigin, failure?: BodyFailure) => void
  /** How long to wait for an origin before hedging to the next; `undefined` = never hedge. */
  hedgeDelayMs?: (origin: ResolvedOrigin) => number | undefined
  /** Clock in ms; injectable for tests. */
  now?: () => number
}

/**
 * What the proxy reads of a request: the reader's own, or the cache's shareable GET (the
 * reader's headers with `shared` saying which of them may reach the origin).
 */
export type UpstreamRequest = Pick<Request, 'method' | 'headers' | 'body'> & {
  shared?: SharedFields
}

/** Methods that may be retried on another origin: safe, and sent without a body. */
export function isRetryable(request: UpstreamRequest): boolean {
  return (
    (request.method === 'GET' || request.method === 'HEAD' || request.method === 'OPTIONS') &&
    request.body === null
  )
}

/**
 * The origin URL for a public URL: the origin's scheme, host and base path + the reader's path
 * and query, as text (what `fetch` takes; no URL object built per request).
 */
export function upstreamUrl(origin: ResolvedOrigin, publicUrl: URL): string {
  // Concatenate rather than resolve: `//evil.example/x` or `@host` in the path must stay a path
  // on this origin, never pick another host. The public path is already percent-encoded as a
  // path (the URL parser did it), and begins with `/`, so it cannot end the authority.
  const base = origin.base.pathname.replace(/\/+$/, '')
  return `${origin.base.origin}${base}${publicUrl.pathname}${publicUrl.search}`
}

const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304])

class AttemptTimeout extends Error {}
/** Abort reason for an attempt whose race another origin already won. */
class HedgeLost extends Error {}

interface Sent {
  response?: Response
  attempt: Attempt
  /** Aborted by us because another attempt won: not the origin's fault. */
  lost?: boolean
}

/**
 * A connection that fails this fast, before any answer, is most likely one the pool kept and the
 * origin had just closed: a request that may be retried is sent once more to the same origin
 * (RFC 9112 §9.3.1), as nginx, Envoy and Go's HTTP client do, before the origin is blamed.
 */
const INSTANT_FAILURE_MS = 50

/** A hedge the attempt's own timer starts: `fire` is called once `ms` have passed, if still waiting. */
interface HedgeTimer {
  ms: number
  fire: () => void
}

/**
 * Sends the request to one origin; resolves once the response headers arrive. `hedge` (asked
 * once the attempt has started, given its timeout) may ride on the attempt's timer: one timer,
 * not two.
 */
async function attempt(
  request: UpstreamRequest,
  origin: ResolvedOrigin,
  context: ProxyContext,
  timeoutMs: number,
  body: ReadableStream | null,
  controller = new AbortController(),
  hedge?: (timeoutMs: number) => HedgeTimer | undefined,
): Promise<Sent> {
  const now = context.now ?? Date.now
  const started = now()
  const abort = () => controller.abort(new AttemptTimeout())
  const hedged = hedge?.(timeoutMs)
  let timer = hedged
    ? setTimeout(() => {
        hedged.fire()
        timer = setTimeout(abort, timeoutMs - hedged.ms)
      }, hedged.ms)
    : setTimeout(abort, timeoutMs)
  const url = upstreamUrl(origin, context.edge.publicUrl)
  const init: RequestInit = {
    method: request.method,
    headers: upstreamHeaders(request.headers, context.edge, request.shared),
    body,
    redirect: 'manual',
    signal: controller.signal,
  }
  try {
    let response: Response
    try {
      response = await fetch(url, init)
    } catch (error) {
      const again =
        body === null &&
        isRetryable(request) &&
        !controller.signal.aborted &&
        now() - started <= INSTANT_FAILURE_MS
      if (!again) throw error
      response = await fetch(url, init)
    }
    const result: Attempt = { origin: origin.id, ms: now() - started, status: response.status }
    if (response.status < 200) {
      // An interim answer (103 Early Hints, 102 Processing, an unasked-for 100) that the
      // runtime's fetch took for the final one: the real answer is lost, and a Response cannot
      // carry a 1xx. A failure, then: a read goes on to the next origin.
      void response.body?.cancel()
      result.failure = `status ${response.status}`
      return { attempt: result }
    }
    if (response.status >= 500) result.failure = `status ${response.status}`
    return { response, attempt: result }
  } catch (error) {
    const reason: unknown = controller.signal.aborted ? controller.signal.reason : undefined
    const timedOut = reason instanceof AttemptTimeout || reason instanceof HedgeLost
    const result: Attempt = {
      origin: origin.id,
      ms: now() - started,
      failure: timedOut ? 'timeout' : 'connect error',
    }
    if (!timedOut) result.error = String(error).slice(0, 200)
    return { attempt: result, lost: reason instanceof HedgeLost }
  } finally {
    // Headers are in (or it failed): the body must not be cut by the attempt timer.
    clearTimeout(timer)
  }
}

/**
 * The origin's response with hop-by-hop removed and redirects pointed at the public host, its
 * body cut when the origin stalls (`bodyIdleTimeoutMs`); `onEnd` hears how the body ended.
 */
function forReader(
  response: Response,
  context: ProxyContext,
  onEnd?: (failure?: BodyFailure) => void,
): Response {
  // Statuses that carry no body must be built with a null one (RFC 9110 §6.4.1).
  const empty = NULL_BODY_STATUS.has(response.status)
  if (empty) void response.body?.cancel()
  const idleMs = context.routing.bodyIdleTimeoutMs
  let body = empty ? null : response.body
  if (body && idleMs > 0) {
    body =
      boundedBody(body, response.headers, idleMs, onEnd) ??
      withDeclaredLength(idleTimeout(body, idleMs, onEnd), response.headers)
  } else onEnd?.()
  return new Response(body, {
    status: response.status,
    statusText: response.statusText,
    headers: downstreamHeaders(response.headers, context.originHosts, context.edge.publicUrl),
  })
}

/** Reports an attempt to passive health, marking one we cancelled because another won. */
function report(context: ProxyContext, origin: ResolvedOrigin, sent: Sent): void {
  context.onAttempt?.(origin, sent.lost ? { ...sent.attempt, lostHedge: true } : sent.attempt)
}

/**
 * Reports the attempt whose answer reaches the reader and builds that answer. A good answer
 * is not over until its body is: passive health hears how the body ended (`onBodyEnd`).
 */
function answer(
  context: ProxyContext,
  origin: ResolvedOrigin,
  sent: Sent,
  response: Response,
): Response {
  const { onBodyEnd } = context
  if (!onBodyEnd || sent.attempt.failure) {
    report(context, origin, sent)
    return forReader(response, context)
  }
  report(context, origin, { ...sent, attempt: { ...sent.attempt, bodyPending: true } })
  return forReader(response, context, (failure) => onBodyEnd(origin, failure))
}

/**
 * Proxies to the ranked origins. A retryable request (GET/HEAD) moves to the next origin on a
 * connect error, a timeout or a 5xx, within `maxAttempts` and the total deadline, and is hedged:
 * when an origin has not answered within `hedgeDelay(origin)`, the next one starts in parallel
 * and the first good answer wins; when none is good, the last origin answer is returned as sent.
 * Anything else is sent exactly once: a write is never repeated on another origin, and its
 * answer, whatever the status, reaches the writer as sent.
 */
export async function proxyRequest(
  request: UpstreamRequest,
  ranked: readonly ResolvedOrigin[],
  context: ProxyContext,
): Promise<ProxyOutcome> {
  const { routing } = context
  const attempts: Attempt[] = []
  const first = ranked[0]
  if (!first)
    return { response: unavailable(routing.retryAfterSeconds), attempts, failed: 'all-failed' }

  if (!isRetryable(request)) {
    const sent = await attempt(request, first, context, routing.deadlineMs, request.body)
    attempts.push(sent.attempt)
    if (sent.response) {
      return { response: answer(context, first, sent, sent.response), origin: first, attempts }
    }
    report(context, first, sent)
    return {
      response: writeFailed(sent.attempt.failure === 'timeout' ? 504 : 502),
      attempts,
      failed: 'write-failed',
    }
  }
  return raceOrigins(request, ranked.slice(0, routing.maxAttempts), context, attempts)
}

type Settled = { index: number; sent: Sent }

/** Failover with hedging for a retryable request. */
async function raceOrigins(
  request: UpstreamRequest,
  tries: readonly ResolvedOrigin[],
  context: ProxyContext,
  attempts: Attempt[],
): Promise<ProxyOutcome> {
  const { routing } = context
  const now = context.now ?? Date.now
  const deadline = now() + routing.deadlineMs
  const running = new Map<number, { controller: AbortController; done: Promise<Settled> }>()
  let launched = 0

  const launch = (hedge?: (timeoutMs: number) => HedgeTimer | undefined) => {
    const index = launched++
    const origin = tries[index]!
    const controller = new AbortController()
    const timeout = Math.max(1, Math.min(routing.attemptTimeoutMs, deadline - now()))
    const done = attempt(request, origin, context, timeout, null, controller, hedge).then(
      (sent) => ({ index, sent }),
    )
    running.set(index, { controller, done })
  }

  // The last origin answer that was not good (a 5xx), kept with its body unread: when no origin
  // does better it reaches the reader as sent, as nginx and Envoy do after their retries (a
  // maintenance 503 keeps its own Retry-After and page).
  let last: { response: Response; origin: ResolvedOrigin } | undefined

  // The first wait's hedge, decided as the loop decides it (same facts, same clock reading),
  // once the first attempt has started: on that attempt's own timer when it is due before the
  // attempt times out (the common case: one timer per request, not two).
  let first: { hedge: number | undefined; hedged?: Promise<'hedge'> } | undefined
  launch((timeoutMs) => {
    const canHedge = launched < tries.length && deadline > now()
    const hedge = canHedge ? context.hedgeDelayMs?.(tries[0]!) : undefined
    first = { hedge }
    if (hedge === undefined || hedge >= timeoutMs) return undefined
    let fire = () => {}
    first.hedged = new Promise((resolve) => {
      fire = () => resolve('hedge')
    })
    return { ms: hedge, fire }
  })
  while (running.size > 0) {
    let hedge: number | undefined
    let hedged: Promise<'hedge'> | undefined
    if (first) {
      ;({ hedge, hedged } = first)
      first = undefined
    } else {
      const canHedge = launched < tries.length && running.size === 1 && deadline > now()
      hedge = canHedge ? context.hedgeDelayMs?.(tries[launched - 1]!) : undefined
    }
    let timer: ReturnType<typeof setTimeout> | undefined
    const waits: Promise<Settled | 'hedge'>[] = [...running.values()].map((r) => r.done)
    if (hedged) waits.push(hedged)
    else if (hedge !== undefined) {
      waits.push(new Promise((resolve) => (timer = setTimeout(() => resolve('hedge'), hedge))))
    }
    const settled = await Promise.race(waits)
    clearTimeout(timer)
    if (settled === 'hedge') {
      launch()
      continue
    }
    running.delete(settled.index)
    const origin = tries[settled.index]!
    const { sent } = settled
    attempts.push(sent.attempt)
    if (sent.response && !sent.attempt.failure) {
      // First good answer wins: cancel the rest, and free any response that still arrives.
      for (const other of running.values()) {
        other.controller.abort(new HedgeLost())
        other.done.then(({ index, sent: late }) => {
          report(context, tries[index]!, late.response ? late : { ...late, lost: true })
          return late.response?.body?.cancel()
        })
      }
      void last?.response.body?.cancel()
      return { response: answer(context, origin, sent, sent.response), origin, attempts }
    }
    report(context, origin, sent)
    if (sent.response) {
      void last?.response.body?.cancel()
      last = { response: sent.response, origin }
    }
    if (running.size === 0 && launched < tries.length && deadline > now()) launch()
  }
  if (last) {
    const response = forReader(last.response, context)
    return { response, origin: last.origin, attempts, failed: 'all-failed' }
  }
  return { response: unavailable(routing.retryAfterSeconds), attempts, failed: 'all-failed' }
}

const PAGE_STYLE =
  'body{font:16px/1.5 system-ui,sans-serif;max-width:36em;margin:4em auto;padding:0 1em;color:#222}'

/** A small readable page for a reader when georoute itself has to answer. */
export function errorPage(
  status: number,
  title: string,
  message: string,
  headers: Record<string, string> = {},
): Response {
  const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
  const html = `<!doctype html><html lang="en"><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title><style>${PAGE_STYLE}</style><h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p></html>\n`
  return new Response(html, {
    status,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      ...headers,
    },
  })
}

/** No origin answered a read at all (connect errors, timeouts). */
export function unavailable(retryAfterSeconds: number): Response {
  return errorPage(
    503,
    'This blog is briefly unavailable',
    `None of its servers answered just now. Please try again in ${retryAfterSeconds} seconds.`,
    { 'retry-after': String(retryAfterSeconds) },
  )
}

/** A write could not be completed; it was sent at most once and is not retried elsewhere. */
function writeFailed(status: 502 | 504): Response {
  return errorPage(
    status,
    status === 504 ? 'The server took too long' : 'The server could not be reached',
    'Your change may not have been saved. Check before sending it again.',
  )
}
