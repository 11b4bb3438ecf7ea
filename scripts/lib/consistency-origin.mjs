/**
 * Origins for the consistency tests and drill faults (issue 15): each runs a build, switchable
 * one origin at a time as in a rolling deploy, and reads a shared in-process "database" whose
 * replicas apply the primary's writes after a lag the caller controls.
 *
 * Each build serves only its own content-hashed assets (`/assets/app.<build>.js`, 404 for any
 * other), and every answer states the origin's build (`x-build-id`) and database position
 * (`x-db-position`, an integer or a PostgreSQL LSN).
 *
 * Plain Node ESM with no dependencies, like origin-server.mjs.
 */
import { createServer } from 'node:http'

/**
 * The primary's writes, in order, with the time each was made. A replica with lag L has applied
 * every write made at least L ms ago.
 */
export function createDatabase() {
  /** @type {number[]} */
  const writtenAt = []
  return {
    /** Makes one write on the primary; returns its position (1, 2, ...). */
    write(now = Date.now()) {
      writtenAt.push(now)
      return writtenAt.length
    },
    /** The position a replica lagging `lagMs` has reached at `now`. */
    positionAt(lagMs = 0, now = Date.now()) {
      let count = writtenAt.length
      while (count > 0 && /** @type {number} */ (writtenAt[count - 1]) > now - lagMs) count -= 1
      return count
    },
  }
}

/** @typedef {ReturnType<typeof createDatabase>} Database */

/** Where the pg-lsn positions start: writes soon cross from `F/FFFFFFxx` to `10/…`. */
const LSN_BASE = (0xfn << 32n) | 0xfffffff0n
const LSN_STEP = 0x100n

/**
 * A position as the origin reports it: the integer, or an LSN of the form `16/B374D848`.
 * @param {number} position
 * @param {'integer' | 'pg-lsn'} kind
 */
export function positionText(position, kind) {
  if (kind === 'integer') return String(position)
  const lsn = LSN_BASE + BigInt(position) * LSN_STEP
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`
}

/**
 * The write position stated by `text`, the inverse of `positionText`; `undefined` if malformed.
 * @param {string | null | undefined} text
 * @param {'integer' | 'pg-lsn'} kind
 */
export function positionOf(text, kind) {
  if (!text) return undefined
  if (kind === 'integer') return /^\d+$/.test(text) ? Number(text) : undefined
  const match = /^([0-9A-F]+)\/([0-9A-F]+)$/i.exec(text)
  if (!match) return undefined
  const lsn = (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`)
  return Number((lsn - LSN_BASE) / LSN_STEP)
}

/**
 * @typedef {object} ConsistencyOriginOptions
 * @property {string} id
 * @property {string} build The build it runs at start.
 * @property {Database} db
 * @property {boolean} [primary] Takes the writes; reads its own position (no lag).
 * @property {number} [lagMs] A replica's lag behind the primary (default 0).
 * @property {'integer' | 'pg-lsn'} [positionKind] Default `integer`.
 * @property {number} [pageMaxAge] `max-age` of pages, 0 (default) = `no-store`.
 */

/**
 * @typedef {object} SeenRequest
 * @property {string} method
 * @property {string} url
 * @property {string | undefined} minPosition The `x-georoute-min-position` it carried.
 */

/**
 * Starts one origin on 127.0.0.1 (a free port).
 * @param {ConsistencyOriginOptions} options
 */
export async function startConsistencyOrigin(options) {
  const { id, db, primary = false, positionKind = 'integer', pageMaxAge = 0 } = options
  let build = options.build
  let lagMs = options.lagMs ?? 0
  /** @type {SeenRequest[]} */
  const requests = []
  const position = () => (primary ? db.positionAt(0) : db.positionAt(lagMs))

  const server = createServer((req, res) => {
    const url = req.url ?? '/'
    const min = req.headers['x-georoute-min-position']
    requests.push({
      method: req.method ?? 'GET',
      url,
      minPosition: typeof min === 'string' ? min : undefined,
    })
    req.resume()
    req.on('end', () => {
      const headers = { 'x-build-id': build, 'x-origin-id': id }
      if (req.method === 'POST' && url.startsWith('/comments')) {
        if (!primary) {
          res.writeHead(409, { ...headers, 'content-type': 'text/plain' }).end('not the primary\n')
          return
        }
        const written = db.write()
        res
          .writeHead(201, {
            ...headers,
            'x-db-position': positionText(written, positionKind),
            'content-type': 'text/plain',
          })
          .end(`saved ${written}\n`)
        return
      }
      const at = positionText(position(), positionKind)
      const base = { ...headers, 'x-db-position': at }
      const asset = /^\/assets\/app\.([^/]+)\.js$/.exec(url)
      if (asset) {
        if (asset[1] !== build) {
          res
            .writeHead(404, { ...base, 'content-type': 'text/plain', 'cache-control': 'no-store' })
            .end('no such asset\n')
          return
        }
        res
          .writeHead(200, {
            ...base,
            'content-type': 'text/javascript',
            'cache-control': 'public, max-age=31536000, immutable',
          })
          .end(`console.log(${JSON.stringify(build)})\n`)
        return
      }
      if (url.startsWith('/db')) {
        res
          .writeHead(200, {
            ...base,
            'content-type': 'application/json',
            'cache-control': 'no-store',
          })
          .end(JSON.stringify({ origin: id, position: at }))
        return
      }
      const cacheControl = pageMaxAge > 0 ? `public, max-age=${pageMaxAge}` : 'no-store'
      res
        .writeHead(200, {
          ...base,
          'content-type': 'text/html; charset=utf-8',
          'cache-control': cacheControl,
        })
        .end(
          `<!doctype html><title>build ${build}</title><p data-build="${build}">Served by ${id}</p><script src="/assets/app.${build}.js"></script>\n`,
        )
    })
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)))
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  return {
    id,
    url: `http://127.0.0.1:${port}`,
    requests,
    get build() {
      return build
    },
    /** Switches the build it serves from the next request on (one step of a rolling deploy). */
    setBuild(/** @type {string} */ next) {
      build = next
    },
    setLagMs(/** @type {number} */ ms) {
      lagMs = ms
    },
    close() {
      server.closeAllConnections()
      return new Promise((resolve) => server.close(() => resolve(undefined)))
    },
  }
}

/** @typedef {Awaited<ReturnType<typeof startConsistencyOrigin>>} ConsistencyOrigin */

/**
 * The build a page states (`data-build`), or `undefined`.
 * @param {string} html
 */
export function pageBuild(html) {
  return /data-build="([^"]+)"/.exec(html)?.[1]
}
