import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  BOUNDED_BODY_BYTES,
  type BodyFailure,
  BodyStalled,
  boundedBody,
  idleTimeout,
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

describe('boundedBody (a small body of declared length, piped natively)', () => {
  const declared = (length: number, extra: Record<string, string> = {}) =>
    new Headers({ 'content-length': String(length), ...extra })

  it('passes the whole body through and reports its end', async () => {
    const { body, controller } = origin()
    const piped = boundedBody(body, declared(4), 1000, onEnd)
    expect(piped).toBeDefined()
    controller.enqueue(bytes('ab'))
    controller.enqueue(bytes('cd'))
    controller.close()
    expect(await new Response(piped).text()).toBe('abcd')
    await vi.advanceTimersByTimeAsync(0)
    expect(ends).toEqual([undefined])
    expect(vi.getTimerCount()).toBe(0)
  })

  // The cut itself needs a fetch body (the runtime's pipe from one): test/e2e/stalled-body.test.ts
  // has an origin that declares 4 KiB, sends part of it and stalls.

  it('leaves large, undeclared and encoded bodies to the idle stream', () => {
    expect(boundedBody(origin().body, declared(BOUNDED_BODY_BYTES + 1), 1000)).toBeUndefined()
    expect(boundedBody(origin().body, new Headers(), 1000)).toBeUndefined()
    const encoded = declared(10, { 'content-encoding': 'gzip' })
    expect(boundedBody(origin().body, encoded, 1000)).toBeUndefined()
  })
})
