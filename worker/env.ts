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
}
