/**
 * The cache-hit reference plus what DESIGN.md asks of every hit: `Age`, the trace headers
 * (`x-georoute-cache`, `x-georoute-origin`, `server-timing`) and one JSON log line, with no
 * rules, key normalization or freshness of its own. It shows what those obligations alone cost
 * next to the bare cache Worker.
 */
export default {
  /** @param {Request} request @param {{ ORIGIN: string }} env @param {ExecutionContext} ctx */
  async fetch(request, env, ctx) {
    const url = new URL(request.url)
    const cache = caches.default
    const hit = await cache.match(url.href)
    if (!hit) {
      const response = await fetch(env.ORIGIN + url.pathname + url.search)
      ctx.waitUntil(cache.put(url.href, response.clone()))
      return response
    }
    const response = new Response(hit.body, hit)
    response.headers.set('age', '0')
    response.headers.set('x-georoute-cache', 'HIT')
    response.headers.set('x-georoute-origin', 'origin')
    response.headers.append('server-timing', 'cache;dur=0;desc="HIT", total;dur=0')
    console.log(
      JSON.stringify({
        message: 'request',
        method: request.method,
        path: url.pathname,
        status: response.status,
        origin: 'origin',
        cache: 'HIT',
      }),
    )
    return response
  },
}
