/**
 * `npm run check`: validates the origin list the Worker will use and prints it.
 *
 *   npm run check                      origins/index.ts, or the ORIGINS variable when it is set
 *   npm run check -- origins.json      a JSON file: an array of origins (like ORIGINS), or
 *                                      { "origins": [...], "settings": {...} }
 *
 * Exits 1 and prints every problem, one per line, when the list is invalid.
 */
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import {
  type Config,
  type ConfigInput,
  type ConfigResult,
  configFromVariable,
  validateConfig,
} from '../worker/config'
import { probePlan } from '../worker/health/plan'

const USAGE = `usage: npm run check [-- <origins.json>]

Validates origins/index.ts (or the ORIGINS variable, or the JSON file given) and prints the
origins the Worker would route to.`

type Checked = { source: string; result: ConfigResult }

async function loadFileConfig(): Promise<ConfigInput | string> {
  try {
    const module = (await import('../origins/index')) as { default?: ConfigInput }
    const config = module.default
    if (typeof config !== 'object' || config === null || !('origins' in config)) {
      return 'origins/index.ts: must `export default defineConfig({ origins: [...] })`'
    }
    return config
  } catch (error) {
    return `origins/index.ts: cannot be loaded (${(error as Error).message})`
  }
}

/** Reads a JSON file holding an origin array or `{ origins, settings }`. */
function checkJsonFile(path: string, fileSettings: unknown): Checked | string {
  // npm runs scripts from the package root; INIT_CWD is where the user typed the command.
  const fullPath = resolve(process.env.INIT_CWD ?? process.cwd(), path)
  let text: string
  try {
    text = readFileSync(fullPath, 'utf8')
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException
    return `${path}: cannot be read (${code === 'ENOENT' ? 'no such file' : message})`
  }
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (error) {
    return `${path}: not valid JSON (${(error as Error).message})`
  }
  if (Array.isArray(data)) return { source: path, result: validateConfig(data, fileSettings) }
  if (typeof data === 'object' && data !== null && 'origins' in data) {
    const { origins, settings } = data as { origins: unknown; settings?: unknown }
    return { source: path, result: validateConfig(origins, settings ?? fileSettings) }
  }
  return `${path}: must be a JSON array of origins or { "origins": [...], "settings": {...} }`
}

/** Lays rows out in columns two spaces apart. */
function columns(rows: string[][]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => row[i]?.length ?? 0))) ?? []
  return rows.map((row) =>
    row
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd(),
  )
}

/** The cron's plan: rounds per run, subrequests against the budget, KV writes per day. */
function describeHealth(config: Config): string[] {
  const health = config.settings.health
  const plan = probePlan(config.origins, health)
  if (!plan.fits) {
    return [
      `warning: health probes: none; ${plan.origins} origins need more than ` +
        `settings.health.subrequestBudget (${plan.budget}) subrequests per cron run ` +
        '(raise it on a paid plan)',
    ]
  }
  const lines = [
    `health probes: every ${health.intervalMs / 1000} s, ${plan.rounds} rounds per cron run ` +
      `(down after ${health.fall} failures, up after ${health.rise} successes); ` +
      `subrequests per run: at most ${plan.subrequests} of ${plan.budget} ` +
      `(${plan.probes} probes, ${plan.kvReads} KV read, ${plan.kvWrites} KV writes, ` +
      `${plan.webhooks} webhook${plan.webhooks === 1 ? '' : 's'})`,
    `KV writes: about ${plan.writesPerDay.steady}/day when steady, ` +
      `at most ${plan.writesPerDay.atMost}/day while origins flap (free plan: 1,000/day)`,
  ]
  if (plan.writesPerDay.atMost > 1000) {
    lines.push('warning: raise settings.health.minWriteIntervalMs to stay under 1,000 writes/day')
  }
  return lines
}

function describeConfig(config: Config): string[] {
  const rows = [
    ['id', 'label', 'url', 'lat', 'lon', 'primary', 'weight', 'probe'],
    ...config.origins.map((o) => [
      o.id,
      o.label ?? '',
      o.url,
      String(o.lat),
      String(o.lon),
      o.primary ? 'yes' : '',
      String(o.weight),
      `${o.probe.method === 'GET' ? '' : `${o.probe.method} `}${o.probe.path}`,
    ]),
  ]
  const routing = config.settings.routing
  const order = routing.defaultOrder?.length
    ? routing.defaultOrder.join(', ')
    : 'list order (used when the reader cannot be located)'
  return [
    ...columns(rows).map((line) => `  ${line}`),
    '',
    `writes (POST, PUT, PATCH, DELETE) go to: ${config.primary?.id ?? 'the nearest origin (no primary)'}`,
    `settings: attempt timeout ${routing.attemptTimeoutMs} ms, deadline ${routing.deadlineMs} ms, ` +
      `max attempts ${routing.maxAttempts}, Retry-After ${routing.retryAfterSeconds} s, ` +
      `default order: ${order}`,
    ...describeHealth(config),
  ]
}

async function main(args: string[]): Promise<number> {
  if (args.includes('-h') || args.includes('--help')) {
    console.log(USAGE)
    return 0
  }
  if (args.length > 1) {
    console.error(USAGE)
    return 2
  }
  const fileConfig = await loadFileConfig()
  if (typeof fileConfig === 'string') {
    console.error(fileConfig)
    return 1
  }
  const [path] = args
  const variable = process.env.ORIGINS
  let checked: Checked
  if (path !== undefined) {
    const fromFile = checkJsonFile(path, fileConfig.settings)
    if (typeof fromFile === 'string') {
      console.error(fromFile)
      return 1
    }
    checked = fromFile
  }
  // Same rule as the Worker (worker/config-loader.ts): a blank ORIGINS counts as unset.
  else if (variable?.trim()) {
    checked = {
      source: 'ORIGINS variable',
      result: configFromVariable(variable, fileConfig.settings),
    }
  } else {
    const result = validateConfig(fileConfig.origins, fileConfig.settings)
    checked = { source: 'origins/index.ts', result }
  }

  const { source, result } = checked
  if (!result.ok) {
    const count = result.errors.length
    console.error(`${source}: invalid, ${count} problem${count === 1 ? '' : 's'}:`)
    for (const error of result.errors) console.error(error)
    return 1
  }
  const count = result.config.origins.length
  console.log(`${source}: ${count} origin${count === 1 ? '' : 's'}, valid`)
  console.log('')
  for (const line of describeConfig(result.config)) console.log(line)
  return 0
}

process.exitCode = await main(process.argv.slice(2))
