/**
 * `npm run lint` step: fails when the Worker's modules import each other in a cycle. Shared types
 * belong to the module that owns them (worker/env.ts, worker/cache/fast-hit.ts), so the import
 * graph reads one way: from the entry point down to pure modules.
 */
import { fileURLToPath } from 'node:url'
import { findCycles } from './lib/import-cycles.mjs'

const dir = fileURLToPath(new URL('../worker', import.meta.url))
const cycles = findCycles(dir)
if (cycles.length > 0) {
  console.error(`worker/ has ${cycles.length} import cycle(s):`)
  for (const cycle of cycles) console.error(`  ${cycle.join(' → ')}`)
  console.error('Move what both sides share into a module that imports neither.')
  process.exit(1)
}
console.log('worker/ has no import cycles')
