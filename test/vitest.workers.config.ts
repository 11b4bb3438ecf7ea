import { defineWorkersProject } from '@cloudflare/vitest-pool-workers/config'

export default defineWorkersProject({
  test: {
    name: 'workers',
    include: ['unit/**/*.test.ts', 'integration/**/*.test.ts'],
    poolOptions: {
      workers: {
        singleWorker: true,
        wrangler: { configPath: '../wrangler.toml' },
        miniflare: {
          bindings: { GEO_OVERRIDE: 'true', ADMIN_TOKEN: 'test-admin-token' },
        },
      },
    },
  },
})
