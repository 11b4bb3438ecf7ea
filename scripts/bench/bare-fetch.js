/**
 * The benchmark's reference: a Worker that only forwards the path to the origin. Whatever
 * georoute costs on top of this is georoute's own cost.
 */
export default {
  /** @param {Request} request @param {{ ORIGIN: string }} env */
  fetch(request, env) {
    const url = new URL(request.url)
    return fetch(env.ORIGIN + url.pathname + url.search)
  },
}
