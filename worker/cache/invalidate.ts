/**
 * RFC 9111 §4.4: a non-error answer to an unsafe method invalidates the target URI, and the
 * same-origin `Location`/`Content-Location` ones, in this data center (others keep their copy
 * until it expires or is purged).
 */
import { readOverrides } from '../overrides'
import type { ProxyOutcome } from '../proxy'
import type { OriginAnswer } from './decide'
import { cacheKey, normalizedUrl } from './key'
import type { CacheRules } from './rules'
import { remove } from './store'
import type { CacheContext } from './types'

/** The URLs an unsafe request's `answer` invalidates; none when it failed or was an error. */
export function invalidationTargets(publicUrl: URL, answer: OriginAnswer): URL[] {
  if (answer.failed || answer.status >= 400) return []
  const targets = [publicUrl]
  for (const name of ['location', 'content-location']) {
    const value = answer.headers.get(name)
    if (!value) continue
    try {
      const target = new URL(value, publicUrl)
      if (target.origin === publicUrl.origin) targets.push(target)
    } catch {
      // An unparsable header names nothing to invalidate.
    }
  }
  return targets
}

/** Deletes the entries an unsafe request's answer invalidates. */
export async function invalidate(
  outcome: ProxyOutcome,
  context: CacheContext,
  rules: CacheRules,
): Promise<void> {
  const { response } = outcome
  const answer = { failed: !!outcome.failed, status: response.status, headers: response.headers }
  const targets = invalidationTargets(context.publicUrl, answer)
  if (targets.length === 0) return
  const { purgeGeneration } = await readOverrides(context.env.HEALTH)
  const keys = targets.map((t) => cacheKey(normalizedUrl(t, rules.isIgnoredParam), purgeGeneration))
  await remove(keys)
}
