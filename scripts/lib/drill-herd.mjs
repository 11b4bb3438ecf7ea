/**
 * The thundering herd after a purge: a popular post is cached, everything is purged, and many
 * readers ask for the post at once while the origins take a moment to render it. Request
 * collapsing (worker/cache/collapse.ts) should send one origin request per isolate for the
 * post, whatever the number of readers; the drill's Worker runs in one workerd isolate.
 */

/** Origin requests for the post after the purge, at most, for the goal to be met. */
export const HERD_GOAL = 2

const HERD_PATH = '/posts/herd'

/**
 * @typedef {object} HerdResult
 * @property {number} readers Concurrent readers after the purge.
 * @property {number} originRequests Requests the origins received for the post after the purge.
 * @property {Record<string, number>} byOrigin Those requests, by origin (a hedge reaches a second).
 * @property {number} ok Readers answered 200.
 * @property {Record<string, number>} caches `x-georoute-cache` values, counted.
 * @property {number} renderMs How long an origin took to render the post.
 * @property {boolean} purged The purge was accepted.
 */

/**
 * Runs the herd against a Worker at `baseUrl` in front of `fleet` (every origin up and idle).
 * @param {{ baseUrl: string, fleet: import('./drill-fleet.mjs').Fleet, token: string,
 *   readers?: number, renderMs?: number }} options
 * @returns {Promise<HerdResult>}
 */
export async function runHerd({ baseUrl, fleet, token, readers = 50, renderMs = 300 }) {
  const headers = { 'x-georoute-geo': '50.11,8.68' }
  const warm = await fetch(`${baseUrl}${HERD_PATH}`, { headers })
  await warm.arrayBuffer()
  const purge = await fetch(`${baseUrl}/__georoute/purge`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ all: true }),
  })
  await purge.arrayBuffer()
  /** @param {string} id */
  const askedOf = (id) =>
    fleet.received(id).filter((r) => new URL(r.url, 'http://origin.invalid').pathname === HERD_PATH)
      .length
  const asked = () => Object.fromEntries(fleet.ids.map((id) => [id, askedOf(id)]))
  const before = asked()
  for (const id of fleet.ids) {
    fleet.setSlowMs(id, renderMs)
    fleet.setMode(id, 'slow')
  }
  try {
    const answers = await Promise.all(
      Array.from({ length: readers }, async () => {
        try {
          const response = await fetch(`${baseUrl}${HERD_PATH}`, { headers })
          await response.arrayBuffer()
          return { status: response.status, cache: response.headers.get('x-georoute-cache') }
        } catch {
          return { status: 0, cache: null }
        }
      }),
    )
    /** @type {Record<string, number>} */
    const caches = {}
    for (const { cache } of answers) caches[cache ?? 'none'] = (caches[cache ?? 'none'] ?? 0) + 1
    const after = asked()
    /** @type {Record<string, number>} */
    const byOrigin = {}
    for (const id of fleet.ids) {
      const n = (after[id] ?? 0) - (before[id] ?? 0)
      if (n > 0) byOrigin[id] = n
    }
    return {
      readers,
      originRequests: Object.values(byOrigin).reduce((sum, n) => sum + n, 0),
      byOrigin,
      ok: answers.filter((a) => a.status === 200).length,
      caches,
      renderMs,
      purged: purge.ok,
    }
  } finally {
    for (const id of fleet.ids) fleet.setMode(id, 'ok')
  }
}

/**
 * The herd's goal: every reader answered, and at most `HERD_GOAL` origin requests for the post.
 * @param {HerdResult} herd
 * @returns {import('./drill-analyze.mjs').DrillGoal}
 */
export function herdGoal(herd) {
  const met = herd.purged && herd.ok === herd.readers && herd.originRequests <= HERD_GOAL
  return {
    label: `${herd.readers} concurrent readers of one post right after a purge of everything: at most ${HERD_GOAL} origin requests for it (one isolate)`,
    met,
    detail: `${herd.originRequests} origin requests (${herdOrigins(herd)}); ${herd.ok} of ${herd.readers} answered 200 (${herdCaches(herd)})${herd.purged ? '' : '; the purge was refused'}`,
  }
}

/** @param {HerdResult} herd */
export function herdOrigins(herd) {
  return (
    Object.entries(herd.byOrigin)
      .map(([id, n]) => `${id} ${n}`)
      .join(', ') || 'none'
  )
}

/** @param {HerdResult} herd */
export function herdCaches(herd) {
  return Object.entries(herd.caches)
    .map(([cache, n]) => `${n} ${cache}`)
    .join(', ')
}
