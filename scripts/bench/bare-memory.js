/**
 * The like-for-like reference for georoute's memory tier: answers from a copy of the page held
 * in this isolate's memory (read from `caches.default`, or the origin, the first time), with no
 * freshness, limits, rules or trace headers. It shows what answering from memory costs at all.
 */

/** @type {Map<string, { body: ArrayBuffer, headers: [string, string][], status: number }>} */
const held = new Map()

export default {
  /** @param {Request} request @param {{ ORIGIN: string }} env @param {ExecutionContext} ctx */
  async fetch(request, env, ctx) {
    const copy = held.get(request.url)
    if (copy) return new Response(copy.body, { status: copy.status, headers: copy.headers })
    const cache = caches.default
    let response = await cache.match(request)
    if (!response) {
      const url = new URL(request.url)
      response = await fetch(env.ORIGIN + url.pathname + url.search)
      ctx.waitUntil(cache.put(request, response.clone()))
    }
    const body = await response.arrayBuffer()
    held.set(request.url, { body, headers: [...response.headers], status: response.status })
    return new Response(body, response)
  },
}
