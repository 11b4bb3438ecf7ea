import { buildBundle } from '../../scripts/lib/bundle.mjs'
import { BUNDLE_DIR } from './harness'

/** Bundles the Worker once, exactly as `wrangler deploy` would, for every end-to-end test. */
export default function setup() {
  buildBundle(BUNDLE_DIR)
}
