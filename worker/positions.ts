/**
 * Read-your-writes by replication position (`settings.writes.position`): origins report their
 * database position in a response header; the primary's answer to a write is signed into the
 * reader's pin, and their next reads go to the nearest origin known to be at or past it.
 *
 * Positions are compared as BigInt: an integer position (an LSN, a commit counter) may exceed
 * 2^53, and a PostgreSQL LSN (`16/B374D848`) is two 32-bit hex halves, high then low.
 */
import type { ResolvedOrigin } from './config'
import { type RankedOrigin, Tier } from './routing'

/** How origins write their position: a decimal integer, or PostgreSQL's `hi/lo` LSN in hex. */
export type PositionKind = 'integer' | 'pg-lsn'

const INTEGER = /^\d{1,40}$/
const PG_LSN = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/

/** The position a header value states, or `undefined` when it is absent or malformed. */
export function parsePosition(kind: PositionKind, text: string | null | undefined) {
  if (!text) return undefined
  const value = text.trim()
  if (kind === 'integer') return INTEGER.test(value) ? BigInt(value) : undefined
  const match = PG_LSN.exec(value)
  if (!match) return undefined
  return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`)
}

/** The header text of a position, as origins write it (`16/B374D848` for a pg-lsn). */
export function formatPosition(kind: PositionKind, position: bigint): string {
  if (kind === 'integer') return position.toString()
  const high = (position >> 32n).toString(16).toUpperCase()
  const low = (position & 0xffffffffn).toString(16).toUpperCase()
  return `${high}/${low}`
}

/**
 * Each origin's last reported position, as the request path knows it. Kept per isolate today
 * (`isolatePositions`); the interface lets a per-colo record (a Cache API entry shared by the
 * data center's isolates) feed it later without touching the decision (`caughtUpOrder`).
 */
export interface PositionBook {
  /** The origin's latest reported position, if any. */
  latest(originId: string): bigint | undefined
  /** Records a position the origin reported at `at` (ms). */
  note(originId: string, position: bigint, at: number): void
}

// One entry per origin id; ids come from the configuration (at most 1,000 origins).
const MAX_ORIGINS = 1000

/** This isolate's positions: the latest report per origin wins (a restored replica may go back). */
export function positionBook(): PositionBook & { clear(): void } {
  const latest = new Map<string, { position: bigint; at: number }>()
  return {
    latest: (id) => latest.get(id)?.position,
    note(id, position, at) {
      const known = latest.get(id)
      if (known && known.at > at) return
      if (!known && latest.size >= MAX_ORIGINS) latest.clear()
      latest.set(id, { position, at })
    },
    clear: () => latest.clear(),
  }
}

export const isolatePositions = positionBook()

/** Whether origin `id` is known to have reached `needed`: the primary always has. Pure. */
export function isCaughtUp(
  id: string,
  needed: bigint,
  positions: Pick<PositionBook, 'latest'>,
  primaryId: string | undefined,
): boolean {
  if (id === primaryId) return true
  const known = positions.latest(id)
  return known !== undefined && known >= needed
}

/**
 * Where a pinned reader's read goes: the ready origins known to be at or past `needed`, nearest
 * first (the primary counts as caught up: its own position is the newest there is); then the
 * primary when it is not ready; then the rest, only as failover (the request carries
 * `x-georoute-min-position`, so such an origin can wait for its replica). Pure.
 */
export function caughtUpOrder(
  ranked: readonly RankedOrigin[],
  needed: bigint,
  positions: Pick<PositionBook, 'latest'>,
  primaryId: string | undefined,
): ResolvedOrigin[] {
  const caughtUp: ResolvedOrigin[] = []
  const rest: ResolvedOrigin[] = []
  let primary: ResolvedOrigin | undefined
  for (const { origin, tier } of ranked) {
    if (tier === Tier.Ready && isCaughtUp(origin.id, needed, positions, primaryId)) {
      caughtUp.push(origin)
    } else if (origin.id === primaryId) primary = origin
    else rest.push(origin)
  }
  return primary ? [...caughtUp, primary, ...rest] : [...caughtUp, ...rest]
}
