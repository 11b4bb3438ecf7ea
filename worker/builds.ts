/**
 * Build skew (`settings.health.build`): which build each origin runs, as its responses and probes
 * report it in a header, and the decisions that keep a reader on one build while origins
 * disagree during a rolling deploy. Decisions are pure; the record is per isolate, fed by
 * proxied responses (and probes sent from this isolate) and merged with the probes' snapshot.
 */
import type { ResolvedOrigin } from './config'
import { type RankedOrigin, Tier } from './routing'

/** Longest build id kept (a commit hash, a tag, a timestamp): longer values are ignored. */
export const MAX_BUILD_LENGTH = 128

// Cookie-safe (RFC 6265 cookie-octet) so it can be signed into the build cookie as it is.
const BUILD_ID = /^[0-9A-Za-z._:+@~-]{1,128}$/

/** The build id a header states, or `undefined` when absent or not a short printable token. */
export function parseBuild(text: string | null | undefined): string | undefined {
  if (!text) return undefined
  const value = text.trim()
  return BUILD_ID.test(value) ? value : undefined
}

/**
 * An observation made here outlives this long: past it, the probes' snapshot (rewritten on
 * every build change) knows better than a response this isolate saw minutes ago.
 */
export const OBSERVATION_TTL_MS = 5 * 60_000

// One entry per origin id; ids come from the configuration (at most 1,000 origins).
const MAX_ORIGINS = 1000

const observed = new Map<string, { build: string; at: number }>()

/** Records the build an origin's response or probe reported at `at` (ms). */
export function noteBuild(originId: string, build: string, at: number): void {
  const known = observed.get(originId)
  if (known && known.at > at) return
  if (!known && observed.size >= MAX_ORIGINS) observed.clear()
  observed.set(originId, { build, at })
}

/** Forgets this isolate's observations (tests). */
export function resetBuilds(): void {
  observed.clear()
  skewSuspected = false
  skewSeenSince = undefined
}

/** What the probes' snapshot says of one origin's build. */
export interface StoredBuild {
  build?: string | null | undefined
  lastCheck: number | null
}

/**
 * Each configured origin's build as known now: this isolate's fresh observation when newer than
 * the probes' last check, else the snapshot's. Origins with no known build are absent. Pure but
 * for the observations passed in (`observations()` on the request path).
 */
export function knownBuilds(
  origins: readonly { id: string }[],
  stored: Readonly<Record<string, StoredBuild>> | undefined,
  seen: ReadonlyMap<string, { build: string; at: number }>,
  now: number,
): Map<string, string> {
  const builds = new Map<string, string>()
  for (const { id } of origins) {
    const fromProbe = stored?.[id]
    const here = seen.get(id)
    const fresh = here && now - here.at <= OBSERVATION_TTL_MS ? here : undefined
    if (fresh && (fromProbe?.lastCheck == null || fresh.at >= fromProbe.lastCheck)) {
      builds.set(id, fresh.build)
    } else if (fromProbe?.build) builds.set(id, fromProbe.build)
  }
  return builds
}

/** This isolate's observations, for `knownBuilds`. */
export function observations(): ReadonlyMap<string, { build: string; at: number }> {
  return observed
}

/** True when the known builds disagree: a rolling deploy (or a stuck origin) is under way. */
export function isSkewed(builds: ReadonlyMap<string, string>): boolean {
  let first: string | undefined
  for (const build of builds.values()) {
    if (first === undefined) first = build
    else if (build !== first) return true
  }
  return false
}

/**
 * Set when this isolate last found the builds disagreeing, cleared when it found them agreeing:
 * the fresh cache-hit path reads this one boolean and, while it is false, does no other work
 * for build skew.
 */
let skewSuspected = false

/** Whether the fresh-hit path must check a reader's build against the entry's (`skewSuspected`). */
export function skewSuspectedHere(): boolean {
  return skewSuspected
}

/** When this isolate first found the builds disagreeing, while they still do. */
let skewSeenSince: number | undefined

/** Updates `skewSuspectedHere` from the builds the request path just worked out. */
export function noteSkew(builds: ReadonlyMap<string, string>, now: number): boolean {
  skewSuspected = isSkewed(builds)
  if (!skewSuspected) skewSeenSince = undefined
  else skewSeenSince ??= now
  return skewSuspected
}

/** When this isolate first saw the current skew (`undefined`: none seen). */
export function skewSeenHereSince(): number | undefined {
  return skewSeenSince
}

/**
 * The ranked origins with those running `build` moved to the front, keeping their order, when
 * one of them is ready; otherwise unchanged. Pure.
 */
export function preferBuild(
  ranked: readonly RankedOrigin[],
  build: string,
  builds: ReadonlyMap<string, string>,
): RankedOrigin[] {
  const same = ranked.filter((r) => builds.get(r.origin.id) === build)
  if (!same.some((r) => r.tier === Tier.Ready)) return [...ranked]
  return [...same, ...ranked.filter((r) => builds.get(r.origin.id) !== build)]
}

/**
 * The origin to ask once more after `servedBy` answered a read with 404: the first ready origin
 * in `ranked` whose known build differs from `servedBy`'s (a content-hashed asset of the other
 * build). `undefined` while the builds agree or are unknown. Pure.
 */
export function otherBuildOrigin(
  ranked: readonly RankedOrigin[],
  servedBy: string,
  builds: ReadonlyMap<string, string>,
): ResolvedOrigin | undefined {
  const own = builds.get(servedBy)
  if (own === undefined) return undefined
  for (const { origin, tier } of ranked) {
    if (tier !== Tier.Ready || origin.id === servedBy) continue
    const build = builds.get(origin.id)
    if (build !== undefined && build !== own) return origin
  }
  return undefined
}

/** Origins whose known build differs from `expected`: they rank as degraded until they catch up. */
export function offExpectedBuild(
  builds: ReadonlyMap<string, string>,
  expected: string | null | undefined,
): Set<string> {
  const off = new Set<string>()
  if (!expected) return off
  for (const [id, build] of builds) if (build !== expected) off.add(id)
  return off
}

/**
 * Whether a fresh cache entry may answer a reader kept on build `readerBuild`: an entry made by
 * another build is not served to them (their page's assets may not exist there). An entry that
 * records no build, or a reader with no build, is served as ever. Pure.
 */
export function entryFitsReader(entryBuild: string | undefined, readerBuild: string | undefined) {
  return entryBuild === undefined || readerBuild === undefined || entryBuild === readerBuild
}
