/**
 * The cache-hit reference: `caches.default.match`, and on a miss the origin's answer stored as
 * it came. georoute's cache-hit path is compared with this one under the same runner.
 */
export default {
  /** @param {Request} request @param {{ ORIGIN: string }} env @param {ExecutionContext} ctx */
  async fetch(request, env, ctx) {
    const cache = caches.default
    const hit = await cache.match(request)
    if (hit) return hit
    const url = new URL(request.url)
    const response = await fetch(env.ORIGIN + url.pathname + url.search)
    ctx.waitUntil(cache.put(request, response.clone()))
    return response
  },
}
