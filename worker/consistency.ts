/**
 * The request path's part of build skew and read-your-writes by position (worker/builds.ts,
 * worker/positions.ts hold the pure decisions): the order of origins for one read, the origin
 * to ask again after a 404, and what an answering origin reported of itself.
 */
import {
  entryFitsReader,
  noteBuild,
  otherBuildOrigin,
  parseBuild,
  preferBuild,
  skewSuspectedHere,
} from './builds'
import type { Reader } from './cache'
import type { Config, ResolvedOrigin } from './config'
import { claimedBuild } from './cookies'
import { caughtUpOrder, isCaughtUp, isolatePositions, parsePosition } from './positions'
import type { ProxyOutcome } from './proxy'
import type { RankedOrigin } from './routing'
import { preferFirst, type Steering } from './steering'

/** What the builds look like to this request: `undefined` while `settings.health.build` is off. */
export interface BuildView {
  builds: Map<string, string>
  skewed: boolean
}

/**
 * Whether a fresh cache hit may answer this reader: always, unless this isolate sees a build
 * skew (one boolean, the only work on the hit path otherwise) and the reader's build cookie
 * names another build than the entry's (its origin's build header, stored with it).
 */
export function hitFitsReader(
  headers: Record<string, string>,
  reader: Reader,
  config: Config,
): boolean {
  if (!skewSuspectedHere()) return true
  const header = config.settings.health.build
  if (!header) return true
  return entryFitsReader(headers[header], claimedBuild(reader.headers.get('cookie')))
}

/** The replication position a pinned read needs, when positions are on and the pin has one. */
export function neededPosition(steering: Steering, config: Config): bigint | undefined {
  const { position } = config.settings.writes
  if (!steering.pinned || !position || !steering.minPosition) return undefined
  return parsePosition(position.kind, steering.minPosition)
}

/**
 * The origins to try for a read, in order: a reader pinned by position to the nearest caught-up
 * origin (`caughtUpOrder`); a reader kept on a build to its origins while builds disagree (an
 * affinity yields to it); otherwise the pin's or affinity's origin first when ready.
 */
export function readOrder(
  ranked: readonly RankedOrigin[],
  steering: Steering,
  config: Config,
  view: BuildView | undefined,
  needed: bigint | undefined,
): ResolvedOrigin[] {
  if (needed !== undefined) {
    return caughtUpOrder(ranked, needed, isolatePositions, config.primary?.id)
  }
  let prefer = steering.prefer
  let order = ranked
  if (view?.skewed && steering.build && !steering.pinned) {
    order = preferBuild(ranked, steering.build, view.builds)
    if (prefer && view.builds.get(prefer) !== steering.build) prefer = undefined
  }
  return preferFirst(order, prefer)
}

/**
 * The origin to ask once more after `outcome` came back 404 from one build while another
 * ready origin runs another; for a reader pinned by position, only one known to have their
 * write. `undefined` when there is none (or the answer was no 404).
 */
export function retryElsewhere(
  outcome: ProxyOutcome,
  ranked: readonly RankedOrigin[],
  view: BuildView | undefined,
  needed: bigint | undefined,
  config: Config,
): ResolvedOrigin | undefined {
  if (!view?.skewed || outcome.response.status !== 404 || !outcome.origin) return undefined
  const candidates =
    needed === undefined
      ? ranked
      : ranked.filter((r) => isCaughtUp(r.origin.id, needed, isolatePositions, config.primary?.id))
  return otherBuildOrigin(candidates, outcome.origin.id, view.builds)
}

/**
 * Records what the answering origin reported of itself: its build (into `view` too, so a 404
 * is judged with it) and its replication position, per isolate. Nothing when the settings are
 * off.
 */
export function observe(outcome: ProxyOutcome, config: Config, view: BuildView | undefined) {
  const { origin, response } = outcome
  if (!origin || outcome.failed) return
  const now = Date.now()
  const { build } = config.settings.health
  if (build && view) {
    const reported = parseBuild(response.headers.get(build))
    if (reported) {
      noteBuild(origin.id, reported, now)
      view.builds.set(origin.id, reported)
    }
  }
  const { position } = config.settings.writes
  if (position) {
    const reported = parsePosition(position.kind, response.headers.get(position.header))
    if (reported !== undefined) isolatePositions.note(origin.id, reported, now)
  }
}
