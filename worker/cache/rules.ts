import type { Settings } from '../config'
import { normalizedRoutePath } from '../paths'
import { globsMatcher } from './glob'
import type { CacheSettings } from './settings'

/** Why a request skips the cache entirely. */
export type BypassReason = 'disabled' | 'method' | 'path' | 'cookie'

/** The `settings.cache` rules compiled once per configuration: pure, cheap per request. */
export interface CacheRules {
  settings: CacheSettings
  /** True for a query parameter dropped from the key (tracking). */
  isIgnoredParam(name: string): boolean
  /** Why this GET/HEAD must not touch the cache, or `undefined` when it may. */
  bypass(headers: Headers, path: string): BypassReason | undefined
  /** Seconds of freshness for a response that says nothing about caching, or `undefined`. */
  defaultTtl(path: string, contentType: string | null): number | undefined
}

const escapeRegExp = (s: string) => s.replace(/[.+?^$()|[\]\\]/g, '\\$&')

/**
 * Matches a path equal to one of the prefixes or below it (segment-aligned, like `writes.paths`).
 * Literal alternatives only, anchored at the start: no backtracking to fear.
 */
function prefixesRegExp(prefixes: readonly string[]): RegExp {
  const parts = prefixes.map((p) => escapeRegExp(p.replace(/\/+$/, '')).replace(/[{}*]/g, '\\$&'))
  if (parts.length === 0) return /(?!)/
  return new RegExp(`^(?:${parts.join('|')})(?:/|$)`, 'i')
}

/** The path as the origin will read it: percent-decoded, so `/wp%2Dadmin` is `/wp-admin`. */
export function decodedPath(pathname: string): string {
  try {
    return decodeURIComponent(pathname)
  } catch {
    return pathname
  }
}

/** Names of the cookies in a `Cookie` header. */
export function cookieNames(header: string): string[] {
  const names: string[] = []
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    const name = (eq < 0 ? part : part.slice(0, eq)).trim()
    if (name) names.push(name)
  }
  return names
}

// A page at a path that names another file type (`/account/x.css`) is a path confusion, not an
// asset: no default freshness then, so only the response's own headers can make it cacheable.
const PAGE_EXTENSIONS = new Set(['html', 'htm', 'xhtml', 'shtml', 'php', 'asp', 'aspx', 'jsp'])
const HTML_TYPE = /^\s*(?:text\/html|application\/xhtml\+xml)\b/i

function looksLikeOtherFile(path: string): boolean {
  const last = path.slice(path.lastIndexOf('/') + 1)
  const ext = /\.([a-z0-9]{1,8})$/i.exec(last)?.[1]
  return ext !== undefined && !PAGE_EXTENSIONS.has(ext.toLowerCase())
}

/** Compiles the cache rules; write paths always bypass too (they read the primary's database). */
export function compileRules(settings: Pick<Settings, 'cache' | 'writes'>): CacheRules {
  const cache = settings.cache
  // Globs are matched without RegExps (worker/cache/glob.ts): readers choose the inputs.
  const isIgnoredParam = globsMatcher(cache.ignoredParams)
  const bypassPath = prefixesRegExp([...cache.bypassPaths, ...settings.writes.paths])
  const isBypassCookie = globsMatcher(cache.bypassCookies)
  const ttls = cache.defaultTtls.map((rule) => ({
    path: globsMatcher([rule.path]),
    types: rule.types?.map((t) => t.toLowerCase()),
    seconds: rule.seconds,
  }))
  return {
    settings: cache,
    isIgnoredParam,
    bypass(headers, path) {
      if (!cache.enabled) return 'disabled'
      if (bypassPath.test(normalizedRoutePath(path))) return 'path'
      const cookies = headers.get('cookie')
      // A logged-in reader. (A pinned one bypasses too, but only once the pin is verified:
      // worker/pipeline.ts checks it before the cache.)
      if (cookies && cookieNames(cookies).some(isBypassCookie)) return 'cookie'
      return undefined
    },
    defaultTtl(path, contentType) {
      const type = contentType?.toLowerCase() ?? ''
      if (HTML_TYPE.test(type) && looksLikeOtherFile(path)) return undefined
      const rule = ttls.find(
        (r) => r.path(path) && (!r.types || r.types.some((t) => type.startsWith(t))),
      )
      return rule?.seconds
    },
  }
}

const memo = new WeakMap<object, CacheRules>()

/** The compiled rules for a validated configuration's settings (memoized per settings object). */
export function cacheRules(settings: Settings): CacheRules {
  let rules = memo.get(settings)
  if (!rules) {
    rules = compileRules(settings)
    memo.set(settings, rules)
  }
  return rules
}
