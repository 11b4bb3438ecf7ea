/**
 * The benchmark's origin: a lean static HTTP server on 127.0.0.1 that answers every request with
 * one pre-rendered ~20 KB blog page, so the origin costs as little as possible and every proxy
 * under test is measured against the same, cheap upstream.
 *
 * `/posts/*` is cacheable (`public, max-age=3600`, with an ETag); every other path is `no-store`,
 * which gives the cache-miss path. Run it as its own process (`node bench-origin.mjs [port]`,
 * prints `{"port":N}` once listening) so its CPU time is not the benchmark driver's.
 */
import { createHash } from 'node:crypto'
import { createServer } from 'node:http'
import { fileURLToPath } from 'node:url'

/** Size of the page body, in bytes (about that of a rendered blog post). */
export const PAGE_BYTES = 20 * 1024

const FILLER =
  '<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor ' +
  'incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud.</p>\n'

/** The page every path returns, padded to about `bytes`. */
export function benchPage(bytes = PAGE_BYTES) {
  const head =
    '<!doctype html>\n<html lang="en">\n<head><meta charset="utf-8"><title>georoute bench</title>' +
    '</head>\n<body>\n<header><h1>A blog post</h1></header>\n<main>\n'
  const tail = '</main>\n<footer><p>bench origin</p></footer>\n</body>\n</html>\n'
  const fill = Math.max(0, bytes - head.length - tail.length)
  const body = head + FILLER.repeat(Math.floor(fill / FILLER.length)) + tail
  return Buffer.from(body.padEnd(bytes - 1, ' ').concat('\n'), 'utf8')
}

/**
 * Starts the bench origin; resolves with its URL once listening.
 * @param {{ port?: number, host?: string, bytes?: number }} [options]
 */
export async function startBenchOrigin({ port = 0, host = '127.0.0.1', bytes } = {}) {
  const body = benchPage(bytes)
  const etag = `"${createHash('sha1').update(body).digest('base64url').slice(0, 16)}"`
  const common = {
    'content-type': 'text/html; charset=utf-8',
    'content-length': String(body.length),
    etag,
  }
  const cacheable = { ...common, 'cache-control': 'public, max-age=3600' }
  const uncacheable = { ...common, 'cache-control': 'no-store' }
  const server = createServer((req, res) => {
    const url = req.url ?? '/'
    const headers = url.startsWith('/posts/') ? cacheable : uncacheable
    if (req.headers['if-none-match'] === etag) {
      const { 'content-length': _length, ...rest } = headers
      res.writeHead(304, rest)
      res.end()
      return
    }
    res.writeHead(200, headers)
    res.end(req.method === 'HEAD' ? undefined : body)
  })
  // Load generators keep connections open for the whole round.
  server.keepAliveTimeout = 60_000
  server.on('clientError', (_error, socket) => socket.destroy())
  await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => resolve(undefined))
  })
  const address = server.address()
  const bound = typeof address === 'object' && address ? address.port : port
  return {
    url: `http://${host}:${bound}`,
    port: bound,
    /** @returns {Promise<void>} */
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const origin = await startBenchOrigin({ port: Number(process.argv[2] ?? 0) })
  process.stdout.write(`${JSON.stringify({ port: origin.port, url: origin.url })}\n`)
  process.on('SIGTERM', () => origin.close().then(() => process.exit(0)))
}
