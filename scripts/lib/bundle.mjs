/** Builds the Worker bundle exactly as `wrangler deploy` would, for the bench, drill and e2e. */
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('../..', import.meta.url))

/**
 * Runs `wrangler deploy --dry-run --outdir <outdir>` in the project root.
 * @param {string} outdir
 * @returns {string} the path of the bundled `index.js`
 */
export function buildBundle(outdir) {
  execFileSync(
    join(ROOT, 'node_modules', '.bin', 'wrangler'),
    ['deploy', '--dry-run', '--outdir', outdir],
    {
      cwd: ROOT,
      stdio: 'pipe',
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false', NO_COLOR: '1' },
    },
  )
  return join(outdir, 'index.js')
}
