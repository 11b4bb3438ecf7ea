import { defineConfig } from 'vitest/config'

// Two projects: everything that can run inside workerd does (unit + integration, through the
// Workers pool); end-to-end tests run in Node, start the real Worker under workerd (Miniflare)
// and real origin servers on 127.0.0.1.
export default defineConfig({
  test: {
    // Next to the summary: why any test was skipped (a browser missing on this machine, say).
    reporters: ['default', './test/e2e/skip-reasons.ts'],
    projects: ['test/vitest.workers.config.ts', 'test/vitest.e2e.config.ts'],
  },
})
