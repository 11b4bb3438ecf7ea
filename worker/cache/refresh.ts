/**
 * stale-while-revalidate (RFC 5861 §3): the reader got the stale copy; the entry is refreshed in
 * the background, once per entry per isolate at a time, however many readers see it stale.
 */
import { askOrigin, storeRefreshed, storeResponse } from './fill'
import { loadPolicy, refreshed } from './policy'
import { read, remove } from './store'
import type { CacheableRequest } from './types'

/** Revalidates the entry with `conditional` after the reader's answer (`ctx.waitUntil`). */
export function refreshLater(cacheable: CacheableRequest, conditional: Record<string, string>) {
  const task = once(cacheable.key, async () => {
    const outcome = await askOrigin(cacheable, conditional)
    // On failure the stale copy stays, and serves until its windows close.
    if (outcome.failed) {
      // Now possibly a live origin answer (a 5xx passed on as sent): release its body.
      void outcome.response.body?.cancel()
      return
    }
    if (outcome.response.status !== 304) {
      await storeResponse(cacheable, outcome, { forReader: false, supersedes: true }).storing
      return
    }
    void outcome.response.body?.cancel()
    // The reader took the body we read; read the entry again to store it with new headers.
    const current = await read(cacheable.key)
    if (!current) return
    const fresh = refreshed(
      loadPolicy(current.meta.policy).policy,
      cacheable.view,
      outcome.response.headers,
    )
    if (!fresh.matches) {
      await current.body?.cancel()
      await remove([cacheable.key])
      return
    }
    await storeRefreshed(cacheable, current.body, fresh.policy, current.meta.origin)
  })
  if (task) cacheable.context.ctx.waitUntil(task)
}

const refreshing = new Map<string, Promise<void>>()

/**
 * Runs `task` unless one is already running for `key` in this isolate: one background refresh
 * per entry at a time, however many readers see it stale. Answers the new task, or `undefined`.
 */
function once(key: string, task: () => Promise<void>): Promise<void> | undefined {
  if (refreshing.has(key)) return undefined
  const running = task()
    .catch((error) =>
      console.error(
        JSON.stringify({ message: 'georoute: background refresh failed', error: String(error) }),
      ),
    )
    .finally(() => refreshing.delete(key))
  refreshing.set(key, running)
  return running
}
