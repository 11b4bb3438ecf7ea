import type { Config } from './config'

/** Bindings, variables and secrets the Worker is given (see ../shared/DESIGN.md). */
export interface Env {
  /** Health snapshot and admin overrides (drain, purge generation). */
  HEALTH: KVNamespace
  /** Optional JSON array of origins; replaces the list from `origins/` when set. */
  ORIGINS?: string
  /** Optional JSON object of settings; each section overrides its counterpart in `origins/`. */
  SETTINGS?: string
  /** `"true"` lets the `x-georoute-geo: lat,lon` header set the reader's location (demo, tests). */
  GEO_OVERRIDE?: string
  /** Bearer token for the admin API; unset disables it. */
  ADMIN_TOKEN?: string
  /** Secret webhook URL (Slack, Discord `/slack`, any JSON endpoint): a POST on each health change. */
  HEALTH_WEBHOOK_URL?: string
  /** Secret the reader cookies' signing key is derived from (HKDF); falls back to ADMIN_TOKEN. */
  COOKIE_SECRET?: string
  /** Optional Workers Analytics Engine dataset: one data point per request. */
  ANALYTICS?: AnalyticsEngineDataset
  /** Cloudflare zone id: with CF_API_TOKEN, a URL purge reaches every data center. */
  CF_ZONE_ID?: string
  /** Secret API token with the Zone › Cache Purge permission, for purging every data center. */
  CF_API_TOKEN?: string
}

/** The Hono app's environment: the bindings, and what its first middleware sets per request. */
export type AppEnv = { Bindings: Env; Variables: { config: Config; publicUrl: URL } }
