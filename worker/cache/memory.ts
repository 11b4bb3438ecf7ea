/**
 * The memory tier: small, fresh entries kept in this isolate's memory in front of the data
 * center's Cache API, so that a hot page is answered without a cache read at all (the way a
 * proxy keeps its hottest objects in RAM). It holds only what a fresh hit may serve, for at
 * most `maxAgeSeconds` and never past the entry's own freshness, within `maxBytes` (the oldest
 * held entry goes first). Every write or delete of an entry in this isolate drops its held copy;
 * other isolates see a purge or an invalidation when their copy's `maxAgeSeconds` run out.
 */
import type { Fast } from './fast-hit'

/** `settings.cache.memory`. */
export interface MemoryLimits {
  /** Bytes of bodies (and their headers) one isolate keeps; 0 turns the tier off. */
  maxBytes: number
  /** Largest body kept. */
  maxEntryBytes: number
  /** Longest a held copy answers before the Cache API is read again. */
  maxAgeSeconds: number
}

/** A held entry: its fast-hit facts and its body, shared read-only between the hits. */
export interface Held {
  fast: Fast
  body: Uint8Array
  /** Answers hits until then (ms since the epoch). */
  until: number
  /** What it counts against `maxBytes`. */
  size: number
}

// Insertion order is eviction order: a hot entry is held anew at least every `maxAgeSeconds`.
const held = new Map<string, Held>()
let heldBytes = 0

/** The copy held for `key` that may still answer at `now`. */
export function recall(key: string, now: number): Held | undefined {
  const entry = held.get(key)
  if (entry === undefined || now < entry.until) return entry
  forget(key)
  return undefined
}

/** Whether a body of `size` bytes (`undefined`: not known) would be held under `limits`. */
export function fits(size: number | undefined, limits: MemoryLimits): size is number {
  return size !== undefined && limits.maxBytes > 0 && size <= limits.maxEntryBytes
}

/** Holds `body` for `key` (replacing any copy) when `limits` allow, oldest copies making room. */
export function hold(
  key: string,
  fast: Fast,
  body: Uint8Array,
  now: number,
  limits: MemoryLimits,
): void {
  forget(key)
  if (!fits(body.byteLength, limits)) return
  const until = Math.min(fast.until, now + limits.maxAgeSeconds * 1000)
  let size = body.byteLength + key.length
  for (const [name, value] of Object.entries(fast.headers)) size += name.length + value.length
  if (!(now < until) || size > limits.maxBytes) return
  held.set(key, { fast, body, until, size })
  heldBytes += size
  for (const oldest of held.keys()) {
    if (heldBytes <= limits.maxBytes) break
    forget(oldest)
  }
}

/** Drops the copy held for `key`. */
export function forget(key: string): void {
  const entry = held.get(key)
  if (entry === undefined) return
  held.delete(key)
  heldBytes -= entry.size
}

/** Drops every held copy (a purge of everything; tests). */
export function forgetAll(): void {
  held.clear()
  heldBytes = 0
}

/** What the tier holds now: entries and bytes. */
export function heldNow(): { entries: number; bytes: number } {
  return { entries: held.size, bytes: heldBytes }
}
