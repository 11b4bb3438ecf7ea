/**
 * Filling the cache from the origins: the shareable request they are asked (`askOrigin`), and
 * the writes of what `decideStorage` or a revalidation allows to be kept (`storeResponse`,
 * `storeRefreshed`). Thin: the decisions are in decide.ts, the Cache API calls in store.ts.
 */
import type CachePolicy from 'http-cache-semantics'
import type { ProxyOutcome } from '../proxy'
import { MAX_SHARED_FAILURE_BYTES, type SharedFailure } from './collapse'
import { decideStorage } from './decide'
import { isKeyed } from './key'
import { forbidsSharing } from './pass'
import { keepSeconds, policyRequest } from './policy'
import { decodedPath } from './rules'
import { type Meta, readUpTo, remove, write } from './store'
import type { CacheableRequest } from './types'

/** The shareable GET for the origin (a HEAD too: its answer fills the entry for both). */
export function askOrigin(
  cacheable: CacheableRequest,
  conditional: Record<string, string> = {},
): Promise<ProxyOutcome> {
  // No Request object and no copy of the headers: the proxy builds the origin's in one pass,
  // keeping only the reader's fields in the key (`shareableHeaders`) and adding `conditional`.
  const { headers } = cacheable.request
  const shared = { keep: isKeyed, add: conditional }
  return cacheable.fetchOrigin({ method: 'GET', headers, body: null, shared }, cacheable.url)
}

/**
 * Stores a full origin response when it may be kept, and answers the reader's share of its
 * body (`forReader` false: all of it goes to the cache). A response that may not be kept
 * replaces nothing but still retires the copy it superseded (`supersedes`). `stores` tells
 * whether `storing` writes an entry.
 */
export function storeResponse(
  cacheable: CacheableRequest,
  outcome: ProxyOutcome,
  { forReader, supersedes }: { forReader: boolean; supersedes: boolean },
): { body: ReadableStream | null; storing: Promise<unknown>; stores: boolean } {
  const { response } = outcome
  const { request, rules, url, key } = cacheable
  const decision = decideStorage({
    request: policyRequest(key, url, request.headers),
    readerCacheControl: request.headers.get('cache-control'),
    response,
    defaultTtl: rules.defaultTtl(decodedPath(url.pathname), response.headers.get('content-type')),
    heuristic: rules.settings,
    failed: !!outcome.failed,
    origin: outcome.origin?.id ?? null,
    staleIfErrorSeconds: rules.settings.staleIfErrorSeconds,
  })
  if (!decision.store) {
    if (!forReader) void response.body?.cancel()
    const storing = supersedes ? remove([key]) : Promise.resolve()
    return { body: forReader ? response.body : null, storing, stores: false }
  }
  const [body, copy] = forReader && response.body ? response.body.tee() : [null, response.body]
  const storing = write(key, copy, decision.meta, decision.keepFor, rules.settings.memory)
  return { body, storing, stores: true }
}

/**
 * A failed fill's answer for its reader, and, when its body is small enough to hold, the copy
 * the misses that waited on it share (collapse.ts): a herd never multiplies a dead origin's load.
 */
export async function shareFailure(
  outcome: ProxyOutcome,
): Promise<{ response: Response; shared: SharedFailure | undefined }> {
  const { response } = outcome
  // A failure that is the origin's own answer is shared only when it could be shared at all.
  if (forbidsSharing(response.headers)) return { response, shared: undefined }
  const body = await readUpTo(response.body, MAX_SHARED_FAILURE_BYTES).catch(() => undefined)
  if (!(body instanceof Uint8Array)) {
    return { response: new Response(body ?? null, response), shared: undefined }
  }
  const { status } = response
  const headers = [...response.headers]
  const shared = { status, headers, body, origin: outcome.origin?.id }
  return { response: new Response(body, { status, headers }), shared }
}

/** Stores an entry's body again under the policy a 304 refreshed (RFC 9111 §4.3.4). */
export function storeRefreshed(
  cacheable: CacheableRequest,
  body: ReadableStream | null,
  policy: CachePolicy,
  origin: string | null,
): Promise<void> {
  const { settings } = cacheable.rules
  const meta: Meta = { policy: policy.toObject(), origin }
  const keepFor = keepSeconds(meta.policy, settings.staleIfErrorSeconds)
  return write(cacheable.key, body, meta, keepFor, settings.memory)
}
