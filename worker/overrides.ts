/**
 * Operator overrides kept in KV: drained origins and the cache purge generation, apart from the
 * probes' snapshot so an admin action and a cron run never overwrite each other.
 *
 * KV has no compare-and-swap and is eventually consistent, so no two kinds of admin call share a
 * key: a drain or undrain writes only `georoute:drain:<id>`, a purge-all only the generation in
 * `georoute:overrides`. Concurrent calls then never undo each other. `georoute:overrides` is the
 * one record earlier versions kept for everything: its `drained` list is still honoured for an
 * origin that has no drain key of its own, and is never rewritten with new drains.
 *
 * Read through a per-isolate memo: most requests cost no KV read; a refresh is one bulk read.
 */
export const OVERRIDES_KEY = 'georoute:overrides'

/**
 * The build the operator expects every origin to run (`POST /__georoute/build`): a key of its
 * own, so a deploy pipeline's call never races a drain or a purge.
 */
export const BUILD_KEY = 'georoute:build'

/** Prefix of the per-origin drain keys. */
export const DRAIN_KEY_PREFIX = 'georoute:drain:'

/** The KV key holding whether origin `id` is drained. */
export const drainKey = (id: string) => `${DRAIN_KEY_PREFIX}${id}`

/** How long an isolate trusts its copy before reading KV again. */
export const OVERRIDES_TTL_MS = 10_000

// A bulk read takes at most 100 keys.
const BULK_READ_KEYS = 100

export interface Overrides {
  /** Ids of configured origins taken out of rotation. */
  drained: string[]
  /** Part of every cache key: changing it turns the whole cache over (purge all). */
  purgeGeneration: number
  updatedAt: string | null
  /** The build every origin should run; origins on another rank as degraded. Absent: none. */
  expectedBuild?: string
}

/** What `georoute:build` holds (`expect: null` once cleared). */
interface BuildRecord {
  expect: string | null
  updatedAt: string | null
}

function parseBuildRecord(raw: unknown): BuildRecord | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined
  const value = raw as Partial<BuildRecord>
  if (value.expect !== null && typeof value.expect !== 'string') return undefined
  return {
    expect: value.expect,
    updatedAt: typeof value.updatedAt === 'string' ? value.updatedAt : null,
  }
}

/** What `georoute:drain:<id>` holds. */
interface DrainRecord {
  drained: boolean
  updatedAt: string | null
}

export const NO_OVERRIDES: Overrides = { drained: [], purgeGeneration: 0, updatedAt: null }

let memo: { value: Overrides; fetchedAt: number; ids: readonly string[] } | undefined

/** Parses `georoute:overrides`; anything malformed counts as no overrides (logged by the caller). */
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

function parseDrain(raw: unknown): DrainRecord | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined
  const value = raw as Partial<DrainRecord>
  if (typeof value.drained !== 'boolean') return undefined
  return {
    drained: value.drained,
    updatedAt: typeof value.updatedAt === 'string' ? value.updatedAt : null,
  }
}

/** The value of JSON text; `null` for a missing key, `undefined` when it is not JSON. */
function json(text: string | null | undefined): unknown {
  if (text === null || text === undefined) return null
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/**
 * The overrides in force for the origins `ids`: a drain key wins over the old record's list;
 * `updatedAt` is the latest change of either.
 */
export function combineOverrides(
  record: Overrides | undefined,
  drains: ReadonlyMap<string, DrainRecord | undefined>,
  ids: readonly string[],
): Overrides {
  const listed = new Set(record?.drained ?? [])
  let updatedAt = record?.updatedAt ?? null
  for (const drain of drains.values()) {
    if (drain?.updatedAt && (!updatedAt || drain.updatedAt > updatedAt)) updatedAt = drain.updatedAt
  }
  return {
    drained: ids.filter((id) => drains.get(id)?.drained ?? listed.has(id)),
    purgeGeneration: record?.purgeGeneration ?? 0,
    updatedAt,
  }
}

/** Reads every override key of `ids` from KV, in bulk reads of at most 100 keys. */
async function readFromKv(kv: KVNamespace, ids: readonly string[]): Promise<Overrides> {
  const keys = [OVERRIDES_KEY, BUILD_KEY, ...ids.map(drainKey)]
  const texts = new Map<string, string | null>()
  for (let i = 0; i < keys.length; i += BULK_READ_KEYS) {
    // Text, parsed here: one corrupt value must not hide the others.
    for (const [key, text] of await kv.get(keys.slice(i, i + BULK_READ_KEYS), 'text')) {
      texts.set(key, text)
    }
  }
  const raw = json(texts.get(OVERRIDES_KEY))
  const record = raw === null ? undefined : parseOverrides(raw)
  let corrupt = raw !== null && !record
  const drains = new Map<string, DrainRecord | undefined>()
  for (const id of ids) {
    const value = json(texts.get(drainKey(id)))
    if (value === null) continue
    const drain = parseDrain(value)
    if (!drain) corrupt = true
    drains.set(id, drain)
  }
  const buildRaw = json(texts.get(BUILD_KEY))
  const build = buildRaw === null ? undefined : parseBuildRecord(buildRaw)
  if (buildRaw !== null && !build) corrupt = true
  if (corrupt)
    console.error(JSON.stringify({ message: 'georoute: corrupt overrides in KV, ignored' }))
  const combined = combineOverrides(record, drains, ids)
  return build?.expect ? { ...combined, expectedBuild: build.expect } : combined
}

/** The origins whose drain keys are read: a configuration's origin list, or just their ids. */
export type OriginList = readonly { id: string }[]

const idLists = new WeakMap<OriginList, readonly string[]>()

/** The ids of a list of origins, worked out once per list (a configuration's list is kept). */
function idsOf(origins: OriginList): readonly string[] {
  let ids = idLists.get(origins)
  if (!ids) {
    ids = origins.map((o) => o.id)
    idLists.set(origins, ids)
  }
  return ids
}

const sameIds = (a: readonly string[], b: readonly string[]) =>
  a === b || (a.length === b.length && a.every((id, i) => id === b[i]))

/**
 * The memo's overrides while fresh, without a promise: the hit path's common case. With `origins`,
 * only a memo read for those origins counts.
 */
export function memoizedOverrides(now: number, origins?: OriginList): Overrides | undefined {
  if (!memo || now - memo.fetchedAt >= OVERRIDES_TTL_MS) return undefined
  return origins && !sameIds(idsOf(origins), memo.ids) ? undefined : memo.value
}

/**
 * The overrides in force, from the memo when fresh; a failing or corrupt KV never throws.
 * `origins` are the configured origins whose drain keys to read; left out (callers that need
 * only the purge generation), those of the previous read.
 */
export async function readOverrides(
  kv: KVNamespace,
  now = Date.now(),
  origins?: OriginList,
): Promise<Overrides> {
  const ids = origins ? idsOf(origins) : (memo?.ids ?? [])
  if (memo && now - memo.fetchedAt < OVERRIDES_TTL_MS && sameIds(ids, memo.ids)) return memo.value
  let value = memo?.value ?? NO_OVERRIDES
  try {
    value = await readFromKv(kv, ids)
  } catch (error) {
    console.error(
      JSON.stringify({ message: 'georoute: reading overrides failed', error: String(error) }),
    )
  }
  memo = { value, fetchedAt: now, ids }
  return value
}

/** Applies `change` to this isolate's memo, so it sees its own admin call at once. */
function remember(change: (current: Overrides) => Overrides, now: number): void {
  memo = { value: change(memo?.value ?? NO_OVERRIDES), fetchedAt: now, ids: memo?.ids ?? [] }
}

/**
 * Drains or undrains one origin: one KV write, to that origin's key only. Answers the drained
 * origins as this isolate now knows them (others see the change within OVERRIDES_TTL_MS, once KV
 * has propagated it).
 */
export async function setDrain(
  kv: KVNamespace,
  id: string,
  drained: boolean,
  origins: OriginList,
  now = Date.now(),
): Promise<Overrides> {
  const ids = idsOf(origins)
  const updatedAt = new Date(now).toISOString()
  const record: DrainRecord = { drained, updatedAt }
  await kv.put(drainKey(id), JSON.stringify(record))
  const current = await readFromKv(kv, ids).catch(() => memo?.value ?? NO_OVERRIDES)
  // KV may not show our own write yet: apply it over what was read.
  const others = current.drained.filter((d) => d !== id)
  const next = { ...current, drained: drained ? [...others, id] : others, updatedAt }
  memo = { value: next, fetchedAt: now, ids }
  return next
}

/**
 * Purge all: one KV write to `georoute:overrides`, the generation moved to the time of the call
 * (or one past the stored one, if larger). Two purges that read the same stale value still each
 * end with a generation no earlier purge used, so neither is lost.
 */
export async function bumpPurgeGeneration(kv: KVNamespace, now = Date.now()): Promise<number> {
  const raw = await kv.get(OVERRIDES_KEY, 'json').catch(() => null)
  const current = parseOverrides(raw) ?? NO_OVERRIDES
  const generation = Math.max(current.purgeGeneration + 1, now)
  const updatedAt = new Date(now).toISOString()
  // The old `drained` list is kept as read: only earlier versions wrote it.
  await kv.put(
    OVERRIDES_KEY,
    JSON.stringify({ ...current, purgeGeneration: generation, updatedAt }),
  )
  remember((value) => ({ ...value, purgeGeneration: generation, updatedAt }), now)
  return generation
}

/**
 * Sets (or, with `null`, clears) the build every origin is expected to run: one KV write, to
 * `georoute:build` only. This isolate sees it at once; others within OVERRIDES_TTL_MS.
 */
export async function setExpectedBuild(
  kv: KVNamespace,
  expect: string | null,
  now = Date.now(),
): Promise<void> {
  const updatedAt = new Date(now).toISOString()
  const record: BuildRecord = { expect, updatedAt }
  await kv.put(BUILD_KEY, JSON.stringify(record))
  remember((value) => {
    const { expectedBuild: _previous, ...rest } = value
    return expect ? { ...rest, expectedBuild: expect } : rest
  }, now)
}

/** Forgets the memo (tests). */
export function resetOverridesMemo(): void {
  memo = undefined
}
