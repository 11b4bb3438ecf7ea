/**
 * The drill's steady, bounded request stream: GETs from readers in several cities and POSTs
 * (comments, each with a unique id), sent at a fixed rate whatever the answers do, each one
 * recorded with what came back.
 */
import { Agent, request as httpRequest } from 'node:http'

/**
 * Readers, each with the origin nearest to them among the demo origins and the data center
 * they enter (sent as `x-georoute-colo`: per-colo health keeps each city apart).
 * @type {readonly { city: string, geo: string, nearest: string, colo: string }[]}
 */
export const READERS = Object.freeze([
  { city: 'Paris', geo: '48.86,2.35', nearest: 'frankfurt', colo: 'CDG' },
  { city: 'Berlin', geo: '52.52,13.40', nearest: 'frankfurt', colo: 'TXL' },
  { city: 'New York', geo: '40.71,-74.01', nearest: 'virginia', colo: 'EWR' },
  { city: 'Chicago', geo: '41.88,-87.63', nearest: 'virginia', colo: 'ORD' },
  { city: 'Toronto', geo: '43.65,-79.38', nearest: 'virginia', colo: 'YYZ' },
  { city: 'Tokyo', geo: '35.68,139.69', nearest: 'tokyo', colo: 'NRT' },
  { city: 'Seoul', geo: '37.57,126.98', nearest: 'tokyo', colo: 'ICN' },
])

/** Cacheable blog pages (`public, max-age=60` at the origin). */
export const POSTS = Object.freeze(['/posts/drill-1', '/posts/drill-2', '/posts/drill-3'])

/**
 * One request of the stream and what came of it.
 * @typedef {object} Sent
 * @property {'read' | 'page' | 'write'} kind `read`: uncacheable GET (reaches an origin),
 *   `page`: cacheable GET, `write`: POST.
 * @property {number} seq Unique per drill; in the query (GET) or body (POST).
 * @property {string} path
 * @property {string} city
 * @property {string} nearest
 * @property {string} colo The data center the reader entered.
 * @property {number} sentAt ms since the epoch.
 * @property {number} [firstByteAt] When the response headers arrived.
 * @property {number} [doneAt]
 * @property {number} [status] Absent on a network error or timeout.
 * @property {string} [error]
 * @property {string | null} [origin] `x-georoute-origin`.
 * @property {string | null} [cache] `x-georoute-cache`.
 * @property {string | null} [retryAfter]
 * @property {string | null} [contentType]
 */

/**
 * Sends one request and resolves with the response's status and headers (body drained).
 * @param {Agent} agent
 * @param {URL} url
 * @param {{ method: string, headers: Record<string, string>, body?: string, timeoutMs: number }} init
 * @returns {Promise<{ status: number, headers: import('node:http').IncomingHttpHeaders,
 *   firstByteAt: number }>}
 */
function send(agent, url, { method, headers, body, timeoutMs }) {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers, agent, timeout: timeoutMs }, (res) => {
      const firstByteAt = Date.now()
      res.on('data', () => {})
      res.on('error', reject)
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, firstByteAt }),
      )
    })
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)))
    req.on('error', reject)
    req.end(body)
  })
}

/**
 * Starts the stream against `baseUrl`; stop() waits for every request in flight.
 * @param {{ baseUrl: string, getsPerSecond: number, postsPerSecond: number,
 *   timeoutMs?: number, maxInFlight?: number }} options
 */
export function startLoad({
  baseUrl,
  getsPerSecond,
  postsPerSecond,
  timeoutMs = 30_000,
  maxInFlight = 400,
}) {
  // A fresh connection per request: a reused idle connection that the server closes at the same
  // moment fails on the client's side (browsers retry those), which is no fault of georoute's.
  const agent = new Agent({ keepAlive: false, maxSockets: 256 })
  /** @type {Sent[]} */
  const sent = []
  /** @type {Set<Promise<void>>} */
  const inFlight = new Set()
  let seq = 0
  let turn = 0
  let skipped = 0

  /** @param {Sent['kind']} kind */
  function fire(kind) {
    if (inFlight.size >= maxInFlight) {
      skipped++
      return
    }
    const reader = /** @type {(typeof READERS)[number]} */ (READERS[turn++ % READERS.length])
    const id = ++seq
    const path =
      kind === 'write'
        ? '/comments'
        : kind === 'page'
          ? `${POSTS[id % POSTS.length]}`
          : `/echo/read?r=${id}`
    /** @type {Sent} */
    const entry = {
      kind,
      seq: id,
      path,
      city: reader.city,
      nearest: reader.nearest,
      colo: reader.colo,
      sentAt: Date.now(),
    }
    sent.push(entry)
    const headers = { 'x-georoute-geo': reader.geo, 'x-georoute-colo': reader.colo }
    const init =
      kind === 'write'
        ? {
            method: 'POST',
            headers: { ...headers, 'content-type': 'application/json' },
            body: JSON.stringify({ drillId: id, text: `comment ${id} from ${reader.city}` }),
            timeoutMs,
          }
        : { method: 'GET', headers, timeoutMs }
    const done = send(agent, new URL(path, baseUrl), init).then(
      ({ status, headers: h, firstByteAt }) => {
        Object.assign(entry, {
          firstByteAt,
          doneAt: Date.now(),
          status,
          origin: header(h['x-georoute-origin']),
          cache: header(h['x-georoute-cache']),
          retryAfter: header(h['retry-after']),
          contentType: header(h['content-type']),
        })
      },
      (error) => {
        Object.assign(entry, { doneAt: Date.now(), error: String(error?.message ?? error) })
      },
    )
    const tracked = done.finally(() => inFlight.delete(tracked))
    inFlight.add(tracked)
  }

  // Two reads for each cacheable page: most GETs must reach an origin to show routing.
  const kinds = /** @type {const} */ (['read', 'read', 'page'])
  let k = 0
  const gets = setInterval(() => fire(kinds[k++ % kinds.length] ?? 'read'), 1000 / getsPerSecond)
  const posts = setInterval(() => fire('write'), 1000 / postsPerSecond)

  return {
    sent,
    get skipped() {
      return skipped
    },
    /** Stops sending, waits for the answers still due, and closes the connections. */
    async stop() {
      clearInterval(gets)
      clearInterval(posts)
      await Promise.all([...inFlight])
      agent.destroy()
    },
  }
}

/** @param {string | string[] | undefined} value */
function header(value) {
  return Array.isArray(value) ? (value[0] ?? null) : (value ?? null)
}
