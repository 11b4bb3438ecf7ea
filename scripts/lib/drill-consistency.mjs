/**
 * The drill's consistency faults (issue 15), each on its own origins (consistency-origin.mjs)
 * and its own Worker, after the main faults:
 *
 *  - rolling deploy: the origins switch builds one by one while readers load pages and their
 *    content-hashed assets; one origin is late, and the deploy pipeline's expected-build call
 *    demotes it until it catches up.
 *  - replica lag: a replica applies the primary's writes seconds late while readers write and
 *    read at once; reads by replication position against the time window.
 */
import { startWorker } from './bench-targets.mjs'
import {
  createDatabase,
  pageBuild,
  positionOf,
  startConsistencyOrigin,
} from './consistency-origin.mjs'

const sleep = (/** @type {number} */ ms) => new Promise((resolve) => setTimeout(resolve, ms))
const ADMIN_TOKEN = 'drill-admin-token'
const PLACES = [
  { id: 'frankfurt', lat: 50.11, lon: 8.68, primary: true, near: '48.86,2.35' },
  { id: 'virginia', lat: 38.95, lon: -77.45, near: '40.71,-74.01' },
  { id: 'tokyo', lat: 35.68, lon: 139.69, near: '35.68,139.69' },
]

/** A reader's cookies between requests. */
class Jar {
  /** @type {Map<string, string>} */
  cookies = new Map()
  /** @returns {Record<string, string>} */
  header() {
    const value = [...this.cookies].map(([name, v]) => `${name}=${v}`).join('; ')
    return value ? { cookie: value } : {}
  }
  /** @param {Response} response */
  take(response) {
    for (const line of response.headers.getSetCookie()) {
      const [pair = '', ...attributes] = line.split(';')
      const eq = pair.indexOf('=')
      const name = pair.slice(0, eq).trim()
      if (attributes.some((a) => a.trim() === 'Max-Age=0')) this.cookies.delete(name)
      else this.cookies.set(name, pair.slice(eq + 1).trim())
    }
  }
}

/**
 * @param {string} base
 * @param {string} path
 * @param {string} geo
 * @param {Jar} [jar]
 * @param {RequestInit} [init]
 */
async function ask(base, path, geo, jar, init = {}) {
  const response = await fetch(`${base}${path}`, {
    ...init,
    headers: { 'x-georoute-geo': geo, ...(jar?.header() ?? {}), ...init.headers },
  })
  const body = await response.text()
  jar?.take(response)
  return { status: response.status, body, origin: response.headers.get('x-georoute-origin') }
}

/**
 * @param {{ script: string, short: boolean, settings: Record<string, unknown> }} options
 * @param {(worker: { url: string }, origins: Awaited<ReturnType<typeof startConsistencyOrigin>>[], db: ReturnType<typeof createDatabase>) => Promise<T>} body
 * @param {{ lagMs?: Record<string, number>, positionKind?: 'integer' | 'pg-lsn', pageMaxAge?: number }} [originOptions]
 * @template T
 */
async function withFleet({ script, settings }, body, originOptions = {}) {
  const db = createDatabase()
  const origins = await Promise.all(
    PLACES.map((p) =>
      startConsistencyOrigin({
        id: p.id,
        build: 'a',
        db,
        primary: p.primary === true,
        lagMs: originOptions.lagMs?.[p.id] ?? 0,
        positionKind: originOptions.positionKind ?? 'integer',
        pageMaxAge: originOptions.pageMaxAge ?? 0,
      }),
    ),
  )
  const list = PLACES.map(({ near: _, ...p }, i) => ({ ...p, url: origins[i]?.url }))
  let worker
  try {
    worker = await startWorker({
      name: 'georoute',
      scriptPath: script,
      kv: true,
      bindings: {
        GEO_OVERRIDE: 'true',
        ADMIN_TOKEN,
        COOKIE_SECRET: 'drill-cookie-secret',
        ORIGINS: JSON.stringify(list),
        SETTINGS: JSON.stringify(settings),
      },
    })
    return await body(worker, origins, db)
  } finally {
    await worker?.close()
    await Promise.all(origins.map((o) => o.close()))
  }
}

/**
 * @typedef {object} RollingDeployResult
 * @property {number} seconds
 * @property {number} pages Page GETs.
 * @property {number} assets Asset GETs (the asset each page names).
 * @property {number} asset404s Asset GETs answered 404 (goal 0).
 * @property {number} otherFailures Pages or assets answered another error status.
 * @property {number} wentBack Page GETs that showed a reader an older build than one they had seen.
 * @property {boolean} skewShown The status JSON showed the skew during the deploy.
 * @property {boolean} skewEnded The status JSON showed none once every origin had switched.
 * @property {number} lateServedWhileExpected Page GETs asked near the late origin that it served while demoted.
 * @property {number} lateReaderPagesWhileExpected Page GETs asked near it while it was demoted.
 * @property {number} lateServedAfter Page GETs asked near it that it served once caught up.
 */

/**
 * The rolling deploy: readers near each origin load a page and its asset in a loop; Tokyo, then
 * Frankfurt switch to build b; the pipeline posts the expected build while Virginia is late;
 * Virginia switches; the expected build is cleared. With `protect: false`, the same against a
 * Worker without `settings.health.build`: what readers get without skew protection.
 * @param {{ script: string, short: boolean, protect?: boolean }} options
 * @returns {Promise<RollingDeployResult>}
 */
export async function runRollingDeploy({ script, short, protect = true }) {
  const stepMs = short ? 500 : 3_000
  const health = { minWriteIntervalMs: 0, maxRounds: 1 }
  const settings = {
    health: protect ? { ...health, build: 'x-build-id' } : health,
    routing: { hedge: false },
  }
  return withFleet(
    { script, short, settings },
    async (worker, origins) => {
      const base = worker.url
      const byId = (/** @type {string} */ id) => origins.find((o) => o.id === id)
      const admin = { authorization: `Bearer ${ADMIN_TOKEN}` }
      const probe = () =>
        ask(base, '/__georoute/probe', '0,0', undefined, { method: 'POST', headers: admin })
      const skewNow = async () => {
        const status = await ask(base, '/__georoute/status', '0,0')
        return JSON.parse(status.body).builds?.skew !== null
      }
      const started = Date.now()
      await probe()
      const result = {
        seconds: 0,
        pages: 0,
        assets: 0,
        asset404s: 0,
        otherFailures: 0,
        wentBack: 0,
        skewShown: false,
        skewEnded: false,
        lateServedWhileExpected: 0,
        lateReaderPagesWhileExpected: 0,
        lateServedAfter: 0,
      }
      /** @type {'before' | 'expected' | 'after'} */
      let stage = 'before'
      let stop = false
      let n = 0
      // Two readers near each origin. Their requests reach two edges in turn (a phone between
      // networks, a reader on the move): page and asset are asked near different origins, as
      // happens whenever a reader's requests are not all served by one origin. A build a reader
      // has seen should never go back.
      const late = PLACES.find((p) => p.id === 'virginia')
      const readers = PLACES.flatMap((p, i) =>
        [0, 1].map(() => ({
          places: [p, PLACES[(i + 1) % PLACES.length] ?? p],
          jar: new Jar(),
          newest: 'a',
          turn: 0,
        })),
      )
      const loops = readers.map(async (reader) => {
        while (!stop) {
          n += 1
          reader.turn += 1
          const here = reader.places[reader.turn % 2] ?? PLACES[0]
          const there = reader.places[(reader.turn + 1) % 2] ?? PLACES[0]
          if (!here || !there) return
          const page = await ask(base, `/posts/${here.id}-${n}`, here.near, reader.jar)
          result.pages += 1
          if (page.status !== 200) result.otherFailures += 1
          const build = pageBuild(page.body)
          if (build && build < reader.newest) result.wentBack += 1
          if (build && build > reader.newest) reader.newest = build
          if (here === late && stage === 'expected') {
            result.lateReaderPagesWhileExpected += 1
            if (page.origin === 'virginia') result.lateServedWhileExpected += 1
          }
          if (here === late && stage === 'after' && page.origin === 'virginia') {
            result.lateServedAfter += 1
          }
          const asset = /src="([^"]+)"/.exec(page.body)?.[1]
          if (!asset) continue
          const answer = await ask(base, asset, there.near, reader.jar)
          result.assets += 1
          if (answer.status === 404) result.asset404s += 1
          else if (answer.status !== 200) result.otherFailures += 1
        }
      })
      await sleep(stepMs)
      byId('tokyo')?.setBuild('b')
      await sleep(stepMs)
      result.skewShown = await skewNow()
      byId('frankfurt')?.setBuild('b')
      await sleep(stepMs)
      // The pipeline: every origin should be on b now, but Virginia is late.
      await ask(base, '/__georoute/build', '0,0', undefined, {
        method: 'POST',
        headers: { ...admin, 'content-type': 'application/json' },
        body: JSON.stringify({ expect: 'b' }),
      })
      await probe()
      stage = 'expected'
      await sleep(stepMs)
      byId('virginia')?.setBuild('b')
      await probe()
      stage = 'after'
      await sleep(stepMs)
      stop = true
      await Promise.all(loops)
      result.skewEnded = !(await skewNow())
      await ask(base, '/__georoute/build', '0,0', undefined, { method: 'DELETE', headers: admin })
      result.seconds = (Date.now() - started) / 1000
      return result
    },
    { pageMaxAge: 0 },
  )
}

/**
 * @typedef {object} ReplicaLagSide
 * @property {number} writes Writes the Worker took (the same load goes to both).
 * @property {number} pinnedReads Reads by readers within their pin after a write.
 * @property {number} stale Of those, reads older than the reader's write (goal 0).
 * @property {number} byPrimary Of those, reads the primary served.
 */

/**
 * @typedef {object} ReplicaLagResult
 * @property {number} lagMs How far Tokyo's and Virginia's replicas lag the primary.
 * @property {number} seconds
 * @property {number} writes Writes each Worker took.
 * @property {ReplicaLagSide} position Reads by replication position (`writes.position`).
 * @property {ReplicaLagSide} window The same load with the time window (`pinSeconds`) only.
 */

/**
 * Replica lag: writers in Tokyo and Virginia write every `writeEveryMs` and read every 200 ms
 * within their pin; other readers there read too. The same load against a Worker with
 * `writes.position` and one without, at the same time, on the same origins.
 * @param {{ script: string, short: boolean }} options
 * @returns {Promise<ReplicaLagResult>}
 */
export async function runReplicaLag({ script, short }) {
  // Each write is followed by reads for twice the lag: first from the primary, then, once a
  // replica is known to have caught up, from it.
  const lagMs = short ? 500 : 5_000
  const durationMs = short ? 3_000 : 20_000
  const writeEveryMs = short ? 1_500 : 10_000
  const position = { header: 'x-db-position', kind: 'pg-lsn' }
  const writes = { pinSeconds: short ? 5 : 30 }
  const originOptions = {
    lagMs: { tokyo: lagMs, virginia: lagMs },
    positionKind: /** @type {const} */ ('pg-lsn'),
  }
  // The two Workers front the same origins: one fleet, the second Worker started inside.
  return withFleet(
    { script, short, settings: { writes: { ...writes, position } } },
    async (byPosition, origins) => {
      const list = PLACES.map(({ near: _, ...p }, i) => ({ ...p, url: origins[i]?.url }))
      const byWindow = await startWorker({
        name: 'georoute',
        scriptPath: script,
        kv: true,
        bindings: {
          GEO_OVERRIDE: 'true',
          COOKIE_SECRET: 'drill-cookie-secret',
          ORIGINS: JSON.stringify(list),
          SETTINGS: JSON.stringify({ writes }),
        },
      })
      try {
        const started = Date.now()
        const [a, b] = await Promise.all(
          [byPosition.url, byWindow.url].map((base) =>
            writeAndRead(base, durationMs, writeEveryMs),
          ),
        )
        return {
          lagMs,
          seconds: (Date.now() - started) / 1000,
          writes: /** @type {ReplicaLagSide} */ (a).writes,
          position: /** @type {ReplicaLagSide} */ (a),
          window: /** @type {ReplicaLagSide} */ (b),
        }
      } finally {
        await byWindow.close()
      }
    },
    originOptions,
  )
}

/**
 * @param {string} base
 * @param {number} durationMs
 * @param {number} writeEveryMs
 * @returns {Promise<ReplicaLagSide>}
 */
async function writeAndRead(base, durationMs, writeEveryMs) {
  const side = { writes: 0, pinnedReads: 0, stale: 0, byPrimary: 0 }
  const end = Date.now() + durationMs
  const writers = PLACES.filter((p) => !p.primary).map(async (place) => {
    let written = 0
    let pin = ''
    let lastWrite = 0
    while (Date.now() < end) {
      if (Date.now() - lastWrite >= writeEveryMs) {
        const response = await fetch(`${base}/comments`, {
          method: 'POST',
          body: 'hi',
          headers: { 'x-georoute-geo': place.near },
        })
        await response.arrayBuffer()
        written = positionOf(response.headers.get('x-db-position'), 'pg-lsn') ?? written
        pin = (response.headers.get('set-cookie') ?? '').split(';')[0] ?? ''
        lastWrite = Date.now()
        side.writes += 1
      }
      // The writer's read, and another reader's there at the same time.
      const [mine] = await Promise.all([
        ask(base, '/db', place.near, undefined, { headers: { cookie: pin } }),
        ask(base, '/db', place.near),
      ])
      const seen = JSON.parse(mine.body)
      side.pinnedReads += 1
      if ((positionOf(seen.position, 'pg-lsn') ?? -1) < written) side.stale += 1
      if (seen.origin === 'frankfurt') side.byPrimary += 1
      await sleep(200)
    }
  })
  await Promise.all(writers)
  return side
}

/**
 * The goals of the consistency faults.
 * @param {RollingDeployResult} rolling
 * @param {ReplicaLagResult} lag
 * @returns {import('./drill-analyze.mjs').DrillGoal[]}
 */
export function consistencyGoals(rolling, lag) {
  const share = (/** @type {ReplicaLagSide} */ s) =>
    s.pinnedReads === 0 ? 0 : Math.round((100 * s.byPrimary) / s.pinnedReads)
  return [
    {
      label: 'rolling deploy: 0 asset 404s, 0 readers sent back to the old build',
      met: rolling.asset404s === 0 && rolling.wentBack === 0 && rolling.otherFailures === 0,
      detail: `${rolling.asset404s} asset 404s in ${rolling.assets} asset GETs; ${rolling.wentBack} of ${rolling.pages} pages older than one the reader had seen; ${rolling.otherFailures} other errors`,
    },
    {
      label: 'rolling deploy: the skew shows on the status JSON, and ends there',
      met: rolling.skewShown && rolling.skewEnded,
      detail: `shown during the deploy: ${rolling.skewShown ? 'yes' : 'no'}; gone after: ${rolling.skewEnded ? 'yes' : 'no'}`,
    },
    {
      label:
        'rolling deploy: the expected build demotes the late origin and releases it once caught up',
      met: rolling.lateServedWhileExpected === 0 && rolling.lateServedAfter > 0,
      detail: `the late origin served ${rolling.lateServedWhileExpected} of the ${rolling.lateReaderPagesWhileExpected} pages asked near it while demoted, ${rolling.lateServedAfter} once caught up`,
    },
    {
      label: `replica lag ${lag.lagMs / 1000} s: 0 reads older than the reader's write, fewer pinned reads on the primary than the time window`,
      met:
        lag.position.stale === 0 &&
        lag.window.stale === 0 &&
        lag.position.byPrimary < lag.window.byPrimary,
      detail: `stale reads ${lag.position.stale} (by position), ${lag.window.stale} (time window); primary served ${share(lag.position)} % of ${lag.position.pinnedReads} pinned reads by position, ${share(lag.window)} % of ${lag.window.pinnedReads} with the time window`,
    },
  ]
}

/**
 * The report's section for the consistency faults, when the drill ran them.
 * @param {{ rolling: RollingDeployResult, unprotected?: RollingDeployResult, lag: ReplicaLagResult } | undefined} consistency
 * @returns {string[]}
 */
export function consistencySection(consistency) {
  if (!consistency) return []
  const { rolling, unprotected, lag } = consistency
  const share = (/** @type {ReplicaLagSide} */ s) =>
    `${s.byPrimary} of ${s.pinnedReads} (${s.pinnedReads === 0 ? 0 : Math.round((100 * s.byPrimary) / s.pinnedReads)} %)`
  return [
    '## Consistency: rolling deploy and replica lag',
    '',
    "Each on its own three origins (scripts/lib/consistency-origin.mjs: every build serves only its own content-hashed assets, 404 for the others; replicas apply the primary's writes after a set lag and report their position) and its own Worker, after the faults above.",
    '',
    `**Rolling deploy** (\`settings.health.build: "x-build-id"\`, ${rolling.seconds.toFixed(0)} s): two readers near each origin load a page and the asset it names, in a loop, their requests reaching two edges in turn (near their origin and near the next one: a phone between networks), so page and asset are asked near different origins. Tokyo switches from build a to b, then Frankfurt; the pipeline posts the expected build b while Virginia is late (\`POST /__georoute/build\`); then Virginia switches.`,
    '',
    '| | page GETs | asset GETs | asset 404s | pages older than one the reader had seen | skew on the status JSON | late origin: pages asked near it that it served while demoted | … once caught up |',
    '| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: |',
    `| with \`health.build\` | ${rolling.pages} | ${rolling.assets} | ${rolling.asset404s} | ${rolling.wentBack} | ${rolling.skewShown ? 'shown' : 'not shown'} during, ${rolling.skewEnded ? 'gone' : 'still shown'} after | ${rolling.lateServedWhileExpected} of ${rolling.lateReaderPagesWhileExpected} | ${rolling.lateServedAfter} |`,
    ...(unprotected
      ? [
          `| without it (the same deploy; full drill only) | ${unprotected.pages} | ${unprotected.assets} | ${unprotected.asset404s} | ${unprotected.wentBack} | – | – | – |`,
        ]
      : []),
    '',
    `**Replica lag ${lag.lagMs / 1000} s** (${lag.seconds.toFixed(0)} s, ${lag.writes} writes to each Worker): Tokyo's and Virginia's replicas apply each write ${lag.lagMs / 1000} s late. A writer near each writes now and then and reads every 200 ms within their pin, while another reader there reads too. The same load goes at once to a Worker with \`writes.position\` (\`pg-lsn\`) and to one with the time window only.`,
    '',
    "| | pinned reads | older than the reader's write | served by the primary |",
    '| --- | ---: | ---: | ---: |',
    `| by replication position | ${lag.position.pinnedReads} | ${lag.position.stale} | ${share(lag.position)} |`,
    `| time window (\`pinSeconds\`) | ${lag.window.pinnedReads} | ${lag.window.stale} | ${share(lag.window)} |`,
    '',
  ]
}
