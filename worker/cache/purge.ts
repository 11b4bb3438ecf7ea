/**
 * `POST /__georoute/purge` (admin): `{ "urls": [...] }` deletes those entries here and, when a
 * zone id and an API token are configured, in every data center through Cloudflare's
 * purge-by-URL API; `{ "all": true }` bumps the purge generation that every key contains.
 */
import type { Settings } from '../config'
import type { Env } from '../env'
import { bumpPurgeGeneration, NO_OVERRIDES, OVERRIDES_KEY, parseOverrides } from '../overrides'
import { cacheKey, normalizedUrl } from './key'
import { forgetAll } from './memory'
import { cacheRules } from './rules'
import { remove } from './store'

/** Most URLs one purge call accepts. */
export const MAX_PURGE_URLS = 500

// Cloudflare's purge-by-URL takes at most 30 files per call on every plan.
const API_BATCH = 30

export interface PurgeContext {
  env: Env
  /** The public URL of the admin request: paths are resolved against it. */
  publicUrl: URL
  settings: Settings
}

/** A JSON answer and its HTTP status. */
export interface PurgeResult {
  status: 200 | 400 | 502
  body: Record<string, unknown>
}

type Parsed = { all: true } | { urls: URL[] } | { error: string }

/** Validates a purge body; URLs must be paths or absolute URLs on the public host. */
export function parsePurgeBody(body: unknown, publicUrl: URL): Parsed {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { error: 'body must be a JSON object: { "urls": [...] } or { "all": true }' }
  }
  const { urls, all, ...rest } = body as Record<string, unknown>
  const unknown = Object.keys(rest)
  if (unknown.length > 0) return { error: `unknown field "${unknown[0]}"` }
  if (all !== undefined) {
    if (all !== true) return { error: 'all: must be true' }
    if (urls !== undefined) return { error: 'give either "urls" or "all", not both' }
    return { all: true }
  }
  if (!Array.isArray(urls) || urls.length === 0) {
    return { error: 'urls: must be a non-empty array of paths or URLs' }
  }
  if (urls.length > MAX_PURGE_URLS) return { error: `urls: at most ${MAX_PURGE_URLS} per call` }
  const parsed: URL[] = []
  for (const [i, value] of urls.entries()) {
    if (typeof value !== 'string' || !/^(\/|https?:\/\/)/i.test(value)) {
      return { error: `urls[${i}]: must be a path starting with / or an http(s) URL` }
    }
    let url: URL
    try {
      url = new URL(value, publicUrl)
    } catch {
      return { error: `urls[${i}]: not a valid URL` }
    }
    if (url.host !== publicUrl.host) {
      return { error: `urls[${i}]: not on this blog's host (${publicUrl.host})` }
    }
    parsed.push(url)
  }
  return { urls: parsed }
}

/** The generation in KV right now: a purge must not trust a memo another isolate has moved on. */
async function currentGeneration(kv: KVNamespace): Promise<number> {
  const raw = await kv.get(OVERRIDES_KEY, 'json').catch(() => null)
  return (parseOverrides(raw) ?? NO_OVERRIDES).purgeGeneration
}

/** Calls Cloudflare's purge-by-URL for `files`, in batches. */
async function purgeEverywhere(
  zoneId: string,
  token: string,
  files: readonly string[],
): Promise<{ ok: true } | { ok: false; error: string }> {
  for (let i = 0; i < files.length; i += API_BATCH) {
    const response = await fetch(
      `https://api.cloudflare.com/client/v4/zones/${zoneId}/purge_cache`,
      {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ files: files.slice(i, i + API_BATCH) }),
      },
    ).catch((error: unknown) => error as Error)
    if (response instanceof Error) return { ok: false, error: response.message }
    const answer = (await response.json().catch(() => null)) as {
      success?: boolean
      errors?: { message?: string }[]
    } | null
    if (!response.ok || !answer?.success) {
      const reason = answer?.errors?.[0]?.message ?? `HTTP ${response.status}`
      return { ok: false, error: `Cloudflare purge API: ${reason}` }
    }
  }
  return { ok: true }
}

/** Runs a purge request; answers what was done, for the admin as JSON. */
export async function purge(body: unknown, context: PurgeContext): Promise<PurgeResult> {
  const { env, publicUrl, settings } = context
  const parsed = parsePurgeBody(body, publicUrl)
  if ('error' in parsed) return { status: 400, body: { error: parsed.error } }
  if ('all' in parsed) {
    const generation = await bumpPurgeGeneration(env.HEALTH)
    // The new generation makes every held copy unreachable here: free their memory now.
    forgetAll()
    return { status: 200, body: { purged: 'all', generation } }
  }
  const rules = cacheRules(settings)
  const generation = await currentGeneration(env.HEALTH)
  const urls = parsed.urls.map((url) => normalizedUrl(url, rules.isIgnoredParam))
  // Both schemes: a reader on http has entries of their own.
  const keys = urls.flatMap((url) => {
    const other = new URL(url)
    other.protocol = url.protocol === 'https:' ? 'http:' : 'https:'
    return [cacheKey(url, generation), cacheKey(other, generation)]
  })
  const deleted = await remove(keys)
  const zoneId = env.CF_ZONE_ID || settings.cache.purgeZoneId
  const token = env.CF_API_TOKEN
  const result = {
    urls: urls.map(String),
    deletedHere: deleted,
    everywhere: 'not configured (set CF_ZONE_ID and the CF_API_TOKEN secret)' as unknown,
  }
  if (!zoneId || !token) return { status: 200, body: result }
  const everywhere = await purgeEverywhere(zoneId, token, keys)
  result.everywhere = everywhere.ok ? 'purged' : { error: everywhere.error }
  return { status: everywhere.ok ? 200 : 502, body: result }
}
