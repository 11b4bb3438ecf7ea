import app, { configFor, unhandled } from './app'
import type { Env } from './env'
import { scheduled } from './health/scheduled'
import { serve } from './pipeline'

/** True for the reserved paths that the Hono app answers (status page, JSON, admin API). */
const isReserved = (path: string) => path === '/__georoute' || path.startsWith('/__georoute/')

export default {
  // Proxied requests take the short way (no router on the hot path); reserved ones go to Hono.
  async fetch(request: Request, env: Env, ctx: ExecutionContext) {
    const publicUrl = new URL(request.url)
    const path = publicUrl.pathname
    if (isReserved(path)) return app.fetch(request, env, ctx)
    try {
      const config = configFor(env, publicUrl)
      if (config instanceof Response) return config
      return await serve(request, { env, ctx, config, publicUrl, path })
    } catch (error) {
      return unhandled(error)
    }
  },
  // Cron (every minute): probe the origins, write health to KV when it changes.
  scheduled,
} satisfies ExportedHandler<Env>
