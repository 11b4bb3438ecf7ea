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
  return normalizedPrefixes(prefixes).some((p) => lower === p || lower.startsWith(`${p}/`))
}

/** Each list's prefixes lower-cased and without trailing slashes, worked out once per list. */
const normalized = new WeakMap<readonly string[], readonly string[]>()

function normalizedPrefixes(prefixes: readonly string[]): readonly string[] {
  let list = normalized.get(prefixes)
  if (list === undefined) {
    list = prefixes.map((prefix) => prefix.toLowerCase().replace(/\/+$/, ''))
    normalized.set(prefixes, list)
  }
  return list
}

/**
 * True when the request belongs on the primary: an unsafe method, or a write path (admin,
 * login) whatever the method, since those pages read what the primary's database just took.
 * The path is matched as origins route it (`normalizedRoutePath`), as the cache's bypass is.
 */
export function isWrite(method: string, path: string, writes: Settings['writes']): boolean {
  return isUnsafe(method) || underAny(normalizedRoutePath(path), writes.paths)
}
