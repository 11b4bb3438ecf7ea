import { execFileSync } from 'node:child_process'
import { BUNDLE_DIR } from './harness'

/** Bundles the Worker once, exactly as `wrangler deploy` would, for every end-to-end test. */
export default function setup() {
  execFileSync('node_modules/.bin/wrangler', ['deploy', '--dry-run', '--outdir', BUNDLE_DIR], {
    stdio: 'pipe',
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', NO_COLOR: '1' },
  })
}
