/**
 * A real HTTP origin on 127.0.0.1 for the demo, end-to-end tests, benchmarks and fault drills.
 *
 * Plain Node ESM with no dependencies, so every script (and the vitest e2e suite) can start one.
 * Each origin serves a tiny blog plus a few test routes, logs every request it receives, and can
 * be told to misbehave (`setMode`) the way real origins do: reset connections, hang, answer 503,
 * or answer slowly.
 */
import { createHash } from 'node:crypto'
import { createServer } from 'node:http'

/** @typedef {import('node:http').IncomingMessage} IncomingMessage */
/** @typedef {import('node:http').ServerResponse} ServerResponse */

/**
 * How an origin answers: `ok` normally, `reset` destroys the connection on arrival, `hang` never
 * answers, `error503` answers 503, `slow` answers normally after `setSlowMs` milliseconds.
 * @typedef {'ok' | 'reset' | 'hang' | 'error503' | 'slow'} Mode
 */

/**
 * @typedef {object} OriginOptions
 * @property {string} id Origin id, sent back in `x-origin-id`.
 * @property {string} [region] Place named on the blog page ("Served from Frankfurt").
 * @property {number} [port] 0 (default) lets the OS pick a free port.
 * @property {string} [host] Defaults to 127.0.0.1.
 * @property {number} [pageBytes] Pads blog pages to about this many bytes (benchmarks).
 */

/**
 * @typedef {object} LoggedRequest
 * @property {string} method
 * @property {string} url Path and query, as received.
 * @property {Record<string, string | string[] | undefined>} headers Lowercase names.
 * @property {string} body
 * @property {number} at Arrival time, `Date.now()`.
 */

/**
 * Where an origin is, for the `ORIGINS` list (DEMO_ORIGINS, or a test's own).
 * @typedef {object} DemoOrigin
 * @property {string} id
 * @property {string} [region]
 * @property {string} [label]
 * @property {number} lat
 * @property {number} lon
 * @property {boolean} [primary]
 * @property {number} [weight]
 */

/** @typedef {Awaited<ReturnType<typeof startOrigin>>} OriginServer */

/** The modes `setMode` accepts. @type {readonly Mode[]} */
export const MODES = Object.freeze(['ok', 'reset', 'hang', 'error503', 'slow'])

/**
 * The three origins of the local demo; the coordinates are their cloud regions' cities.
 * @type {readonly DemoOrigin[]}
 */
export const DEMO_ORIGINS = Object.freeze([
  Object.freeze({
    id: 'frankfurt',
    region: 'Frankfurt',
    label: 'Frankfurt (eu-central)',
    lat: 50.11,
    lon: 8.68,
    primary: true,
  }),
  Object.freeze({
    id: 'virginia',
    region: 'Virginia',
    label: 'Virginia (us-east)',
    lat: 38.95,
    lon: -77.45,
  }),
  Object.freeze({
    id: 'tokyo',
    region: 'Tokyo',
    label: 'Tokyo (ap-northeast)',
    lat: 35.68,
    lon: 139.69,
  }),
])

const DEFAULT_SLOW_MS = 2000
const MAX_SLOW_MS = 30_000
const TITLE = 'georoute demo blog'

/**
 * Starts one origin and resolves once it listens.
 * @param {OriginOptions} options
 * @returns {Promise<import('./origin-server.mjs').OriginServer>} checked against origin-server.d.mts
 */
export async function startOrigin({ id, region = id, port = 0, host = '127.0.0.1', pageBytes }) {
  if (typeof id !== 'string' || id === '') {
    throw new TypeError('startOrigin: id is required')
  }
  /** @type {LoggedRequest[]} */
  const requests = []
  /** @type {Set<import('node:net').Socket>} */
  const sockets = new Set()
  // Connections held by 'hang', and timers of 'slow' answers: released on close() or setMode.
  /** @type {Set<import('node:net').Socket>} */
  const held = new Set()
  /** @type {Set<NodeJS.Timeout>} */
  const timers = new Set()
  /** @type {Mode} */
  let mode = 'ok'
  let slowMs = DEFAULT_SLOW_MS
  let jitterMs = 0
  /** Colos (`x-georoute-colo`, which georoute passes on) whose requests are reset. */
  let cutColos = new Set()
  let served = 0
  let baseUrl = ''

  const server = createServer((req, res) => {
    /** @type {LoggedRequest} */
    const entry = {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      headers: { ...req.headers },
      body: '',
      at: Date.now(),
    }
    // Logged on arrival, so a request that is reset or left hanging still counts.
    requests.push(entry)
    if (mode === 'reset' || cutColos.has(req.headers['x-georoute-colo'])) {
      req.socket.destroy()
      return
    }
    /** @type {Buffer[]} */
    const chunks = []
    req.on('data', (chunk) => chunks.push(chunk))
    req.on('error', () => {})
    req.on('end', () => {
      entry.body = Buffer.concat(chunks).toString('utf8')
      if (req.socket.destroyed) return
      if (mode === 'reset') req.socket.destroy()
      else if (mode === 'hang') hold(req)
      else if (mode === 'error503') unavailable(res)
      else if (mode === 'slow') {
        later(res, slowMs + Math.random() * jitterMs, () => route(req, res, entry))
      } else route(req, res, entry)
    })
  })
  // No idle timeout (as Miniflare's own loopback server, workers-sdk#14848): workerd pools its
  // connections, and Node's 5 s default can close an idle one just as workerd sends the next
  // request on it, which then fails with "Network connection lost". Real origins behind a CDN
  // keep idle connections for longer than the proxy does; close() still destroys every one.
  server.keepAliveTimeout = 0
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  // A reset or hung client must not crash the process.
  server.on('clientError', (_error, socket) => socket.destroy())

  /** @param {IncomingMessage} req */
  function hold(req) {
    const socket = req.socket
    held.add(socket)
    socket.on('close', () => held.delete(socket))
  }

  // A delayed answer whose timer goes away with the connection, so an aborted request leaks nothing.
  /**
   * @param {ServerResponse} res
   * @param {number} ms
   * @param {() => void} answer
   */
  function later(res, ms, answer) {
    const timer = setTimeout(() => {
      timers.delete(timer)
      answer()
    }, ms)
    timers.add(timer)
    res.on('close', () => {
      clearTimeout(timer)
      timers.delete(timer)
    })
  }

  /**
   * @param {ServerResponse} res
   * @param {number} status
   * @param {string | undefined} type
   * @param {string | undefined} body
   * @param {Record<string, string>} [extra]
   */
  function send(res, status, type, body, extra = {}) {
    served += 1
    const headers = {
      'x-origin-id': id,
      'x-origin-seq': String(served),
      ...(type ? { 'content-type': type } : {}),
      ...extra,
    }
    if (status === 204 || status === 304 || body === undefined) {
      res.writeHead(status, headers)
      res.end()
      return
    }
    const bytes = Buffer.from(body, 'utf8')
    res.writeHead(status, { ...headers, 'content-length': String(bytes.length) })
    res.end(bytes)
  }

  /**
   * @param {ServerResponse} res
   * @param {number} status
   * @param {unknown} value
   */
  function json(res, status, value) {
    send(res, status, 'application/json; charset=utf-8', `${JSON.stringify(value)}\n`, {
      'cache-control': 'no-store',
    })
  }

  /** @param {ServerResponse} res */
  function unavailable(res) {
    send(res, 503, 'text/plain; charset=utf-8', `origin ${id} is unavailable (error503 mode)\n`, {
      'cache-control': 'no-store',
    })
  }

  /**
   * @param {IncomingMessage} req
   * @param {ServerResponse} res
   * @param {string} path
   * @param {string} cacheControl
   */
  function page(req, res, path, cacheControl) {
    const body = renderPage({ id, region, path, pageBytes })
    const etag = `"${createHash('sha1').update(body).digest('base64url').slice(0, 16)}"`
    const extra = { 'cache-control': cacheControl, etag }
    if (req.headers['if-none-match'] === etag) send(res, 304, undefined, undefined, extra)
    else send(res, 200, 'text/html; charset=utf-8', body, extra)
  }

  /**
   * The routes of a healthy origin.
   * @param {IncomingMessage} req
   * @param {ServerResponse} res
   * @param {LoggedRequest} entry
   */
  function route(req, res, entry) {
    const method = entry.method
    const { pathname } = new URL(entry.url, 'http://origin.invalid')
    const read = method === 'GET' || method === 'HEAD'

    if (pathname === '/echo' || pathname.startsWith('/echo/')) {
      const { method: m, url, headers, body } = entry
      return json(res, 200, { origin: id, method: m, url, headers, body })
    }
    if (pathname === '/comments' && method === 'POST') {
      return json(res, 201, { origin: id, stored: true })
    }
    const status = /^\/status\/(\d{3})$/.exec(pathname)
    if (status) {
      const code = Number(status[1])
      if (code < 200 || code > 599) {
        return send(res, 400, 'text/plain; charset=utf-8', 'status must be 200-599\n')
      }
      return send(res, code, 'text/plain; charset=utf-8', `status ${code} from ${id}\n`, {
        'cache-control': 'no-store',
      })
    }
    const slow = /^\/slow\/(\d{1,9})$/.exec(pathname)
    if (slow) {
      const ms = Math.min(Number(slow[1]), MAX_SLOW_MS)
      return later(res, ms, () =>
        send(res, 200, 'text/plain; charset=utf-8', `slow ${ms} ms from ${id}\n`, {
          'cache-control': 'no-store',
        }),
      )
    }
    if (read && pathname === '/healthz') {
      return send(res, 200, 'text/plain; charset=utf-8', 'ok', { 'cache-control': 'no-store' })
    }
    if (read && pathname === '/') return page(req, res, pathname, 'no-cache')
    if (read && (pathname.startsWith('/posts/') || pathname === '/landing')) {
      return page(req, res, pathname, 'public, max-age=60')
    }
    if (read && pathname === '/redirect-self') {
      return send(res, 302, 'text/plain; charset=utf-8', 'moved\n', {
        location: `${baseUrl}/landing`,
      })
    }
    if (read && pathname === '/redirect-away') {
      return send(res, 302, 'text/plain; charset=utf-8', 'moved\n', {
        location: 'https://example.org/elsewhere',
      })
    }
    return send(res, 404, 'text/html; charset=utf-8', renderNotFound(id, pathname), {
      'cache-control': 'no-store',
    })
  }

  function release() {
    for (const socket of held) socket.destroy()
    held.clear()
  }

  await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve(undefined)
    })
  })
  const address = server.address()
  const boundPort = typeof address === 'object' && address ? address.port : port
  baseUrl = `http://${host.includes(':') ? `[${host}]` : host}:${boundPort}`

  return {
    id,
    region,
    url: baseUrl,
    port: boundPort,
    requests,
    /**
     * Switches behaviour for the requests that arrive from now on; connections held by 'hang'
     * are dropped when the mode changes.
     * @param {Mode} next
     */
    setMode(next) {
      if (!MODES.includes(next)) {
        throw new TypeError(`setMode: unknown mode ${JSON.stringify(next)} (${MODES.join(', ')})`)
      }
      if (next !== mode) release()
      mode = next
    },
    get mode() {
      return mode
    },
    /**
     * Delay of the 'slow' mode (default 2000, at most 30000).
     * @param {number} ms
     */
    setSlowMs(ms) {
      if (!Number.isFinite(ms) || ms < 0) throw new TypeError('setSlowMs: ms must be >= 0')
      slowMs = Math.min(ms, MAX_SLOW_MS)
    },
    /**
     * Random extra delay of the 'slow' mode, 0 to `ms` per answer (default 0).
     * @param {number} ms
     */
    setJitterMs(ms) {
      if (!Number.isFinite(ms) || ms < 0) throw new TypeError('setJitterMs: ms must be >= 0')
      jitterMs = Math.min(ms, MAX_SLOW_MS)
    },
    /**
     * Resets the connection of every request that entered one of `colos` (the `x-georoute-colo`
     * header georoute passes on): a data center that cannot reach this origin while others can.
     * @param {readonly string[]} colos
     */
    cutColos(colos) {
      cutColos = new Set(colos)
    },
    clearLog() {
      requests.length = 0
    },
    /** Requests received per `METHOD /path` (query string left out). */
    counts() {
      /** @type {Record<string, number>} */
      const out = {}
      for (const { method, url } of requests) {
        const key = `${method} ${new URL(url, 'http://origin.invalid').pathname}`
        out[key] = (out[key] ?? 0) + 1
      }
      return out
    },
    /**
     * Stops listening, drops every open connection and pending answer.
     * @returns {Promise<void>}
     */
    close() {
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
      release()
      return new Promise((resolve) => {
        server.close(() => resolve())
        for (const socket of sockets) socket.destroy()
        server.closeAllConnections?.()
      })
    },
  }
}

/**
 * Starts several origins in parallel; if one fails, the others are closed and the error rethrown.
 * @param {readonly OriginOptions[]} specs
 * @returns {Promise<OriginServer[]>}
 */
export async function startOrigins(specs) {
  const results = await Promise.allSettled(specs.map((spec) => startOrigin(spec)))
  /** @type {OriginServer[]} */
  const started = []
  for (const r of results) if (r.status === 'fulfilled') started.push(r.value)
  const failed = results.find((r) => r.status === 'rejected')
  if (failed) {
    await Promise.all(started.map((origin) => origin.close()))
    throw failed.reason
  }
  return started
}

/**
 * The origin list for the `ORIGINS` variable: each running server with its spec's place.
 * Servers and specs are matched by id.
 * @param {readonly { id: string, url: string }[]} servers
 * @param {readonly DemoOrigin[]} specs
 */
export function originsList(servers, specs) {
  return servers.map((server, i) => {
    const spec = specs.find((s) => s.id === server.id) ?? specs[i]
    if (!spec) throw new TypeError(`originsList: no spec for origin ${server.id}`)
    return {
      id: server.id,
      url: server.url,
      lat: spec.lat,
      lon: spec.lon,
      label: spec.label ?? spec.region ?? server.id,
      ...(spec.primary ? { primary: true } : {}),
      ...(spec.weight !== undefined ? { weight: spec.weight } : {}),
      probe: { path: '/healthz' },
    }
  })
}

/**
 * `originsList` as the JSON string the `ORIGINS` variable takes.
 * @param {readonly { id: string, url: string }[]} servers
 * @param {readonly DemoOrigin[]} specs
 */
export function originsJson(servers, specs) {
  return JSON.stringify(originsList(servers, specs))
}

/** @type {Record<string, string>} */
const HTML_ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

/** @param {string} text */
function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c)
}

/** @param {{ id: string, region: string, path: string, pageBytes: number | undefined }} page */
function renderPage({ id, region, path, pageBytes }) {
  const where = escapeHtml(region)
  const origin = escapeHtml(id)
  const head = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${TITLE}</title>
</head>
<body>
<header><h1>${TITLE}</h1><p>Served from ${where} (origin <code>${origin}</code>)</p></header>
<main>
<p>You asked for <code>${escapeHtml(path)}</code>.</p>
<ul>
<li><a href="/posts/hello-world">Hello, world</a></li>
<li><a href="/posts/nearest-origin">Why the nearest origin answers</a></li>
</ul>
`
  const tail = `</main>
<footer><p>origin ${origin}</p></footer>
</body>
</html>
`
  return head + padding(pageBytes ? pageBytes - head.length - tail.length : 0) + tail
}

const FILLER =
  '<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor ' +
  'incididunt ut labore et dolore magna aliqua.</p>\n'

/** @param {number} bytes */
function padding(bytes) {
  if (bytes <= 0) return ''
  return FILLER.repeat(Math.max(1, Math.round(bytes / FILLER.length)))
}

/**
 * @param {string} id
 * @param {string} path
 */
function renderNotFound(id, path) {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Not found - ${TITLE}</title></head>
<body><h1>Not found</h1><p>No page at <code>${escapeHtml(path)}</code> on origin <code>${escapeHtml(id)}</code>.</p></body>
</html>
`
}
