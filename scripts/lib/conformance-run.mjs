/**
 * One run of the cache-tests suite's client against georoute: the suite's server on 127.0.0.1,
 * georoute bundled as `wrangler deploy` builds it under workerd (Miniflare) in front of it, the
 * client, and everything stopped again on the way out (normal end, error, Ctrl-C).
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { startWorker } from './bench-targets.mjs'
import { buildBundle, ROOT } from './bundle.mjs'
import { runClient, startSuiteServer } from './conformance-suite.mjs'

/**
 * Runs every test, or only `only` (then the requests, responses and the Worker's own output are
 * printed as they come). Resolves with the client's output; exits the process on Ctrl-C.
 * @param {{ dir: string, only?: string, tests: number, timeoutMs: number,
 *   log: (line: string) => void }} options
 */
export async function runConformance({ dir, only, tests, timeoutMs, log }) {
  // Stopping runs once; whoever asks again waits for the same run. (Miniflare exits the process
  // on SIGINT itself: the suite's processes are also signalled on exit, see conformance-suite.mjs.)
  /** @type {(() => Promise<void>)[]} */
  const cleanups = []
  /** @type {Promise<void> | undefined} */
  let stopping
  const cleanUp = () => {
    stopping ??= (async () => {
      for (const stop of cleanups.splice(0).reverse()) await stop().catch(() => {})
    })()
    return stopping
  }
  let interrupted = false
  for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
    process.once(signal, () => {
      interrupted = true
      log(`\n${signal}: stopping…`)
      cleanUp().finally(() => process.exit(130))
    })
  }

  const scratch = join(ROOT, '.wrangler', 'conformance')
  mkdirSync(scratch, { recursive: true })
  try {
    log('bundling the Worker (wrangler deploy --dry-run)…')
    const script = buildBundle(join(scratch, 'bundle'))
    const server = await startSuiteServer({ dir, scratch, echo: Boolean(only) })
    cleanups.push(server.close)
    const worker = await startWorker({
      name: 'georoute',
      scriptPath: script,
      kv: true,
      // A single test also shows the Worker's own output: its error lines say why an attempt failed.
      ...(only ? { onOutput: (/** @type {string} */ line) => log(`[georoute] ${line}`) } : {}),
      bindings: {
        // One origin, primary (the suite's PUT /config/… calls are writes), shipped settings but
        // no request log lines: the suite's client output stays readable.
        ORIGINS: JSON.stringify([
          { id: 'cache-tests', url: server.url, lat: 50.11, lon: 8.68, primary: true },
        ]),
        SETTINGS: JSON.stringify({ logs: { sampleRate: 0 } }),
      },
    })
    cleanups.push(worker.close)
    log(`suite server ${server.url}, georoute ${worker.url}`)
    log(only ? `running ${only}…` : `running ${tests} tests…`)
    return await runClient({
      dir,
      base: worker.url,
      ...(only ? { only } : {}),
      timeoutMs,
      onAbort: (stop) => cleanups.push(stop),
    })
  } finally {
    await cleanUp()
    if (interrupted) process.exit(130)
  }
}
