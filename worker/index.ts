import app, { configFor } from './app'
import type { Env } from './env'
import { scheduled } from './health/scheduled'
import { serve, unhandled } from './pipeline'

/** True for the reserved paths that the Hono app answers (status page, JSON, admin API). */
const isReserved = (path: string) => path === '/__georoute' || path.startsWith('/__georoute/')

export default {
  // Proxied requests take the short way (no router on the hot path); reserved ones go to Hono.
  fetch(request: Request, env: Env, ctx: ExecutionContext): Response | Promise<Response> {
    try {
      const publicUrl = new URL(request.url)
      const path = publicUrl.pathname
      if (isReserved(path)) return app.fetch(request, env, ctx)
      const origin = publicUrl.origin
      const config = configFor(env, origin.slice(origin.indexOf('//') + 2))
      if (config instanceof Response) return config
      // `serve` never rejects.
      return serve(request, { env, ctx, config, publicUrl, path, origin })
    } catch (error) {
      return unhandled(error, request.method)
    }
  },
  // Cron (every minute): probe the origins, write health to KV when it changes.
  scheduled,
} satisfies ExportedHandler<Env>
