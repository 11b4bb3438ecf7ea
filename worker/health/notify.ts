import type { Fetcher } from './probe'
import type { SkewEvent, StateChange } from './snapshot'

/** A webhook that does not answer in time is given up: the run must end within its minute. */
export const WEBHOOK_TIMEOUT_MS = 5_000

/** What the webhook receives for one state change. */
export interface WebhookPayload {
  origin: string
  from: 'up' | 'down'
  to: 'up' | 'down'
  reason: string | null
  /** ISO 8601 time of the change. */
  at: string
  /** One line for people: Slack and Discord's `/slack` endpoint display `text`. */
  text: string
  /** The same line for Discord's native webhook endpoint, which displays `content`. */
  content: string
}

function duration(ms: number): string {
  const minutes = Math.round(ms / 60_000)
  if (minutes < 1) return `${Math.max(1, Math.round(ms / 1000))} s`
  if (minutes < 120) return `${minutes} min`
  return `${Math.round(minutes / 60)} h`
}

/** The JSON body for one change, with a human line. */
export function webhookPayload(change: StateChange, label?: string): WebhookPayload {
  const name = label && label !== change.origin ? `${change.origin} (${label})` : change.origin
  const text =
    change.to === 'down'
      ? `🔴 georoute: origin ${name} is down${change.reason ? ` (${change.reason})` : ''}`
      : `🟢 georoute: origin ${name} is up again after ${duration(change.afterMs)} down`
  return {
    origin: change.origin,
    from: change.from,
    to: change.to,
    reason: change.reason,
    at: new Date(change.at).toISOString(),
    text,
    content: text,
  }
}

/** What the webhook receives when origins have run different builds too long, or no longer do. */
export interface SkewPayload {
  event: 'build-skew' | 'build-skew-over'
  /** ISO 8601 time the builds began to differ. */
  since: string
  /** Each origin's build, when the alert is raised. */
  builds?: Record<string, string>
  text: string
  content: string
}

/** The JSON body for a build skew event, with a human line. */
export function skewPayload(event: SkewEvent, now: number): SkewPayload {
  const since = new Date(event.since).toISOString()
  if (event.event === 'build-skew') {
    const list = Object.entries(event.builds)
      .map(([id, build]) => `${id} ${build}`)
      .join(', ')
    const text = `🟠 georoute: origins have run different builds for ${duration(now - event.since)} (${list})`
    return { event: event.event, since, builds: event.builds, text, content: text }
  }
  const text = `🟢 georoute: every origin runs the same build again after ${duration(event.at - event.since)}`
  return { event: event.event, since, text, content: text }
}

/** POSTs one payload; never throws, and never logs the URL (it is a secret). */
export async function sendWebhook(
  url: string,
  payload: WebhookPayload | SkewPayload,
  fetcher: Fetcher,
): Promise<boolean> {
  const subject = 'origin' in payload ? payload.origin : payload.event
  const controller = new AbortController()
  const timer = setTimeout(() => controller.abort(), WEBHOOK_TIMEOUT_MS)
  try {
    const response = await fetcher(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(payload),
      signal: controller.signal,
    })
    await response.body?.cancel()
    if (response.ok) return true
    log(`status ${response.status}`, subject)
  } catch (error) {
    // An error message may quote the URL: keep the secret out of the logs.
    const message = String(error).replaceAll(url, 'HEALTH_WEBHOOK_URL')
    log(controller.signal.aborted ? 'timeout' : message, subject)
  } finally {
    clearTimeout(timer)
  }
  return false
}

function log(error: string, origin: string): void {
  console.error(JSON.stringify({ message: 'georoute: health webhook failed', origin, error }))
}
