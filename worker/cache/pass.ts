/**
 * Hit-for-pass (Varnish's name): a URL whose origin said its response may never be shared
 * (`no-store`, `private`, `Set-Cookie`) skips the cache lookup for a while in this isolate, so
 * an uncacheable page costs no Cache API read per request. Any storable answer for it ends
 * the pass at once, so a page that becomes cacheable is cached on its next request.
 */
import { cacheDirectives } from './directives'
import { memoKey } from './memo-key'

/** How long a URL skips the lookup after an unshareable answer. */
export const PASS_MS = 60_000

/**
 * Bound on what the remembered URLs take, in bytes (`passesNow`): the oldest is forgotten first.
 * Keys longer than 256 characters are kept as a digest (memo-key.ts), so one entry counts at
 * most 320 bytes: 1 MiB holds at least 3,200 URLs, and about 5,000 of a typical 150-character
 * cache key (the count this memo was bounded by before).
 */
export const MAX_PASS_BYTES = 1024 * 1024

/** What one entry costs besides its key: the Map slot and the number (a V8 estimate). */
const ENTRY_OVERHEAD = 64

// Memo key → end of the pass window. Insertion order is eviction order.
const passes = new Map<string, number>()
let passBytes = 0

const entryBytes = (key: string) => key.length + ENTRY_OVERHEAD

function forgetPass(key: string): void {
  if (passes.delete(key)) passBytes -= entryBytes(key)
}

/**
 * True when the response itself forbids sharing, whatever the request was: by the directives
 * this cache obeys (a targeted `CDN-Cache-Control` first, RFC 9213). A `no-store` with
 * `must-understand` is left to `decideStorage`, which knows the status (RFC 9111 §5.2.2.3).
 */
export function forbidsSharing(headers: Headers): boolean {
  if (headers.has('set-cookie')) return true
  const { directives } = cacheDirectives((name) => headers.get(name))
  if (directives.private !== undefined) return true
  return directives['no-store'] !== undefined && directives['must-understand'] === undefined
}

/** True while `key` is in its pass window. */
export function isPassing(key: string, now: number): boolean {
  const short = memoKey(key)
  const until = passes.get(short)
  if (until === undefined) return false
  if (until > now) return true
  forgetPass(short)
  return false
}

/**
 * Starts or ends the pass window of `key` from an origin response; answers whether the
 * response forbids sharing (then nothing about it needs judging: it is never stored).
 */
export function notePass(key: string, headers: Headers, now: number): boolean {
  const short = memoKey(key)
  forgetPass(short)
  if (!forbidsSharing(headers)) return false
  passes.set(short, now + PASS_MS)
  passBytes += entryBytes(short)
  for (const oldest of passes.keys()) {
    if (passBytes <= MAX_PASS_BYTES) break
    forgetPass(oldest)
  }
  return true
}

/** What the memo holds now: entries, and the bytes it counts against `MAX_PASS_BYTES`. */
export function passesNow(): { entries: number; bytes: number } {
  return { entries: passes.size, bytes: passBytes }
}

/** Forgets every pass (tests). */
export function clearPasses(): void {
  passes.clear()
  passBytes = 0
}
