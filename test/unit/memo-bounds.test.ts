import { afterEach, describe, expect, it } from 'vitest'
import type { Fast } from '../../worker/cache/fast-hit'
import { fnv1a64, MAX_MEMO_KEY, memoKey } from '../../worker/cache/memo-key'
import { forgetAll, heldNow, hold } from '../../worker/cache/memory'
import {
  clearPasses,
  isPassing,
  MAX_PASS_BYTES,
  notePass,
  passesNow,
} from '../../worker/cache/pass'
import {
  cachedFast,
  clearParsedFacts,
  MAX_PARSED_FACTS_BYTES,
  parsedFactsNow,
} from '../../worker/cache/store'

const NOW = 1_000_000
const PRIVATE = new Headers({ 'cache-control': 'private' })
/** A cache key as long as the longest URL a reader may send (16 KiB). */
const longKey = (i: number) =>
  `https://blog.example/__georoute/cache/0/${'x'.repeat(16 * 1024 - 60)}?n=${i}`

afterEach(() => {
  clearPasses()
  clearParsedFacts()
  forgetAll()
})

describe('memoKey', () => {
  it('keeps a key of up to 256 characters as it is', () => {
    const key = 'k'.repeat(MAX_MEMO_KEY)
    expect(memoKey(key)).toBe(key)
  })

  it('replaces a longer key by its length and 64-bit digest', () => {
    expect(memoKey(longKey(1))).toMatch(/^#\d+:[0-9a-f]{16}$/)
    expect(memoKey(longKey(1))).toBe(memoKey(longKey(1)))
    expect(memoKey(longKey(1))).not.toBe(memoKey(longKey(2)))
  })

  it('is FNV-1a 64 (reference vectors)', () => {
    expect(fnv1a64('')).toBe('cbf29ce484222325')
    expect(fnv1a64('a')).toBe('af63dc4c8601ec8c')
    expect(fnv1a64('foobar')).toBe('85944171f73967e8')
  })
})

describe('the hit-for-pass memo', () => {
  it('keeps 5,000 private answers to 16 KiB URLs under its byte bound', () => {
    for (let i = 0; i < 5_000; i++) notePass(longKey(i), PRIVATE, NOW)
    const { entries, bytes } = passesNow()
    expect(bytes).toBeLessThanOrEqual(MAX_PASS_BYTES)
    // Digests keep every one of them: each counts ~90 bytes, not 16 KiB.
    expect(entries).toBe(5_000)
    expect(isPassing(longKey(0), NOW)).toBe(true)
    expect(isPassing(longKey(4_999), NOW)).toBe(true)
  })

  it('forgets the oldest URLs once full, and counts exactly what it holds', () => {
    const key = (i: number) =>
      `https://blog.example/__georoute/cache/0/${'p'.repeat(200)}/${String(i).padStart(5, '0')}`
    let i = 0
    while (passesNow().bytes + key(i).length + 64 <= MAX_PASS_BYTES)
      notePass(key(i++), PRIVATE, NOW)
    const full = passesNow()
    notePass(key(i), PRIVATE, NOW)
    expect(passesNow()).toEqual(full)
    expect(isPassing(key(0), NOW)).toBe(false)
    expect(isPassing(key(1), NOW)).toBe(true)
    expect(isPassing(key(i), NOW)).toBe(true)
    expect(full.bytes).toBe(full.entries * (key(1).length + 64))
  })

  it('releases the bytes of a URL whose pass ends', () => {
    notePass(longKey(1), PRIVATE, NOW)
    notePass(longKey(1), new Headers({ 'cache-control': 'max-age=60' }), NOW)
    expect(passesNow()).toEqual({ entries: 0, bytes: 0 })
  })
})

describe('the parsed-facts memo', () => {
  const raw = (i: number, pad = 900) =>
    JSON.stringify({
      until: NOW + 60_000,
      received: NOW,
      ageValue: 0,
      status: 200,
      headers: {
        'content-type': 'text/html',
        date: 'Thu, 03 Dec 2026 03:00:00 GMT',
        'x-pad': 'p'.repeat(pad),
        'x-n': String(i),
      },
      origin: 'near',
    })

  it('stays under its byte bound, the oldest facts going first', () => {
    for (let i = 0; i < 2_000; i++) expect(cachedFast(raw(i))?.status).toBe(200)
    const { entries, bytes } = parsedFactsNow()
    expect(bytes).toBeLessThanOrEqual(MAX_PARSED_FACTS_BYTES)
    expect(bytes).toBeGreaterThan(MAX_PARSED_FACTS_BYTES - 2 * raw(0).length - 256)
    expect(entries).toBeLessThan(2_000)
  })

  it('parses facts of more than 8 KiB on every hit rather than keeping them', () => {
    expect(cachedFast(raw(1, 10_000))?.status).toBe(200)
    expect(parsedFactsNow()).toEqual({ entries: 0, bytes: 0 })
  })
})

describe('the memory tier', () => {
  it('counts long keys against its byte bound', () => {
    const limits = { maxBytes: 256 * 1024, maxEntryBytes: 1024, maxAgeSeconds: 5 }
    const fast: Fast = {
      until: NOW + 60_000,
      received: NOW,
      ageValue: 0,
      status: 200,
      headers: { 'content-type': 'text/html' },
      origin: 'near',
    }
    for (let i = 0; i < 1_000; i++) hold(longKey(i), fast, new Uint8Array(10), NOW, limits)
    expect(heldNow().bytes).toBeLessThanOrEqual(limits.maxBytes)
    expect(heldNow().entries).toBe(15)
  })
})
