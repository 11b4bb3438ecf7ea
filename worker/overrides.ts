/**
 * Operator overrides kept in KV: drained origins and the cache purge generation. One small key,
 * separate from the probes' snapshot so an admin action and a cron run never overwrite each
 * other. Read through a per-isolate memo: most requests cost no KV read.
 */
export const OVERRIDES_KEY = 'georoute:overrides'

/** How long an isolate trusts its copy before reading KV again. */
export const OVERRIDES_TTL_MS = 10_000

export interface Overrides {
  /** Ids of origins taken out of rotation. */
  drained: string[]
  /** Part of every cache key: bumping it turns the whole cache over (purge all). */
  purgeGeneration: number
  updatedAt: string | null
}

export const NO_OVERRIDES: Overrides = { drained: [], purgeGeneration: 0, updatedAt: null }

let memo: { value: Overrides; fetchedAt: number } | undefined

/** Parses a stored value; anything malformed counts as no overrides (logged by the caller). */
export function parseOverrides(raw: unknown): Overrides | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined
  const value = raw as Partial<Overrides>
  if (!Array.isArray(value.drained) || !value.drained.every((d) => typeof d === 'string')) {
    return undefined
  }
  const generation = value.purgeGeneration
  if (typeof generation !== 'number' || !Number.isSafeInteger(generation) || generation < 0) {
    return undefined
  }
  return {
    drained: value.drained,
    purgeGeneration: generation,
    updatedAt: typeof value.updatedAt === 'string' ? value.updatedAt : null,
  }
}

/** The memo's overrides while fresh, without a promise: the hit path's common case. */
export function memoizedOverrides(now: number): Overrides | undefined {
  return memo && now - memo.fetchedAt < OVERRIDES_TTL_MS ? memo.value : undefined
}

/** The overrides in force, from the memo when fresh; a failing or corrupt KV never throws. */
export async function readOverrides(kv: KVNamespace, now = Date.now()): Promise<Overrides> {
  const fresh = memoizedOverrides(now)
  if (fresh) return fresh
  let value = memo?.value ?? NO_OVERRIDES
  try {
    const raw = await kv.get(OVERRIDES_KEY, 'json')
    if (raw === null) value = NO_OVERRIDES
    else {
      const parsed = parseOverrides(raw)
      if (parsed) value = parsed
      else console.error(JSON.stringify({ message: 'georoute: corrupt overrides in KV, ignored' }))
    }
  } catch (error) {
    console.error(
      JSON.stringify({ message: 'georoute: reading overrides failed', error: String(error) }),
    )
  }
  memo = { value, fetchedAt: now }
  return value
}

/** Applies `change` to the stored overrides and writes them back (admin actions only). */
export async function updateOverrides(
  kv: KVNamespace,
  change: (current: Overrides) => Overrides,
  now = Date.now(),
): Promise<Overrides> {
  const raw = await kv.get(OVERRIDES_KEY, 'json').catch(() => null)
  const current = parseOverrides(raw) ?? NO_OVERRIDES
  const next = { ...change(current), updatedAt: new Date(now).toISOString() }
  await kv.put(OVERRIDES_KEY, JSON.stringify(next))
  // This isolate sees its own change at once; others within OVERRIDES_TTL_MS.
  memo = { value: next, fetchedAt: now }
  return next
}

/** Forgets the memo (tests). */
export function resetOverridesMemo(): void {
  memo = undefined
}
