import type { Settings } from './config'
import { normalizedRoutePath } from './paths'

// RFC 9110 §9.2.1: only these are safe. Everything else (POST, PUT, PATCH, DELETE, and WebDAV's
// MKCOL, LOCK, MOVE, ...) may change state, so it is treated as a write.
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS'])

/** True for an unsafe method: never retried elsewhere, never cached, sent to the primary. */
export function isUnsafe(method: string): boolean {
  return !SAFE.has(method.toUpperCase())
}

/** True when `path` is one of `prefixes` or below one (case-insensitive, segment-aligned). */
export function underAny(path: string, prefixes: readonly string[]): boolean {
  const lower = path.toLowerCase()
  return prefixes.some((prefix) => {
    const p = prefix.toLowerCase().replace(/\/+$/, '')
    return lower === p || lower.startsWith(`${p}/`)
  })
}

/**
 * True when the request belongs on the primary: an unsafe method, or a write path (admin,
 * login) whatever the method, since those pages read what the primary's database just took.
 * The path is matched as origins route it (`normalizedRoutePath`), as the cache's bypass is.
 */
export function isWrite(method: string, path: string, writes: Settings['writes']): boolean {
  return isUnsafe(method) || underAny(normalizedRoutePath(path), writes.paths)
}
