import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  BOUNDED_BODY_BYTES,
  type BodyFailure,
  BodyStalled,
  boundedLength,
  idleTimeout,
  wholeBody,
} from '../../worker/proxy/idle'

const bytes = (text: string) => new TextEncoder().encode(text)

/** A body the test feeds by hand, and whether it was cancelled. */
function origin() {
  let controller!: ReadableStreamDefaultController<Uint8Array>
  const state = { cancelled: undefined as unknown }
  const body = new ReadableStream<Uint8Array>({
    start: (c) => {
      controller = c
    },
    cancel: (reason) => {
      state.cancelled = reason
    },
  })
  return { body, controller, state }
}

const ends: (BodyFailure | undefined)[] = []
const onEnd = (failure?: BodyFailure) => ends.push(failure)

beforeEach(() => {
  ends.length = 0
  vi.useFakeTimers()
})
afterEach(() => {
  vi.useRealTimers()
})

describe('idleTimeout', () => {
  it('passes the chunks through and reports a body read to its end', async () => {
    const { body, controller } = origin()
    const reader = idleTimeout(body, 1000, onEnd).getReader()
    controller.enqueue(bytes('a'))
    expect((await reader.read()).value).toEqual(bytes('a'))
    const next = reader.read()
    await vi.advanceTimersByTimeAsync(900)
    controller.enqueue(bytes('b'))
    controller.close()
    expect((await next).value).toEqual(bytes('b'))
    expect((await reader.read()).done).toBe(true)
    expect(ends).toEqual([undefined])
    expect(vi.getTimerCount()).toBe(0)
  })

  it('errors when the origin sends nothing for the idle time, and cancels the origin body', async () => {
    const { body, controller, state } = origin()
    const reader = idleTimeout(body, 1000, onEnd).getReader()
    controller.enqueue(bytes('head'))
    await reader.read()
    const stalled = reader.read()
    const caught = stalled.catch((error: unknown) => error)
    await vi.advanceTimersByTimeAsync(1000)
    expect(await caught).toBeInstanceOf(BodyStalled)
    expect(state.cancelled).toBeInstanceOf(BodyStalled)
    expect(ends).toEqual(['body stalled'])
  })

  it('does not count the time the reader takes (backpressure)', async () => {
    const { body, controller } = origin()
    const reader = idleTimeout(body, 1000, onEnd).getReader()
    controller.enqueue(bytes('a'))
    controller.enqueue(bytes('b'))
    controller.close()
    await reader.read()
    await vi.advanceTimersByTimeAsync(5000)
    expect((await reader.read()).value).toEqual(bytes('b'))
    expect((await reader.read()).done).toBe(true)
    expect(ends).toEqual([undefined])
  })

  it('reports a reader that goes away as no failure, and cancels the origin body', async () => {
    const { body, state } = origin()
    const reader = idleTimeout(body, 1000, onEnd).getReader()
    const pending = reader.read()
    await reader.cancel('gone')
    await pending
    expect(state.cancelled).toBe('gone')
    expect(ends).toEqual([undefined])
    expect(vi.getTimerCount()).toBe(0)
  })

  it('reports a connection that fails mid-body', async () => {
    const { body, controller } = origin()
    const reader = idleTimeout(body, 1000, onEnd).getReader()
    const pending = reader.read().catch((error: unknown) => error)
    controller.error(new Error('Network connection lost'))
    expect(await pending).toEqual(new Error('Network connection lost'))
    expect(ends).toEqual(['body error'])
    expect(vi.getTimerCount()).toBe(0)
  })
})

describe('wholeBody (a small body of declared length, read whole)', () => {
  const declared = (length: number, extra: Record<string, string> = {}) =>
    new Headers({ 'content-length': String(length), ...extra })

  /** How the reader fares with what `wholeBody` gave: the text, or the error it ends with. */
  const readerGets = (body: BodyInit) =>
    new Response(body).text().then(
      (text) => text,
      (error: unknown) => error,
    )

  it('reads the whole body, byte-exact, and clears its timer', async () => {
    const { body, controller } = origin()
    const page = new Uint8Array([0, 255, 1, 128, 10, 13, 0x3c])
    const cuts: unknown[] = []
    const pending = wholeBody(new Response(body), page.length, 1000, (e) => cuts.push(e))
    controller.enqueue(page.slice(0, 3))
    controller.enqueue(page.slice(3))
    controller.close()
    const whole = await pending
    expect(whole.failure).toBeUndefined()
    expect(new Uint8Array(whole.body as ArrayBuffer)).toEqual(page)
    expect(cuts).toEqual([])
    expect(vi.getTimerCount()).toBe(0)
  })

  it('cuts a body still short after the idle time: the cut names the stall, the reader gets an error', async () => {
    const { body, controller } = origin()
    const pending = wholeBody(new Response(body), 100, 1000, (error) => controller.error(error))
    controller.enqueue(bytes('half a page'))
    await vi.advanceTimersByTimeAsync(999)
    let settled = false
    void pending.then(() => (settled = true))
    await vi.advanceTimersByTimeAsync(0)
    expect(settled).toBe(false)
    await vi.advanceTimersByTimeAsync(1)
    const whole = await pending
    expect(whole.failure).toBe('body stalled')
    // The native stream hands the reader a copy of the error: same message, not the class.
    expect(String(await readerGets(whole.body))).toContain('origin sent nothing for 1000 ms')
    expect(vi.getTimerCount()).toBe(0)
  })

  it('reports a body the connection breaks as a body error, cut for the reader, without waiting', async () => {
    const { body, controller } = origin()
    const cuts: unknown[] = []
    const pending = wholeBody(new Response(body), 100, 1000, (e) => cuts.push(e))
    controller.enqueue(bytes('half'))
    controller.error(new Error('Network connection lost'))
    const whole = await pending
    expect(whole.failure).toBe('body error')
    expect(await readerGets(whole.body)).toEqual(new Error('Network connection lost'))
    expect(cuts).toEqual([])
    expect(vi.getTimerCount()).toBe(0)
  })

  it('takes only declared, unencoded bodies up to BOUNDED_BODY_BYTES', () => {
    expect(boundedLength(declared(20_000))).toBe(20_000)
    expect(boundedLength(declared(BOUNDED_BODY_BYTES))).toBe(BOUNDED_BODY_BYTES)
    expect(boundedLength(declared(BOUNDED_BODY_BYTES + 1))).toBeUndefined()
    expect(boundedLength(new Headers())).toBeUndefined()
    expect(boundedLength(declared(10, { 'content-encoding': 'gzip' }))).toBeUndefined()
    expect(boundedLength(declared(Number.NaN))).toBeUndefined()
  })
})
