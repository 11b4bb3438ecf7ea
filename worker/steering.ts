import type { Config, ResolvedOrigin } from './config'
import {
  AFFINITY_COOKIE,
  affinityCookie,
  affinityOrigin,
  cookieSecret,
  PIN_COOKIE,
  pinCookie,
  pinnedUntil,
} from './cookies'
import type { Env } from './env'
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
  const { writes } = config.settings
  const secret = cookieSecret(env)
  if (config.primary && writes.pinSeconds > 0 && cookies.includes(PIN_COOKIE)) {
    if (await pinnedUntil(secret, cookies, now)) return { pinned: true, prefer: config.primary.id }
  }
  if (writes.affinity && cookies.includes(AFFINITY_COOKIE)) {
    const id = await affinityOrigin(secret, cookies)
    if (id && config.origins.some((o) => o.id === id))
      return { pinned: false, affinity: id, prefer: id }
  }
  return NONE
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
    const value = await pinCookie(cookieSecret(facts.env), facts.now, writes.pinSeconds, secure)
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
