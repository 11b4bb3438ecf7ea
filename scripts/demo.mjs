/**
 * `npm start`: georoute on one machine, no network needed.
 *
 * Starts three blog origins on 127.0.0.1 (Frankfurt, Virginia, Tokyo), runs the Worker under
 * `wrangler dev` with `ORIGINS` pointing at them and `GEO_OVERRIDE=true`, then sends one reader
 * from Paris, New York and Tokyo through it and shows which origin answered each.
 *
 * DEMO_SMOKE=1 does the same, then exits: 0 when each reader reached its own nearest origin.
 * DEMO_WRANGLER_CONFIG=path runs another wrangler config (e.g. a stub Worker) instead.
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { DEMO_ORIGINS, originsJson, startOrigin } from './lib/origin-server.mjs'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const HOST = '127.0.0.1'
const WORKER_PORT = 8787
/** @type {Record<string, number>} */
const ORIGIN_PORTS = { frankfurt: 8101, virginia: 8102, tokyo: 8103 }
// First start bundles the Worker and boots workerd: seconds on a laptop, longer on a cold CI box.
const READY_TIMEOUT_MS = 90_000
const SMOKE = process.env.DEMO_SMOKE === '1'
const WRANGLER_CONFIG = process.env.DEMO_WRANGLER_CONFIG

const READERS = [
  { name: 'Paris', geo: '48.86,2.35', nearest: 'frankfurt' },
  { name: 'New York', geo: '40.71,-74.01', nearest: 'virginia' },
  { name: 'Tokyo', geo: '35.68,139.69', nearest: 'tokyo' },
]

const color = process.stdout.isTTY && !process.env.NO_COLOR
/** @param {string} code */
const paint = (code) => (/** @type {string} */ text) =>
  color ? `\x1b[${code}m${text}\x1b[0m` : text
const bold = paint('1')
const dim = paint('2')
const green = paint('32')
const red = paint('31')

/** @type {Awaited<ReturnType<typeof startOrigin>>[]} */
const origins = []
/** @type {import('node:child_process').ChildProcess | undefined} */
let wrangler
/** @type {Promise<unknown> | undefined} */
let wranglerExited
let stopping = false
/** @type {string | undefined} */
let persistDir

/**
 * @typedef {{ name: string, geo: string, nearest: string }} Reader
 * @typedef {Reader & { status: string, origin: string, cache: string, ms: number, error?: string }} Visit
 */

function say(line = '') {
  process.stdout.write(`${line}\n`)
}

/**
 * Stops wrangler, then the origins, and exits with `code`. Safe to call more than once.
 * @param {number} code
 */
async function stop(code) {
  if (stopping) return
  stopping = true
  if (wrangler && wrangler.exitCode === null && wrangler.signalCode === null) {
    wrangler.kill('SIGTERM')
    // wrangler stops workerd on SIGTERM; SIGKILL only if it does not go within 5 s.
    const force = setTimeout(() => wrangler?.kill('SIGKILL'), 5000)
    await wranglerExited
    clearTimeout(force)
  }
  await Promise.all(origins.map((origin) => origin.close()))
  if (persistDir) rmSync(persistDir, { recursive: true, force: true })
  process.exit(code)
}

/**
 * Starts a demo origin on its fixed port, or on any free port when that one is taken.
 * @param {import('./lib/origin-server.mjs').DemoOrigin} spec
 */
async function startDemoOrigin(spec) {
  const port = ORIGIN_PORTS[spec.id] ?? 0
  try {
    return await startOrigin({ ...spec, port })
  } catch (error) {
    if (/** @type {NodeJS.ErrnoException} */ (error).code !== 'EADDRINUSE') throw error
    const origin = await startOrigin({ ...spec, port: 0 })
    say(dim(`port ${port} is taken: origin ${spec.id} uses ${origin.port} instead`))
    return origin
  }
}

/**
 * Resolves to `preferred` when it is free on HOST, else to a free port the OS picks.
 * @param {number} preferred
 * @returns {Promise<number>}
 */
function pickPort(preferred) {
  /** @type {(port: number) => Promise<number | undefined>} */
  const tryPort = (port) =>
    new Promise((resolve) => {
      const server = createServer()
      server.once('error', () => resolve(undefined))
      server.listen(port, HOST, () => {
        const address = server.address()
        server.close(() => resolve(typeof address === 'object' && address ? address.port : port))
      })
    })
  return tryPort(preferred).then(async (port) => port ?? (await tryPort(0)) ?? 0)
}

/**
 * Copies a stream to stdout line by line, prefixed, without wrangler's decorative lines.
 * @param {import('node:stream').Readable} stream
 */
function relay(stream) {
  const lines = createInterface({ input: stream })
  lines.on('line', (line) => {
    const text = line.replace(/\s+$/, '')
    if (text === '' || /^[\s─━╭╮╰╯│┌┐└┘]+$/.test(text)) return
    say(`${dim('wrangler │')} ${text}`)
  })
}

/**
 * Runs `wrangler dev` with the demo's variables; the demo stops when wrangler does.
 * @param {number} port
 * @param {string} originsVar
 * @param {string} adminToken
 */
function startWrangler(port, originsVar, adminToken) {
  const args = [
    'dev',
    '--ip',
    HOST,
    '--port',
    String(port),
    '--show-interactive-dev-session=false',
    '--persist-to',
    persistDir ?? '.wrangler/state',
    ...(WRANGLER_CONFIG ? ['--config', WRANGLER_CONFIG] : []),
    // `--var` splits KEY:VALUE at the first colon only, so JSON values pass through intact.
    '--var',
    `ORIGINS:${originsVar}`,
    '--var',
    'GEO_OVERRIDE:true',
    '--var',
    `ADMIN_TOKEN:${adminToken}`,
  ]
  const child = spawn(join(ROOT, 'node_modules', '.bin', 'wrangler'), args, {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      WRANGLER_SEND_METRICS: 'false',
      // No network: skip fetching a real `request.cf`; miniflare's placeholder (Austin, Texas) is used.
      CLOUDFLARE_CF_FETCH_ENABLED: 'false',
      ...(color ? { FORCE_COLOR: '1' } : {}),
    },
  })
  relay(child.stdout)
  relay(child.stderr)
  wranglerExited = new Promise((resolve) => child.once('exit', resolve))
  child.once('error', (error) => {
    say(red(`could not run wrangler: ${error.message}`))
    stop(1)
  })
  child.once('exit', (code, signal) => {
    if (stopping) return
    say(red(`wrangler exited (${signal ?? `code ${code}`}): stopping the demo`))
    stop(code || 1)
  })
  return child
}

/**
 * Polls the Worker until it answers anything, or fails after READY_TIMEOUT_MS.
 * @param {string} base
 */
async function waitForWorker(base) {
  const deadline = Date.now() + READY_TIMEOUT_MS
  while (Date.now() < deadline) {
    if (stopping) return false
    try {
      const response = await fetch(`${base}/__georoute/status`, {
        signal: AbortSignal.timeout(5000),
      })
      await response.arrayBuffer()
      return true
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 300))
    }
  }
  return false
}

/**
 * Sends one reader's request through the Worker and notes who answered.
 * @param {string} base
 * @param {Reader} reader
 * @returns {Promise<Visit>}
 */
async function visit(base, reader) {
  const started = performance.now()
  try {
    const response = await fetch(`${base}/`, {
      headers: { 'x-georoute-geo': reader.geo },
      redirect: 'manual',
      signal: AbortSignal.timeout(30_000),
    })
    await response.arrayBuffer()
    return {
      ...reader,
      status: String(response.status),
      origin: response.headers.get('x-georoute-origin') ?? '-',
      cache: response.headers.get('x-georoute-cache') ?? '-',
      ms: Math.round(performance.now() - started),
    }
  } catch (error) {
    return { ...reader, status: 'error', origin: '-', cache: '-', ms: 0, error: String(error) }
  }
}

/** @param {string[][]} rows */
function table(rows) {
  const widths = (rows[0] ?? []).map((_, i) =>
    Math.max(...rows.map((row) => stripAnsi(row[i] ?? '').length)),
  )
  return rows.map((row) =>
    row
      .map((cell, i) => cell + ' '.repeat((widths[i] ?? 0) - stripAnsi(cell).length))
      .join('  ')
      .trimEnd(),
  )
}

/** @param {string} text */
function stripAnsi(text) {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching terminal colour codes
  return text.replace(/\x1b\[\d+m/g, '')
}

/** @param {Visit[]} results */
function printResults(results) {
  const rows = [
    ['reader', 'x-georoute-geo', 'answered by', 'nearest', 'status', 'cache', 'time'].map(bold),
    ...results.map((r) => [
      r.name,
      r.geo,
      r.origin === r.nearest ? green(r.origin) : red(r.origin),
      r.nearest,
      r.status,
      r.cache,
      `${r.ms} ms`,
    ]),
  ]
  for (const line of table(rows)) say(`  ${line}`)
  for (const r of results) if (r.error) say(red(`  ${r.name}: ${r.error}`))
}

/**
 * @param {string} base
 * @param {string} adminToken
 */
function printBanner(base, adminToken) {
  say()
  say(bold(`georoute demo: the Worker on ${base}, in front of three local origins`))
  for (const origin of origins) {
    const spec = DEMO_ORIGINS.find((s) => s.id === origin.id)
    say(
      `  ${origin.id.padEnd(10)} ${origin.url}  ${spec?.label ?? ''}${spec?.primary ? ' (primary)' : ''}`,
    )
  }
  say()
  say('Be a reader somewhere else (GEO_OVERRIDE=true lets x-georoute-geo set the location):')
  const commands = READERS.map((r) => `curl -si -H 'x-georoute-geo: ${r.geo}' ${base}/`)
  const width = Math.max(...commands.map((c) => c.length))
  READERS.forEach((reader, i) => {
    say(`  ${commands[i]?.padEnd(width)}  ${dim(`# ${reader.name}`)}`)
  })
  say(dim(`  (without the header: wrangler's placeholder location, Austin, Texas)`))
  say()
  say(`Status page:  ${base}/__georoute/`)
  say(`Status JSON:  ${base}/__georoute/status`)
  say(`Run probes:   curl -s ${base}/cdn-cgi/handler/scheduled`)
  say(
    `Drain an origin (admin token for this run only):\n  curl -si -X POST -H 'authorization: Bearer ${adminToken}' ${base}/__georoute/origins/frankfurt/drain`,
  )
  say()
}

async function main() {
  process.once('SIGINT', () => {
    say('\nstopping…')
    stop(0)
  })
  process.once('SIGTERM', () => stop(0))

  for (const spec of DEMO_ORIGINS) origins.push(await startDemoOrigin(spec))
  const port = await pickPort(WORKER_PORT)
  if (port !== WORKER_PORT) say(dim(`port ${WORKER_PORT} is taken: the Worker uses ${port}`))
  const base = `http://${HOST}:${port}`
  // A fresh local KV per run: health and drains left by an earlier run would skew the routing.
  persistDir = mkdtempSync(join(tmpdir(), 'georoute-demo-'))
  const adminToken = randomBytes(12).toString('hex')
  wrangler = startWrangler(port, originsJson(origins, DEMO_ORIGINS), adminToken)

  if (!(await waitForWorker(base))) {
    if (!stopping)
      say(red(`the Worker did not answer on ${base} within ${READY_TIMEOUT_MS / 1000} s`))
    return stop(1)
  }
  const results = []
  for (const reader of READERS) results.push(await visit(base, reader))
  // Let wrangler's request log lines land before the banner, not in the middle of it.
  await new Promise((resolve) => setTimeout(resolve, 200))
  if (stopping) return

  printBanner(base, adminToken)
  say('The same three readers, sent just now:')
  printResults(results)
  say()
  if (SMOKE) {
    const ok = results.every((r) => r.status === '200' && r.origin === r.nearest)
    say(
      ok ? green('smoke: ok') : red('smoke: FAILED (each reader should reach its nearest origin)'),
    )
    return stop(ok ? 0 : 1)
  }
  say(dim('Ctrl-C stops the Worker and the origins.'))
}

main().catch((error) => {
  say(red(`demo failed: ${error?.stack ?? error}`))
  stop(1)
})
