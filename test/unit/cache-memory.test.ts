import { afterEach, describe, expect, it } from 'vitest'
import type { Fast } from '../../worker/cache/fast-hit'
import { fits, forget, forgetAll, heldNow, hold, recall } from '../../worker/cache/memory'
import { readUpTo } from '../../worker/cache/store'

const LIMITS = { maxBytes: 1_000, maxEntryBytes: 100, maxAgeSeconds: 5 }
const NOW = 1_000_000
const fact = (until = NOW + 60_000): Fast => ({
  until,
  received: NOW,
  ageValue: 0,
  status: 200,
  headers: { 'content-type': 'text/html' },
  origin: 'near',
})
const bytes = (n: number) => new Uint8Array(n).fill(120)

afterEach(() => forgetAll())

describe('hold and recall', () => {
  it('answers a held copy until maxAgeSeconds, then forgets it', () => {
    hold('k', fact(), bytes(10), NOW, LIMITS)
    expect(recall('k', NOW + 4_999)?.body.byteLength).toBe(10)
    expect(recall('k', NOW + 5_000)).toBeUndefined()
    expect(heldNow()).toEqual({ entries: 0, bytes: 0 })
  })

  it('never past the freshness of the entry', () => {
    hold('k', fact(NOW + 1_000), bytes(10), NOW, LIMITS)
    expect(recall('k', NOW + 999)).toBeDefined()
    expect(recall('k', NOW + 1_000)).toBeUndefined()
  })

  it('holds nothing stale, too large, or with the tier off', () => {
    hold('stale', fact(NOW), bytes(10), NOW, LIMITS)
    hold('large', fact(), bytes(101), NOW, LIMITS)
    hold('off', fact(), bytes(1), NOW, { ...LIMITS, maxBytes: 0 })
    expect(heldNow().entries).toBe(0)
  })

  it('counts body, key and headers, and replaces a copy without counting it twice', () => {
    hold('k', fact(), bytes(10), NOW, LIMITS)
    const one = heldNow().bytes
    expect(one).toBe(10 + 'k'.length + 'content-type'.length + 'text/html'.length)
    hold('k', fact(), bytes(10), NOW, LIMITS)
    expect(heldNow()).toEqual({ entries: 1, bytes: one })
    forget('k')
    expect(heldNow()).toEqual({ entries: 0, bytes: 0 })
  })

  it('makes room by forgetting the oldest copies first', () => {
    const limits = { ...LIMITS, maxBytes: 250 }
    for (const key of ['a', 'b', 'c']) hold(key, fact(), bytes(100), NOW, limits)
    expect([recall('a', NOW), recall('b', NOW), recall('c', NOW)].map(Boolean)).toEqual([
      false,
      true,
      true,
    ])
    expect(heldNow().bytes).toBeLessThanOrEqual(250)
  })

  it('fits only known sizes within maxEntryBytes', () => {
    expect([fits(undefined, LIMITS), fits(100, LIMITS), fits(101, LIMITS)]).toEqual([
      false,
      true,
      false,
    ])
  })
})

/** A stream of the given chunks, noting whether it was cancelled. */
function chunked(parts: string[]) {
  const state = { cancelled: false }
  const encoder = new TextEncoder()
  let i = 0
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      const part = parts[i++]
      if (part === undefined) controller.close()
      else controller.enqueue(encoder.encode(part))
    },
    cancel() {
      state.cancelled = true
    },
  })
  return { stream, state }
}

describe('readUpTo', () => {
  it('reads a body of at most max bytes whole, joining its chunks', async () => {
    const whole = await readUpTo(chunked(['ab', 'cd', 'e']).stream, 5)
    expect(whole).toBeInstanceOf(Uint8Array)
    expect(new TextDecoder().decode(whole as Uint8Array)).toBe('abcde')
  })

  it('gives a longer body back as a stream of every byte, in order', async () => {
    const rest = await readUpTo(chunked(['ab', 'cd', 'ef', 'gh']).stream, 3)
    expect(rest).toBeInstanceOf(ReadableStream)
    expect(await new Response(rest).text()).toBe('abcdefgh')
  })

  it('passes a cancel of the longer body on to the source', async () => {
    const { stream, state } = chunked(['ab', 'cd', 'ef', 'gh'])
    const rest = (await readUpTo(stream, 1)) as ReadableStream
    await rest.cancel()
    expect(state.cancelled).toBe(true)
  })

  it('copies a lone chunk that is a view of a larger buffer', async () => {
    const buffer = new Uint8Array(1024)
    buffer.set([104, 105], 10)
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(buffer.subarray(10, 12))
        controller.close()
      },
    })
    const whole = (await readUpTo(stream, 100)) as Uint8Array
    expect(new TextDecoder().decode(whole)).toBe('hi')
    expect(whole.buffer.byteLength).toBe(2)
  })

  it('reads no body as empty', async () => {
    expect(await readUpTo(null, 5)).toEqual(new Uint8Array(0))
  })
})
