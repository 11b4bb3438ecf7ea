/**
 * The least a proxy that keeps DESIGN.md's rules does per request, with no routing, cache,
 * health or timeouts: a request carrying our `CDN-Loop` token refused; the reader's headers less
 * hop-by-hop ones (and those named in `Connection`) and spoofable ones, X-Forwarded-* and
 * CDN-Loop set; hop-by-hop fields stripped from the answer; a redirect to the origin's own host
 * pointed at the public host; the origin, the cache status and `Server-Timing` named; one JSON
 * log line. It shows what those rules alone cost next to the bare Worker.
 */
// Deliberately a copy of worker/proxy/headers.ts's lists: a reference must not run georoute's code.
const HOP_BY_HOP = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]
const NOT_FORWARDED = new Set([
  ...HOP_BY_HOP,
  'host',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'forwarded',
  'x-real-ip',
])

/** Names listed in a `Connection` field (RFC 9110 §7.6.1), lower-cased. */
function connectionNames(value) {
  return value ? value.split(',').map((name) => name.trim().toLowerCase()) : []
}

export default {
  /** @param {Request} request @param {{ ORIGIN: string }} env */
  async fetch(request, env) {
    const started = Date.now()
    const url = new URL(request.url)
    const loop = request.headers.get('cdn-loop')
    if (loop?.split(',').some((entry) => entry.trim().split(';')[0]?.trim() === 'georoute')) {
      return new Response('loop', { status: 508 })
    }
    const named = connectionNames(request.headers.get('connection'))
    const headers = new Headers()
    for (const [name, value] of request.headers) {
      if (!NOT_FORWARDED.has(name) && !named.includes(name)) headers.append(name, value)
    }
    const ip = request.headers.get('cf-connecting-ip')
    if (ip) headers.set('x-forwarded-for', ip)
    headers.set('x-forwarded-proto', url.protocol.slice(0, -1))
    headers.set('x-forwarded-host', url.host)
    headers.set('cdn-loop', 'georoute')
    const originUrl = env.ORIGIN + url.pathname + url.search
    const response = await fetch(originUrl, { headers, redirect: 'manual' })
    const out = new Headers(response.headers)
    for (const name of connectionNames(out.get('connection'))) out.delete(name)
    for (const name of HOP_BY_HOP) out.delete(name)
    const location = out.get('location')
    if (location?.startsWith(env.ORIGIN)) {
      out.set('location', url.origin + location.slice(env.ORIGIN.length))
    }
    const totalMs = Date.now() - started
    out.set('x-georoute-origin', 'origin')
    out.set('x-georoute-cache', 'MISS')
    out.append('server-timing', `origin;dur=${totalMs};desc="origin", total;dur=${totalMs}`)
    console.log(
      JSON.stringify({
        message: 'request',
        method: request.method,
        path: url.pathname,
        status: response.status,
        origin: 'origin',
      }),
    )
    return new Response(response.body, { status: response.status, headers: out })
  },
}
