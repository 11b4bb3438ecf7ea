/**
 * A bare Worker with a cache lookup in front: `caches.default.match`, then the origin. On an
 * uncacheable page this is the least any caching proxy does on a miss.
 */
export default {
  /** @param {Request} request @param {{ ORIGIN: string }} env */
  async fetch(request, env) {
    const hit = await caches.default.match(request)
    if (hit) return hit
    const url = new URL(request.url)
    return fetch(env.ORIGIN + url.pathname + url.search)
  },
}
