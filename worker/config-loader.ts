import fileConfig from '../origins'
import { type ConfigResult, validateConfig } from './config'
import type { Env } from './env'

// Validated once per isolate (per distinct ORIGINS/SETTINGS values), never per request.
let memo:
  | { origins: string | undefined; settings: string | undefined; result: ConfigResult }
  | undefined

function parseJson(
  name: string,
  text: string,
): { ok: true; value: unknown } | { ok: false; error: string } {
  try {
    return { ok: true, value: JSON.parse(text) }
  } catch (error) {
    return { ok: false, error: `${name}: not valid JSON (${(error as Error).message})` }
  }
}

/** File settings with each section of the `SETTINGS` variable laid over its counterpart. */
function mergeSettings(file: Record<string, unknown>, variable: unknown): unknown {
  if (typeof variable !== 'object' || variable === null || Array.isArray(variable)) return variable
  const merged: Record<string, unknown> = { ...file }
  for (const [section, value] of Object.entries(variable)) {
    const base = file[section]
    merged[section] =
      typeof base === 'object' && base !== null && typeof value === 'object' && value !== null
        ? { ...base, ...value }
        : value
  }
  return merged
}

const present = (value: string | undefined) => (value?.trim() ? value : undefined)

/**
 * The configuration in force: the `ORIGINS` variable (JSON array) replaces the list from
 * `origins/`; the `SETTINGS` variable (JSON object) overrides settings section by section.
 */
export function loadConfig(env: Pick<Env, 'ORIGINS' | 'SETTINGS'>): ConfigResult {
  const origins = present(env.ORIGINS)
  const settings = present(env.SETTINGS)
  if (memo && memo.origins === origins && memo.settings === settings) return memo.result
  const errors: string[] = []
  let list: unknown = fileConfig.origins
  let merged: unknown = fileConfig.settings ?? {}
  if (origins !== undefined) {
    const parsed = parseJson('ORIGINS', origins)
    if (parsed.ok) list = parsed.value
    else errors.push(parsed.error)
  }
  if (settings !== undefined) {
    const parsed = parseJson('SETTINGS', settings)
    if (parsed.ok)
      merged = mergeSettings((fileConfig.settings ?? {}) as Record<string, unknown>, parsed.value)
    else errors.push(parsed.error)
  }
  const result: ConfigResult =
    errors.length > 0 ? { ok: false, errors } : validateConfig(list, merged)
  memo = { origins, settings, result }
  return result
}
