import app from './app'
import type { Env } from './env'
import { scheduled } from './health/scheduled'

export default {
  fetch: app.fetch,
  // Cron (every minute): probe the origins, write health to KV when it changes.
  scheduled,
} satisfies ExportedHandler<Env>
