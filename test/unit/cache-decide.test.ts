import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  decideRevalidated,
  decideStorage,
  decideStored,
  type OriginAnswer,
  type StorageFacts,
} from '../../worker/cache/decide'
import { type Fast, isFreshHit } from '../../worker/cache/fast-hit'
import { invalidationTargets } from '../../worker/cache/invalidate'
import { loadPolicy, type PolicyObject, policyRequest } from '../../worker/cache/policy'

const KEY = 'https://blog.example/__georoute/cache/0/posts/a'
const PUBLIC_URL = new URL('https://blog.example/posts/a')
const T0 = Date.UTC(2030, 0, 1)
const at = (seconds: number) => vi.setSystemTime(T0 + seconds * 1000)
const view = (headers: Record<string, string> = {}) =>
  policyRequest(KEY, PUBLIC_URL, new Headers(headers))
const STALE_RULES = { staleIfErrorSeconds: 0, staleIfErrorOverridesOrigin: false }

/** The storage facts of a 200 with `headers`, asked for without any request field. */
function facts(headers: Record<string, string>, more: Partial<StorageFacts> = {}): StorageFacts {
  return {
    request: view(),
    readerCacheControl: null,
    response: { status: 200, headers: new Headers(headers) },
    defaultTtl: undefined,
    origin: 'tokyo',
    staleIfErrorSeconds: 0,
    ...more,
  }
}

/** The policy object a storable 200 with `headers` is kept under, stored now. */
function storedAt(headers: Record<string, string>): PolicyObject {
  const decision = decideStorage(facts(headers))
  if (!decision.store) throw new Error('fixture response is not storable')
  return decision.meta.policy
}

const answer = (status: number, headers: Record<string, string> = {}): OriginAnswer => ({
  failed: false,
  status,
  headers: new Headers(headers),
})

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] })
  at(0)
})

afterEach(() => {
  vi.useRealTimers()
})

describe('decideStored', () => {
  it('serves a fresh entry with its headers for the reader', () => {
    const stored = storedAt({ 'cache-control': 'max-age=60', etag: '"a"' })
    at(30)
    const decision = decideStored(stored, view())
    expect(decision.action).toBe('serve')
    expect(decision.action === 'serve' && decision.headers.get('age')).toBe('30')
  })

  it('serves a stale entry within stale-while-revalidate, refreshing it with its validator', () => {
    const stored = storedAt({
      'cache-control': 'max-age=60, stale-while-revalidate=60',
      etag: '"a"',
    })
    at(90)
    expect(decideStored(stored, view())).toMatchObject({
      action: 'serve-stale',
      conditional: { 'if-none-match': '"a"' },
    })
  })

  it('revalidates a stale entry that has a validator, asking with it', () => {
    const lastModified = new Date(T0 - 86_400_000).toUTCString()
    const stored = storedAt({ 'cache-control': 'max-age=60', 'last-modified': lastModified })
    at(90)
    expect(decideStored(stored, view())).toMatchObject({
      action: 'revalidate',
      conditional: { 'if-modified-since': lastModified },
    })
  })

  it('fetches anew for another variant than the one stored', () => {
    const stored = storedAt({ 'cache-control': 'max-age=60', vary: 'accept-language' })
    expect(decideStored(stored, view({ 'accept-language': 'fr' })).action).toBe('fetch')
  })

  it('fetches anew for a reader with credentials when the entry is not explicitly shared', () => {
    const stored = storedAt({ 'cache-control': 'max-age=60' })
    expect(decideStored(stored, view({ authorization: 'Bearer t' })).action).toBe('fetch')
  })
})

describe('decideRevalidated', () => {
  const revalidating = (headers: Record<string, string>, seconds: number) => {
    const stored = storedAt(headers)
    at(seconds)
    return { stored, policy: loadPolicy(stored).policy }
  }

  it('serves the stale copy when every origin failed and stale-if-error allows it', () => {
    const { stored, policy } = revalidating(
      { 'cache-control': 'max-age=60, stale-if-error=600' },
      90,
    )
    const failed = { ...answer(503), failed: true }
    expect(decideRevalidated(stored, policy, view(), failed, STALE_RULES)).toEqual({
      action: 'serve-stale',
    })
  })

  it("passes the origins' failure on when no stale copy may stand in", () => {
    const { stored, policy } = revalidating({ 'cache-control': 'max-age=60, must-revalidate' }, 90)
    const failed = { ...answer(503), failed: true }
    const rules = { staleIfErrorSeconds: 86_400, staleIfErrorOverridesOrigin: false }
    expect(decideRevalidated(stored, policy, view(), failed, rules)).toEqual({ action: 'fail' })
  })

  it('replaces the entry with a full response', () => {
    const { stored, policy } = revalidating({ 'cache-control': 'max-age=60', etag: '"a"' }, 90)
    const full = answer(200, { 'cache-control': 'max-age=60', etag: '"b"' })
    expect(decideRevalidated(stored, policy, view(), full, STALE_RULES)).toEqual({
      action: 'replace',
    })
  })

  it('refreshes the entry from a 304 for its own validator, fresh again', () => {
    const { stored, policy } = revalidating({ 'cache-control': 'max-age=60', etag: '"a"' }, 90)
    const notModified = answer(304, { 'cache-control': 'max-age=120', etag: '"a"' })
    const decision = decideRevalidated(stored, policy, view(), notModified, STALE_RULES)
    expect(decision.action).toBe('refresh')
    if (decision.action !== 'refresh') return
    expect(decision.policy.timeToLive()).toBe(120_000)
    expect(decideStored(decision.policy.toObject(), view()).action).toBe('serve')
  })

  it('refreshes the entry from a 304 that repeats no validator (it answers our own conditional)', () => {
    const { stored, policy } = revalidating(
      { 'cache-control': 'max-age=60, must-revalidate', etag: '"a"' },
      90,
    )
    const bare = answer(304, { date: new Date(T0 + 90_000).toUTCString() })
    const decision = decideRevalidated(stored, policy, view(), bare, STALE_RULES)
    expect(decision.action).toBe('refresh')
    if (decision.action !== 'refresh') return
    expect(decideStored(decision.policy.toObject(), view()).action).toBe('serve')
  })

  it('fetches the resource whole after a 304 for another representation', () => {
    const { stored, policy } = revalidating({ 'cache-control': 'max-age=60', etag: '"a"' }, 90)
    const other = answer(304, { etag: '"b"' })
    expect(decideRevalidated(stored, policy, view(), other, STALE_RULES)).toEqual({
      action: 'refetch',
    })
  })
})

describe('decideStorage', () => {
  it('stores a public response, with the origin that filled it', () => {
    const decision = decideStorage(facts({ 'cache-control': 'public, max-age=60' }))
    expect(decision).toMatchObject({ store: true, meta: { origin: 'tokyo' }, keepFor: 60 })
  })

  it('keeps the copy past its freshness for the stale-if-error floor', () => {
    const decision = decideStorage(
      facts({ 'cache-control': 'max-age=60' }, { staleIfErrorSeconds: 3_600 }),
    )
    expect(decision).toMatchObject({ store: true, keepFor: 3_660 })
  })

  it('does not store a response that sets a cookie', () => {
    const headers = { 'cache-control': 'public, max-age=60', 'set-cookie': 'sid=1' }
    expect(decideStorage(facts(headers))).toEqual({ store: false })
  })

  it('does not store when the reader sent no-store', () => {
    const decision = decideStorage(
      facts({ 'cache-control': 'max-age=60' }, { readerCacheControl: 'no-store' }),
    )
    expect(decision).toEqual({ store: false })
  })

  it('stores a silent response only when a default TTL covers it', () => {
    expect(decideStorage(facts({}))).toEqual({ store: false })
    expect(decideStorage(facts({}, { defaultTtl: 300 }))).toMatchObject({ keepFor: 300 })
  })
})

describe('isFreshHit', () => {
  const fast: Fast = {
    until: T0 + 60_000,
    received: T0,
    ageValue: 0,
    status: 200,
    headers: {},
    origin: 'tokyo',
  }

  it('answers from the precomputed facts until the entry stops being fresh', () => {
    expect(isFreshHit(fast, T0 + 59_999, false)).toBe(true)
    expect(isFreshHit(fast, T0 + 60_000, false)).toBe(false)
  })

  it('never answers a reader with credentials from them', () => {
    expect(isFreshHit(fast, T0, true)).toBe(false)
  })

  it('has nothing to answer from an entry stored without them', () => {
    expect(isFreshHit(undefined, T0, false)).toBe(false)
  })
})

describe('invalidationTargets', () => {
  const page = new URL('https://blog.example/posts/a')

  it('invalidates the target and same-origin Location and Content-Location', () => {
    const created = answer(201, {
      location: '/posts/b',
      'content-location': 'https://blog.example/posts/b?x=1',
    })
    expect(invalidationTargets(page, created).map(String)).toEqual([
      'https://blog.example/posts/a',
      'https://blog.example/posts/b',
      'https://blog.example/posts/b?x=1',
    ])
  })

  it('leaves another origin named in Location alone', () => {
    const moved = answer(303, { location: 'https://elsewhere.example/posts/a' })
    expect(invalidationTargets(page, moved).map(String)).toEqual(['https://blog.example/posts/a'])
  })

  it('invalidates nothing after an error or when every origin failed', () => {
    expect(invalidationTargets(page, answer(404))).toEqual([])
    expect(invalidationTargets(page, { ...answer(200), failed: true })).toEqual([])
  })
})
