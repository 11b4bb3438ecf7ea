import type { Config } from '../config'
import type { CfLocation, ReaderLocation } from '../geo'
import { type ColoFacts, hasLocalEvidence } from '../health/colo'
import type { Overrides } from '../overrides'

/** What the probes last recorded of one origin (from the KV snapshot). */
export interface ProbeRecord {
  healthy: boolean
  since?: string | null
  lastCheck?: string | null
  latencyMs?: number | null
  reason?: string | null
}

/** One origin on the status page and in `GET /__georoute/status`. */
export interface OriginStatus {
  id: string
  label: string | null
  lat: number
  lon: number
  primary: boolean
  /** False when the probes say down or this edge has ejected it. */
  healthy: boolean
  drained: boolean
  /** The probes' verdict: `unknown` before the first probe or when the snapshot is stale. */
  probe: 'up' | 'down' | 'unknown'
  since: string | null
  lastCheck: string | null
  latencyMs: number | null
  /** Why it is down (probe or passive); only with full detail. */
  reason: string | null
  /** Until when this edge skips it after failed requests, if it does. */
  ejectedUntil: string | null
  /** This data center's own view of the origin (its isolates' shared record). */
  here: ColoView
  /** The origin's URL; only with full detail. */
  url?: string
  /** The build it runs, as known here (`settings.health.build`); null when off or unknown. */
  build: string | null
  /** Runs another build than the operator expects: ranked as degraded until it catches up. */
  offBuild: boolean
}

/** What the status reports of builds (`settings.health.build`). */
export interface BuildStatus {
  /** The build every origin should run (`POST /__georoute/build`), if one is set. */
  expected: string | null
  /** Set while the origins run different builds. */
  skew: {
    since: string
    minutes: number
    /** Lasted past `buildSkewAlertMinutes`: reported. */
    alert: boolean
  } | null
}

/** The build facts `buildStatus` needs: the known builds and the skew's start, if any. */
export interface BuildFacts {
  builds: ReadonlyMap<string, string>
  expected: string | null
  /** When the current skew began (ms), `undefined` while builds agree. */
  skewSince: number | undefined
  alertMinutes: number
}

/** One origin as the data center this request entered sees it. */
export interface ColoView {
  /** Smoothed time to response headers from here; null before the first request measured it. */
  latencyMs: number | null
  /** Real requests in the recent window, and the share that succeeded (null: none). */
  requests: number
  successRate: number | null
  /** Ejected here after failed requests (other data centers keep their own view). */
  ejected: boolean
  /** The probes say down, but this data center's own recent requests succeed: not demoted here. */
  probeOverruled: boolean
}

export interface StatusReport {
  origins: OriginStatus[]
  /** When the probes' snapshot was last written; null before the first cron run. */
  updatedAt: string | null
  /** Where this edge is (Cloudflare's data center), when known. */
  edge: {
    colo: string | null
    /** The origin readers entering this data center (from this reader's location) are sent to. */
    sentTo: string | null
    country: string | null
    lat: number | null
    lon: number | null
    /** This isolate's memory tier: pages held, their bytes, and its limit (0: off). */
    memory: MemoryFacts
  }
  /** Where this reader was placed, and how. */
  reader: ReaderLocation | null
  /** Whether reasons and URLs are included (admin token, or a public-detail setting). */
  detail: boolean
  /** Builds and skew; null while `settings.health.build` is off. */
  builds: BuildStatus | null
  generatedAt: string
}

export interface MemoryFacts {
  entries: number
  bytes: number
  maxBytes: number
}

export interface StatusInput {
  config: Config
  probes: ReadonlyMap<string, ProbeRecord>
  snapshotUpdatedAt: string | null
  overrides: Overrides
  /** The data center's view of each origin, and its code (`x-georoute-colo` in tests). */
  facts: (originId: string) => ColoFacts | undefined
  colo: string
  sentTo: string | undefined
  minSuccesses: number
  cf: (CfLocation & { colo?: unknown }) | undefined
  reader: ReaderLocation | undefined
  memory: MemoryFacts
  detail: boolean
  now: number
  /** Absent while `settings.health.build` is off. */
  builds?: BuildFacts
}

const iso = (ms: number) => new Date(ms).toISOString()
const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : null)
const number = (value: unknown) => {
  const n = typeof value === 'string' || typeof value === 'number' ? Number(value) : Number.NaN
  return Number.isFinite(n) ? n : null
}

/** The facts the status page and JSON show, from what this isolate knows. Pure. */
export function buildStatus(input: StatusInput): StatusReport {
  const { config, probes, overrides, detail, now } = input
  const origins = config.origins.map((origin): OriginStatus => {
    const probe = probes.get(origin.id)
    const facts = input.facts(origin.id)
    const ejected = facts !== undefined && facts.ejectedUntil > now
    const overruled = probe?.healthy === false && hasLocalEvidence(facts, input.minSuccesses)
    const requests = (facts?.ok ?? 0) + (facts?.failed ?? 0)
    const status: OriginStatus = {
      id: origin.id,
      label: origin.label ?? null,
      lat: origin.lat,
      lon: origin.lon,
      primary: origin.primary,
      healthy: (probe?.healthy !== false || overruled) && !ejected,
      drained: overrides.drained.includes(origin.id),
      probe: probe === undefined ? 'unknown' : probe.healthy ? 'up' : 'down',
      since: probe?.since ?? null,
      lastCheck: probe?.lastCheck ?? null,
      latencyMs: probe?.latencyMs ?? null,
      reason: detail ? ((ejected ? facts.why : undefined) ?? probe?.reason ?? null) : null,
      ejectedUntil: ejected ? iso(facts.ejectedUntil) : null,
      here: {
        latencyMs: facts?.latencyMs === undefined ? null : Math.round(facts.latencyMs),
        requests,
        successRate: requests === 0 ? null : (facts?.ok ?? 0) / requests,
        ejected,
        probeOverruled: overruled,
      },
      build: input.builds?.builds.get(origin.id) ?? null,
      offBuild: false,
    }
    const expected = input.builds?.expected
    if (expected && status.build !== null && status.build !== expected) status.offBuild = true
    if (detail) status.url = origin.url
    return status
  })
  return {
    origins,
    updatedAt: input.snapshotUpdatedAt,
    edge: {
      colo: input.colo === 'unknown' ? text(input.cf?.colo) : input.colo,
      sentTo: input.sentTo ?? null,
      country: text(input.cf?.country),
      lat: number(input.cf?.latitude),
      lon: number(input.cf?.longitude),
      memory: input.memory,
    },
    reader: input.reader ?? null,
    detail,
    builds: input.builds ? buildsReport(input.builds, now) : null,
    generatedAt: iso(now),
  }
}

/** The builds part of the status: the expected build, and the skew with its age. Pure. */
export function buildsReport(facts: BuildFacts, now: number): BuildStatus {
  const { skewSince } = facts
  if (skewSince === undefined) return { expected: facts.expected, skew: null }
  const minutes = Math.max(0, Math.floor((now - skewSince) / 60_000))
  return {
    expected: facts.expected,
    skew: {
      since: iso(skewSince),
      minutes,
      alert: now - skewSince >= facts.alertMinutes * 60_000,
    },
  }
}
