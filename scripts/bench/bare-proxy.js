/**
 * The least a proxy that keeps DESIGN.md's rules does per request, with no routing, cache,
 * health or timeouts: the reader's headers less hop-by-hop and spoofable ones, X-Forwarded-*
 * and CDN-Loop set, hop-by-hop fields stripped from the answer, the origin named, one JSON log
 * line. It shows what those rules alone cost next to the bare Worker.
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

export default {
  /** @param {Request} request @param {{ ORIGIN: string }} env */
  async fetch(request, env) {
    const url = new URL(request.url)
    const headers = new Headers()
    for (const [name, value] of request.headers) {
      if (!NOT_FORWARDED.has(name)) headers.append(name, value)
    }
    const ip = request.headers.get('cf-connecting-ip')
    if (ip) headers.set('x-forwarded-for', ip)
    headers.set('x-forwarded-proto', url.protocol.slice(0, -1))
    headers.set('x-forwarded-host', url.host)
    headers.set('cdn-loop', 'georoute')
    const response = await fetch(env.ORIGIN + url.pathname + url.search, {
      headers,
      redirect: 'manual',
    })
    const out = new Headers(response.headers)
    for (const name of HOP_BY_HOP) out.delete(name)
    out.set('x-georoute-origin', 'origin')
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
