/**
 * The public cache-tests suite (http-tests/cache-tests, behind cache-tests.fyi) as
 * `npm run conformance` drives it: where the checkout is, its tests and result logic, its origin
 * server and its command-line client, each run unmodified from the checkout.
 */
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { freePort } from './bench-targets.mjs'

/** What to do when `CACHE_TESTS_DIR` is missing or unusable. */
export const SUITE_HELP = `npm run conformance needs a checkout of the public cache-tests suite, outside this repository:

  git clone https://github.com/http-tests/cache-tests.git ../cache-tests
  (cd ../cache-tests && npm install)
  CACHE_TESTS_DIR=$PWD/../cache-tests npm run conformance

The suite is never vendored nor an npm dependency of georoute.`

/**
 * The checkout named by `dir` when it is usable (dependencies installed, tests present).
 * @param {string | undefined} dir
 * @returns {{ ok: true, dir: string } | { ok: false, problem: string }}
 */
export function locateSuite(dir) {
  if (!dir) return { ok: false, problem: 'CACHE_TESTS_DIR is not set' }
  if (!existsSync(join(dir, 'tests', 'index.mjs')))
    return { ok: false, problem: `${dir} has no tests/index.mjs (not a cache-tests checkout?)` }
  if (!existsSync(join(dir, 'node_modules')))
    return { ok: false, problem: `${dir} has no node_modules (run npm install there)` }
  return { ok: true, dir }
}

/**
 * @typedef {object} SuiteTest
 * @property {string} id
 * @property {string} name
 * @property {'required' | 'optimal' | 'check'} [kind]
 * @property {boolean} [browser_only]
 * @property {string[]} [depends_on]
 */
/** @typedef {{ id: string, name: string, tests: SuiteTest[] }} SuiteSection */
/** @typedef {true | [string, string]} RawResult A test's entry in the client's JSON output. */
/** @typedef {{ name: string, type: string, version: string, file: string, results: Record<string, RawResult> }} Published */

/**
 * The suite's tests, its own result logic and the results it publishes (results/index.mjs).
 * @param {string} dir
 */
export async function loadSuite(dir) {
  const load = (/** @type {string} */ path) => import(pathToFileURL(join(dir, path)).href)
  /** @type {SuiteSection[]} */
  const sections = (await load('tests/index.mjs')).default
  const resultsLib = await load('test-engine/lib/results.mjs')
  /** @type {Record<string, [string, string, string]>} */
  const resultTypes = resultsLib.resultTypes
  /** @type {Omit<Published, 'results'>[]} */
  const index = (await load('results/index.mjs')).default
  const published = index.map((item) => ({
    ...item,
    /** @type {Record<string, RawResult>} */
    results: JSON.parse(readFileSync(join(dir, 'results', item.file), 'utf8')),
  }))
  /**
   * The suite's verdict name for one test (`pass`, `fail`, `optional_fail`, `yes`, `no`,
   * `setup_fail`, `harness_fail`, `retry`, `untested`), as its command-line client computes
   * it: `determineTestResult` without dependencies (a test is judged on its own result).
   * @param {string} id
   * @param {Record<string, RawResult>} results
   * @returns {string}
   */
  const verdict = (id, results) => {
    const symbol = resultsLib.determineTestResult(sections, id, results, false)
    return Object.keys(resultTypes).find((name) => resultTypes[name] === symbol) ?? 'unknown'
  }
  return { sections, published, verdict, commit: gitHead(dir) }
}

/**
 * The commit checked out in `dir`, or `unknown`.
 * @param {string} dir
 */
export function gitHead(dir) {
  try {
    return execFileSync('git', ['-C', dir, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim()
  } catch {
    return 'unknown'
  }
}

const LOOPBACK = fileURLToPath(new URL('./conformance-loopback.mjs', import.meta.url))

/** The suite's processes still running: signalled on any exit, even a process.exit() elsewhere. */
const running = new Set()
process.on('exit', () => {
  for (const child of running) child.kill('SIGTERM')
})

/**
 * Tracks a child process until it exits.
 * @param {import('node:child_process').ChildProcess} child
 */
function track(child) {
  running.add(child)
  child.once('exit', () => running.delete(child))
  return child
}

/**
 * Stops a child process (and waits for it) unless it already exited.
 * @param {import('node:child_process').ChildProcess} child
 * @returns {Promise<void>}
 */
function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    child.once('exit', () => resolve())
    child.kill('SIGTERM')
  })
}

/**
 * Starts the suite's own origin server (test-engine/server/server.mjs, unmodified) on a free
 * port of 127.0.0.1, configured through the npm config variables its package.json declares.
 * With `echo`, what it logs (the requests it received, for a single test) goes to stdout.
 * @param {{ dir: string, scratch: string, echo?: boolean }} options
 */
export async function startSuiteServer({ dir, scratch, echo = false }) {
  const port = await freePort()
  const child = track(
    spawn(
      process.execPath,
      ['--no-warnings', '--import', pathToFileURL(LOOPBACK).href, 'test-engine/server/server.mjs'],
      {
        cwd: dir,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          ...process.env,
          npm_config_protocol: 'http',
          npm_config_port: String(port),
          npm_config_pidfile: join(scratch, 'server.pid'),
        },
      },
    ),
  )
  let output = ''
  child.stderr?.on('data', (chunk) => {
    output += chunk
  })
  await new Promise((resolve, reject) => {
    child.stdout?.on('data', (chunk) => {
      output += chunk
      if (output.includes('Listening on')) resolve(undefined)
    })
    child.once('exit', (code) =>
      reject(new Error(`the suite's server exited (${code}) before listening:\n${output}`)),
    )
  })
  // Keep draining: the server logs every request of a dumped test.
  if (echo) child.stdout?.on('data', (chunk) => process.stdout.write(chunk))
  else child.stdout?.resume()
  return { url: `http://127.0.0.1:${port}`, pid: child.pid, close: () => stop(child) }
}

/**
 * Runs the suite's command-line client (test-engine/cli.mjs, unmodified) against `base`: every
 * test, or the one named by `only` (then its requests and responses are dumped to the console).
 * Killed after `timeoutMs`.
 * @param {{ dir: string, base: string, only?: string, timeoutMs: number,
 *   onAbort?: (stop: () => Promise<void>) => void }} options
 * @returns {Promise<{ code: number | null, stdout: string, stderr: string, timedOut: boolean }>}
 */
export function runClient({ dir, base, only, timeoutMs, onAbort }) {
  const child = track(
    spawn(process.execPath, ['--no-warnings', 'test-engine/cli.mjs'], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Both spellings: the client falls back to npm_package_config_* when npm_config_* is empty,
      // and under `npm run` here those are georoute's package config (which has none).
      env: {
        ...process.env,
        npm_config_base: base,
        npm_package_config_base: base,
        npm_config_id: only ?? '',
        npm_package_config_id: only ?? '',
      },
    }),
  )
  onAbort?.(() => stop(child))
  let stdout = ''
  let stderr = ''
  child.stdout?.setEncoding('utf8').on('data', (chunk) => {
    stdout += chunk
    if (only) process.stdout.write(chunk)
  })
  child.stderr?.setEncoding('utf8').on('data', (chunk) => {
    stderr += chunk
  })
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    child.kill('SIGKILL')
  }, timeoutMs)
  return new Promise((resolve) => {
    child.once('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr, timedOut })
    })
  })
}
