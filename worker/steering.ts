import type { Config, ResolvedOrigin } from './config'
import {
  AFFINITY_COOKIE,
  affinityCookie,
  affinityOrigin,
  BUILD_COOKIE,
  buildCookie,
  cookieSecret,
  PIN_COOKIE,
  pinCookie,
  readerBuild,
  readPin,
} from './cookies'
import type { Env } from './env'
import { formatPosition, parsePosition } from './positions'
import type { ProxyOutcome } from './proxy'
import { type RankedOrigin, Tier } from './routing'

/** How a reader's own cookies steer them. */
export interface Steering {
  /** Within the read-your-writes window after their write: served by the primary, uncached. */
  pinned: boolean
  /** The origin a valid affinity cookie names. */
  affinity?: string
  /** The origin to put first when it is ready. */
  prefer?: string
  /**
   * With `writes.position`: the replication position the reader's write made (header text).
   * The pinned read then goes to the nearest origin known to have reached it.
   */
  minPosition?: string
  /** The build a valid build cookie keeps the reader on while origins disagree. */
  build?: string
}

const NONE: Steering = { pinned: false }

/**
 * Reads the pin and affinity cookies; forged, expired or unknown ones are ignored. Most readers
 * carry none of ours: they get their answer at once, with no crypto and no promise.
 */
export function readerSteering(
  request: Request,
  env: Env,
  config: Config,
  write: boolean,
  now: number,
): Steering | Promise<Steering> {
  const cookies = request.headers.get('cookie')
  if (write || !cookies?.includes('__georoute_')) return NONE
  return verifiedSteering(cookies, env, config, now)
}

/**
 * The steering to settle before the cache, for a reader carrying a pin cookie: a valid pin
 * bypasses the cache, a forged or malformed one is ignored and the reader is served like anyone.
 * `undefined` (nothing to verify) for every other reader: the hit path does no crypto.
 */
export function steeringBeforeCache(
  request: Request,
  headers: Headers,
  env: Env,
  config: Config,
  write: boolean,
  now: number,
): Steering | Promise<Steering> | undefined {
  if (!headers.get('cookie')?.includes(PIN_COOKIE)) return undefined
  return readerSteering(request, env, config, write, now)
}

async function verifiedSteering(
  cookies: string,
  env: Env,
  config: Config,
  now: number,
): Promise<Steering> {
  const { writes, health } = config.settings
  const secret = cookieSecret(env)
  // Read while origins may disagree on the build; honoured only while they do (route()).
  const build =
    health.build && cookies.includes(BUILD_COOKIE) ? await readerBuild(secret, cookies) : undefined
  const withBuild = (steering: Steering): Steering => (build ? { ...steering, build } : steering)
  if (config.primary && writes.pinSeconds > 0 && cookies.includes(PIN_COOKIE)) {
    const pin = await readPin(secret, cookies, now)
    if (pin) {
      const pinned: Steering = { pinned: true, prefer: config.primary.id }
      // A position is only honoured when positions are on: else the pin is the time window.
      if (pin.position && writes.position) pinned.minPosition = pin.position
      return withBuild(pinned)
    }
  }
  if (writes.affinity && cookies.includes(AFFINITY_COOKIE)) {
    const id = await affinityOrigin(secret, cookies)
    if (id && config.origins.some((o) => o.id === id))
      return withBuild({ pinned: false, affinity: id, prefer: id })
  }
  return build ? { pinned: false, build } : NONE
}

/**
 * The ranked origins with `prefer` moved to the front when it is ready (healthy or unknown, not
 * drained or ejected); otherwise the ranking as it is, so a pin or affinity never sends a
 * reader to a broken origin.
 */
export function preferFirst(ranked: readonly RankedOrigin[], prefer?: string): ResolvedOrigin[] {
  const origins = ranked.map((r) => r.origin)
  if (!prefer) return origins
  const i = ranked.findIndex((r) => r.origin.id === prefer && r.tier === Tier.Ready)
  if (i <= 0) return origins
  return [origins[i]!, ...origins.slice(0, i), ...origins.slice(i + 1)]
}

/** Adds the pin after a successful write, and the affinity cookie when it must change. */
export async function setSteeringCookies(
  response: Response,
  facts: {
    env: Env
    config: Config
    publicUrl: URL
    write: boolean
    steering: Steering
    outcome: ProxyOutcome
    now: number
  },
): Promise<void> {
  const { config, outcome, steering, write } = facts
  const { writes } = config.settings
  const served = outcome.origin
  if (!served || response.status >= 400) return
  const secure = facts.publicUrl.protocol === 'https:'
  if (write && config.primary && served.id === config.primary.id && writes.pinSeconds > 0) {
    const position = writePosition(response, writes.position)
    const secret = cookieSecret(facts.env)
    const value = await pinCookie(secret, facts.now, writes.pinSeconds, secure, position)
    response.headers.append('set-cookie', value)
  } else if (!write && writes.affinity && steering.affinity !== served.id && !steering.pinned) {
    const value = await affinityCookie(
      cookieSecret(facts.env),
      served.id,
      writes.affinitySeconds,
      secure,
    )
    response.headers.append('set-cookie', value)
  }
}

/** The primary's position in its answer to a write, normalized; `undefined` when off or absent. */
function writePosition(
  response: Response,
  position: Config['settings']['writes']['position'],
): string | undefined {
  if (!position) return undefined
  const parsed = parsePosition(position.kind, response.headers.get(position.header))
  return parsed === undefined ? undefined : formatPosition(position.kind, parsed)
}

/** How long a build cookie lasts at most; it is cleared as soon as the skew is over. */
export const BUILD_COOKIE_SECONDS = 3600

/**
 * Keeps the reader on the build of the page just served while origins disagree (`skewed`), and
 * clears their build cookie once they agree again. Only a page (`text/html`) sets it: a shared
 * file such as `/favicon.ico` from the other build must not move the reader.
 */
export async function setBuildCookie(
  response: Response,
  facts: {
    env: Env
    publicUrl: URL
    steering: Steering
    /** The build of the origin that answered, if known. */
    servedBuild: string | undefined
    skewed: boolean
  },
): Promise<void> {
  const { steering, servedBuild, skewed } = facts
  const secure = facts.publicUrl.protocol === 'https:'
  if (!skewed) {
    if (steering.build) response.headers.append('set-cookie', await buildCookie('', '', 0, secure))
    return
  }
  if (!servedBuild || servedBuild === steering.build || response.status >= 400) return
  if (!response.headers.get('content-type')?.startsWith('text/html')) return
  const secret = cookieSecret(facts.env)
  const value = await buildCookie(secret, servedBuild, BUILD_COOKIE_SECONDS, secure)
  response.headers.append('set-cookie', value)
}
