/**
 * The drill's three origins (scripts/lib/origin-server.mjs), with what a drill needs on top:
 * kill an origin (its port then refuses connections) and bring it back on the same port, while
 * keeping every request log of every incarnation.
 */
import { DEMO_ORIGINS, originsList, startOrigin } from './origin-server.mjs'

/** @typedef {import('./origin-server.mjs').OriginServer} OriginServer */
/** @typedef {import('./origin-server.mjs').Mode} Mode */
/** @typedef {import('./origin-server.mjs').LoggedRequest} LoggedRequest */

/** Starts the demo origins (Frankfurt is the primary). */
export async function startFleet() {
  /** @type {Map<string, OriginServer>} */
  const live = new Map()
  /** @type {Map<string, OriginServer[]>} */
  const incarnations = new Map()
  /** @type {Map<string, number>} */
  const ports = new Map()
  const specs = DEMO_ORIGINS

  /** @param {(typeof DEMO_ORIGINS)[number]} spec */
  async function start(spec) {
    const server = await startOrigin({
      id: spec.id,
      region: spec.region,
      port: ports.get(spec.id) ?? 0,
    })
    ports.set(spec.id, server.port)
    live.set(spec.id, server)
    incarnations.set(spec.id, [...(incarnations.get(spec.id) ?? []), server])
    return server
  }

  const first = await Promise.all(specs.map(start))
  const specOf = (/** @type {string} */ id) => {
    const spec = specs.find((s) => s.id === id)
    if (!spec) throw new Error(`no origin ${id}`)
    return spec
  }

  return {
    ids: specs.map((s) => s.id),
    primary: specs.find((s) => s.primary)?.id ?? 'frankfurt',
    /** The `ORIGINS` list georoute is given. */
    origins: originsList(first, specs),
    /**
     * @param {string} id
     * @param {Mode} mode
     */
    setMode(id, mode) {
      live.get(id)?.setMode(mode)
    },
    /**
     * The delay of the 'slow' mode.
     * @param {string} id
     * @param {number} ms
     */
    setSlowMs(id, ms) {
      live.get(id)?.setSlowMs(ms)
    },
    /**
     * Resets the requests that readers entering `colos` send this origin (`[]`: none).
     * @param {string} id
     * @param {readonly string[]} colos
     */
    cutColos(id, colos) {
      live.get(id)?.cutColos(colos)
    },
    /**
     * Stops an origin: its port refuses connections until `revive`.
     * @param {string} id
     */
    async kill(id) {
      const server = live.get(id)
      live.delete(id)
      await server?.close()
    },
    /** @param {string} id */
    async revive(id) {
      if (!live.has(id)) await start(specOf(id))
    },
    /** @param {string} id */
    isUp: (id) => live.has(id),
    /**
     * Every request an origin received, across its incarnations.
     * @param {string} id
     * @returns {LoggedRequest[]}
     */
    received(id) {
      return (incarnations.get(id) ?? []).flatMap((s) => s.requests)
    },
    async close() {
      await Promise.all([...live.values()].map((s) => s.close()))
      live.clear()
    },
  }
}

/** @typedef {Awaited<ReturnType<typeof startFleet>>} Fleet */
