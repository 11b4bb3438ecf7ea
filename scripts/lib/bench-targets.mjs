/**
 * The things the benchmark drives, each in its own process so its CPU time can be read alone:
 * Workers under workerd (Miniflare API, listening socket wired straight to the Worker), the
 * origin as a child process, and nginx as a reverse proxy when it is installed.
 */
import { execFileSync, spawn } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Miniflare } from 'miniflare'
import { childPids, HAS_PROC } from './bench-proc.mjs'

/**
 * @typedef {object} Target
 * @property {string} name
 * @property {string} url Base URL, no trailing slash.
 * @property {number[]} pids Processes whose CPU time counts as the target's.
 * @property {() => Promise<void>} close
 */

const ORIGIN_SCRIPT = fileURLToPath(new URL('./bench-origin.mjs', import.meta.url))

/**
 * Starts the bench origin as a child process.
 * @returns {Promise<Target>}
 */
export async function startOriginProcess() {
  const child = spawn(process.execPath, [ORIGIN_SCRIPT], { stdio: ['ignore', 'pipe', 'inherit'] })
  const line = await new Promise((resolve, reject) => {
    let buffer = ''
    child.stdout.on('data', (chunk) => {
      buffer += chunk
      const end = buffer.indexOf('\n')
      if (end >= 0) resolve(buffer.slice(0, end))
    })
    child.once('exit', (code) => reject(new Error(`bench origin exited (${code})`)))
  })
  const { url } = JSON.parse(line)
  return {
    name: 'origin',
    url,
    pids: [/** @type {number} */ (child.pid)],
    close: () => stopChild(child, 'SIGTERM'),
  }
}

/**
 * Signals a child process and resolves once it has exited (at once if it already has).
 * @param {import('node:child_process').ChildProcess} child
 * @param {NodeJS.Signals} signal
 * @returns {Promise<void>}
 */
function stopChild(child, signal) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    child.once('exit', () => resolve())
    child.kill(signal)
  })
}

/**
 * Runs one Worker under workerd through the Miniflare API, with a direct socket on 127.0.0.1 (no
 * Miniflare entry Worker, no request logging in between) and the Worker's output discarded.
 * @param {{ name: string, scriptPath: string, bindings?: Record<string, string>,
 *   kv?: boolean, onOutput?: (line: string) => void }} options
 * @returns {Promise<Target & { mf: Miniflare }>}
 */
export async function startWorker({ name, scriptPath, bindings = {}, kv = false, onOutput }) {
  const before = new Set(childPids(process.pid, 'workerd'))
  const mf = new Miniflare({
    name,
    scriptPath,
    modules: true,
    compatibilityDate: '2026-03-01',
    ...(kv ? { kvNamespaces: ['HEALTH'] } : {}),
    bindings,
    unsafeDirectSockets: [{ host: '127.0.0.1', port: 0 }],
    logRequests: false,
    /**
     * @param {import('node:stream').Readable} stdout
     * @param {import('node:stream').Readable} stderr
     */
    handleRuntimeStdio(stdout, stderr) {
      for (const stream of [stdout, stderr]) {
        stream.setEncoding('utf8')
        stream.on('data', (/** @type {string} */ chunk) => {
          if (onOutput) for (const line of String(chunk).split('\n')) if (line) onOutput(line)
        })
      }
    },
  })
  await mf.ready
  const url = (await mf.unsafeGetDirectURL(name)).toString().replace(/\/$/, '')
  const pids = childPids(process.pid, 'workerd').filter((pid) => !before.has(pid))
  // Without /proc (macOS) there is no pid to find: fine for the drill, which reads no CPU time.
  if (HAS_PROC && pids.length !== 1)
    throw new Error(`${name}: expected one new workerd process, saw ${pids}`)
  return { name, url, pids, mf, close: () => mf.dispose() }
}

/** A TCP port that was free a moment ago (nothing listens on it now). */
export async function freePort() {
  const server = createServer()
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)))
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  await new Promise((resolve) => server.close(() => resolve(undefined)))
  return port
}

/** nginx's version line, or undefined when it is not installed. */
export function nginxVersion() {
  try {
    const out = execFileSync('nginx', ['-v'], { encoding: 'utf8', stdio: 'pipe' })
    return out.trim() || 'nginx'
  } catch (error) {
    // `nginx -v` prints to stderr.
    const err = /** @type {{ stderr?: string, code?: string }} */ (error)
    return err.code === 'ENOENT' ? undefined : err.stderr?.trim() || undefined
  }
}

/**
 * nginx as a reverse proxy to `originUrl`, one worker process, access log off, upstream
 * keep-alive: the classic setup a blog would put in front of its origin.
 * @param {string} originUrl
 * @param {string} dir Scratch directory for its config and temp files.
 * @returns {Promise<Target>}
 */
export async function startNginx(originUrl, dir) {
  const port = await freePort()
  mkdirSync(join(dir, 'nginx'), { recursive: true })
  const prefix = join(dir, 'nginx')
  const user = process.getuid?.() === 0 ? 'user root;\n' : ''
  const conf = `${user}worker_processes 1;
daemon off;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${prefix}/body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  upstream origin { server ${new URL(originUrl).host}; keepalive 64; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffers 16 16k;
    }
  }
}
`
  const confPath = join(prefix, 'nginx.conf')
  writeFileSync(confPath, conf)
  const master = spawn('nginx', ['-p', prefix, '-c', confPath], { stdio: 'ignore' })
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 5_000
  for (;;) {
    try {
      const response = await fetch(`${url}/`)
      await response.arrayBuffer()
      break
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`nginx did not start: ${error}`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
  // The master only supervises: the worker process does the proxying.
  const workers = childPids(/** @type {number} */ (master.pid))
  return {
    name: 'nginx',
    url,
    pids: workers,
    // SIGTERM: fast shutdown (SIGQUIT would wait for idle keep-alive connections).
    close: () => stopChild(master, 'SIGTERM'),
  }
}
