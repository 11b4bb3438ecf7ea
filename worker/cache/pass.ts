/**
 * Hit-for-pass (Varnish's name): a URL whose origin said its response may never be shared
 * (`no-store`, `private`, `Set-Cookie`) skips the cache lookup for a while in this isolate, so
 * an uncacheable page costs no Cache API read per request. Any storable answer for it ends
 * the pass at once, so a page that becomes cacheable is cached on its next request.
 */
import { cacheDirectives } from './directives'

/** How long a URL skips the lookup after an unshareable answer. */
export const PASS_MS = 60_000

/** Bound on remembered URLs: the oldest is forgotten first. */
const MAX_ENTRIES = 5_000

const passes = new Map<string, number>()

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
  const until = passes.get(key)
  if (until === undefined) return false
  if (until > now) return true
  passes.delete(key)
  return false
}

/**
 * Starts or ends the pass window of `key` from an origin response; answers whether the
 * response forbids sharing (then nothing about it needs judging: it is never stored).
 */
export function notePass(key: string, headers: Headers, now: number): boolean {
  if (!forbidsSharing(headers)) {
    passes.delete(key)
    return false
  }
  passes.delete(key)
  passes.set(key, now + PASS_MS)
  if (passes.size > MAX_ENTRIES) {
    const oldest = passes.keys().next().value
    if (oldest !== undefined) passes.delete(oldest)
  }
  return true
}

/** Forgets every pass (tests). */
export function clearPasses(): void {
  passes.clear()
}
