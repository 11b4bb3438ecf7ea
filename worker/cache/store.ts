/**
 * The thin Cache API layer: reads, writes and deletes entries (a write or delete also updates the
 * memory tier, memory.ts), and decides nothing (decide.ts).
 *
 * What one entry in `caches.default` holds:
 *   key      `<scheme>://<host>/__georoute/cache/<purge generation><path><normalized query>`
 *            (key.ts); bumping the generation retires every entry at once
 *   status   always 200, whatever the origin answered: its status is in the policy
 *   body     the origin's body, as the runtime decoded it
 *   headers  `cache-control: public, max-age=<keepSeconds>`: only how long the data center keeps
 *              the copy (freshness is ours to judge, from the policy)
 *            `x-georoute-meta`: JSON `Meta`, the http-cache-semantics policy object (`v: 1`) and
 *              the id of the origin that filled the entry
 *            `x-georoute-fast`: JSON `Fast` (fast-hit.ts), when the entry can be a fresh hit:
 *              the hit path reads this one small header and evaluates no policy
 * Metadata over 32 KiB is never stored; an entry whose metadata does not parse is a miss.
 */
import { type Fast, fastHit } from './fast-hit'
import { forget, hold, type MemoryLimits } from './memory'
import type { PolicyObject } from './policy'

const META = 'x-georoute-meta'
const FAST = 'x-georoute-fast'

// Far below the platform's header limits, yet no blog response's headers come near it.
const MAX_META_BYTES = 32 * 1024

/** What we keep next to a body. */
export interface Meta {
  policy: PolicyObject
  /** Id of the origin that filled the entry. */
  origin: string | null
}

/** A stored entry: metadata, and the body to read once. */
export interface Stored {
  meta: Meta
  body: ReadableStream | null
}

/** An entry as looked up: the fast-hit facts when it has them, the rest read on demand. */
export interface Entry {
  fast?: Fast
  body: ReadableStream | null
  /** The stored headers: the (larger) metadata header is read by `full` only when needed. */
  headers: Headers
  /** The stored response, for reading its body whole. */
  response: Response
}

function parseMeta(raw: string | null): Meta | undefined {
  if (!raw) return undefined
  try {
    const meta = JSON.parse(raw) as Meta
    const policy = meta?.policy
    const valid =
      policy?.v === 1 &&
      typeof policy.t === 'number' &&
      typeof policy.st === 'number' &&
      typeof policy.resh === 'object' &&
      policy.resh !== null &&
      typeof policy.rescc === 'object' &&
      policy.rescc !== null
    return valid ? meta : undefined
  } catch {
    return undefined
  }
}

function parseFast(raw: string | null): Fast | undefined {
  if (!raw) return undefined
  try {
    const fast = JSON.parse(raw) as Fast
    const valid =
      typeof fast?.until === 'number' &&
      typeof fast.received === 'number' &&
      typeof fast.ageValue === 'number' &&
      typeof fast.status === 'number' &&
      typeof fast.headers === 'object' &&
      fast.headers !== null &&
      // Facts stored before hits kept the stored Date have none: those take the full path.
      typeof fast.headers.date === 'string' &&
      (fast.origin === null || typeof fast.origin === 'string') &&
      (fast.size === undefined || typeof fast.size === 'number')
    return valid ? fast : undefined
  } catch {
    return undefined
  }
}

// Parsed fast-hit facts by their raw header: a hot entry's facts are parsed once per isolate.
// Read-only once parsed (hits copy what they change). Keyed by the whole raw text, never a
// digest: a collision would serve one entry's headers with another's body. Bounded by bytes:
// each entry counts twice its raw length (the key, and the parsed strings it holds) plus a
// fixed overhead; the oldest goes first, and facts over `MAX_MEMO_FACTS_BYTES` are parsed on
// every hit instead (a blog's facts take a few hundred bytes).
export const MAX_PARSED_FACTS_BYTES = 1024 * 1024
const MAX_MEMO_FACTS_BYTES = 8 * 1024
const FACTS_OVERHEAD = 256
const parsedFacts = new Map<string, Fast | null>()
let parsedFactsBytes = 0

const factsBytes = (raw: string) => 2 * raw.length + FACTS_OVERHEAD

/** The facts of a raw `x-georoute-fast` header, parsed once per isolate while memoized. */
export function cachedFast(raw: string | null): Fast | undefined {
  if (!raw) return undefined
  let fast = parsedFacts.get(raw)
  if (fast === undefined) {
    fast = parseFast(raw) ?? null
    if (raw.length > MAX_MEMO_FACTS_BYTES) return fast ?? undefined
    parsedFacts.set(raw, fast)
    parsedFactsBytes += factsBytes(raw)
    for (const oldest of parsedFacts.keys()) {
      if (parsedFactsBytes <= MAX_PARSED_FACTS_BYTES) break
      parsedFacts.delete(oldest)
      parsedFactsBytes -= factsBytes(oldest)
    }
  }
  return fast ?? undefined
}

/** What the parsed-facts memo holds now: entries, and the bytes it counts against its bound. */
export function parsedFactsNow(): { entries: number; bytes: number } {
  return { entries: parsedFacts.size, bytes: parsedFactsBytes }
}

/** Forgets every parsed fact (tests). */
export function clearParsedFacts(): void {
  parsedFacts.clear()
  parsedFactsBytes = 0
}

let defaultCache: Cache | undefined

/** `caches.default`, looked up once per isolate (it holds no per-request state). */
const cache = (): Cache => {
  defaultCache ??= caches.default
  return defaultCache
}

function logError(message: string, error: unknown): void {
  console.error(JSON.stringify({ message: `georoute: ${message}`, error: String(error) }))
}

/** The entry under `key`; a missing or unreadable entry is a miss, never an error. */
export async function lookUp(key: string): Promise<Entry | undefined> {
  let response: Response | undefined
  try {
    response = await cache().match(key)
  } catch (error) {
    logError('cache read failed', error)
    return undefined
  }
  if (!response) return undefined
  const { headers } = response
  return { fast: cachedFast(headers.get(FAST)), body: response.body, headers, response }
}

/** The entry with its full metadata; a foreign or corrupt one is a miss (its body is freed). */
export async function full(entry: Entry | undefined): Promise<Stored | undefined> {
  if (!entry) return undefined
  const meta = parseMeta(entry.headers.get(META))
  if (!meta) {
    await entry.body?.cancel()
    return undefined
  }
  return { meta, body: entry.body }
}

/** The entry under `key` with its full metadata. */
export async function read(key: string): Promise<Stored | undefined> {
  return full(await lookUp(key))
}

/**
 * Stores a body under `key` for `keepSeconds`, and holds it in memory too when it is a fresh
 * hit's and small enough (`memory`); failures are logged, never thrown.
 */
export async function write(
  key: string,
  body: ReadableStream | null,
  meta: Meta,
  keepSeconds: number,
  memory: MemoryLimits,
): Promise<void> {
  // Whatever this write stores, the copy this isolate held is no longer the entry.
  forget(key)
  const serialized = JSON.stringify(meta)
  if (serialized.length > MAX_META_BYTES || keepSeconds <= 0) {
    await body?.cancel()
    return
  }
  const headers: Record<string, string> = {
    'cache-control': `public, max-age=${keepSeconds}`,
    [META]: serialized,
  }
  try {
    let stored: ReadableStream | Uint8Array | null = body
    const hit = fastHit(meta.policy)
    if (hit) {
      let fast: Fast = { ...hit, origin: meta.origin }
      if (memory.maxBytes > 0) {
        const read = await readUpTo(body, memory.maxEntryBytes)
        if (read instanceof Uint8Array) {
          fast = { ...fast, size: read.byteLength }
          hold(key, fast, read, Date.now(), memory)
        }
        stored = read
      }
      const facts = JSON.stringify(fast)
      if (serialized.length + facts.length <= MAX_META_BYTES) headers[FAST] = facts
    }
    // Always 200 with our headers only: the Cache API then applies none of its own rules
    // (status-based TTLs, Set-Cookie, Vary, conditional matching) to what it keeps.
    await cache().put(key, new Response(stored, { headers }))
  } catch (error) {
    logError('cache write failed', error)
  }
}

/** An entry's body read whole; `undefined` (logged) when it cannot be read. */
export async function readWhole(entry: Entry): Promise<Uint8Array | undefined> {
  try {
    return new Uint8Array(await entry.response.arrayBuffer())
  } catch (error) {
    logError('cache read failed', error)
    return undefined
  }
}

/**
 * The body whole when it has at most `max` bytes; a longer one as a stream that gives the bytes
 * read so far, then the rest.
 */
export async function readUpTo(
  body: ReadableStream<Uint8Array> | null,
  max: number,
): Promise<Uint8Array | ReadableStream<Uint8Array>> {
  if (!body) return new Uint8Array(0)
  const reader = body.getReader()
  const chunks: Uint8Array[] = []
  let length = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    chunks.push(value)
    length += value.byteLength
    if (length > max) {
      return new ReadableStream<Uint8Array>({
        start(controller) {
          for (const chunk of chunks) controller.enqueue(chunk)
          chunks.length = 0
        },
        async pull(controller) {
          const next = await reader.read()
          if (next.done) controller.close()
          else controller.enqueue(next.value)
        },
        cancel: (reason) => reader.cancel(reason),
      })
    }
  }
  const [first] = chunks
  // One chunk that owns its whole buffer is kept as it is; a view would keep a larger buffer alive.
  if (first && chunks.length === 1 && first.byteLength === first.buffer.byteLength) return first
  const whole = new Uint8Array(length)
  let offset = 0
  for (const chunk of chunks) {
    whole.set(chunk, offset)
    offset += chunk.byteLength
  }
  return whole
}

/** Deletes entries in this data center; answers how many existed. */
export async function remove(keys: readonly string[]): Promise<number> {
  for (const key of keys) forget(key)
  const results = await Promise.all(
    keys.map((key) =>
      cache()
        .delete(key)
        .catch((error) => {
          logError('cache delete failed', error)
          return false
        }),
    ),
  )
  return results.filter(Boolean).length
}
