import fileConfig from '../origins'
import { type ConfigResult, configFromVariable, validateConfig } from './config'
import type { Env } from './env'

// Validated once per isolate (per distinct ORIGINS value), never per request.
let memo: { source: string | undefined; result: ConfigResult } | undefined

/** The configuration in force: `ORIGINS` when set, else `origins/`. */
export function loadConfig(env: Pick<Env, 'ORIGINS'>): ConfigResult {
  const source = env.ORIGINS?.trim() ? env.ORIGINS : undefined
  if (memo && memo.source === source) return memo.result
  const result =
    source === undefined
      ? validateConfig(fileConfig.origins, fileConfig.settings)
      : configFromVariable(source, fileConfig.settings)
  memo = { source, result }
  return result
}
