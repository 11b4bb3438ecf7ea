/**
 * The idle timeout of a proxied body: once an origin's headers are in, the attempt timer is
 * cleared, and an origin that then stops sending would hold the reader (and a cache fill) for
 * as long as the connection lives, and pass for a success. Like nginx's `proxy_read_timeout`,
 * the clock runs only while we wait for the origin's next chunk: a slow reader (backpressure)
 * never trips it.
 */

/** Why a body ended early: the origin stopped sending, or the connection failed mid-body. */
export type BodyFailure = 'body stalled' | 'body error'

/** The error a stalled body ends with. */
export class BodyStalled extends Error {
  constructor(idleMs: number) {
    super(`origin sent nothing for ${idleMs} ms mid-body`)
    this.name = 'BodyStalled'
  }
}

/** Most bytes read from the origin at once: a page arrives in one or two reads, not 4 KiB ones. */
const READ_BYTES = 64 * 1024

/** What `idleTimeout` reads the origin's body through. */
interface ChunkReader {
  read(): Promise<ReadableStreamReadResult<Uint8Array>>
  cancel(reason?: unknown): Promise<void>
}

/**
 * A reader of `body` in chunks as large as what has arrived (up to `READ_BYTES`): a fetch body
 * is a byte stream, read with a BYOB reader, since its default reader hands out 4 KiB chunks and
 * every chunk through a JavaScript stream costs CPU. Other streams: their default reader.
 */
function chunkReader(body: ReadableStream<Uint8Array>): ChunkReader {
  let byob: ReadableStreamBYOBReader
  try {
    byob = body.getReader({ mode: 'byob' })
  } catch {
    return body.getReader()
  }
  return {
    read: () => byob.read(new Uint8Array(READ_BYTES)),
    cancel: (reason) => byob.cancel(reason),
  }
}

/**
 * `body`, erroring with `BodyStalled` (and cancelling the origin's body) when the origin sends
 * no chunk for `idleMs` while one is awaited. `onEnd` is called once: with no argument when the
 * body was read to its end or cancelled by its reader, with the failure otherwise.
 */
export function idleTimeout(
  body: ReadableStream<Uint8Array>,
  idleMs: number,
  onEnd?: (failure?: BodyFailure) => void,
): ReadableStream<Uint8Array> {
  const source = chunkReader(body)
  let controller!: ReadableStreamDefaultController<Uint8Array>
  // One timer per body, not one per chunk (a timer costs more than a chunk in workerd): it is
  // armed when a chunk is first awaited and, when it fires, looks at how long the chunk awaited
  // now has been, re-arming for the rest (or not at all while the reader holds us back).
  let timer: ReturnType<typeof setTimeout> | undefined
  /** When the chunk now awaited was asked for; `undefined` while none is awaited. */
  let waitingSince: number | undefined
  let ended = false
  const end = (failure?: BodyFailure) => {
    clearTimeout(timer)
    timer = undefined
    if (ended) return false
    ended = true
    onEnd?.(failure)
    return true
  }
  const arm = (ms: number) => {
    timer = setTimeout(check, ms)
  }
  const check = () => {
    timer = undefined
    if (waitingSince === undefined) return
    const waited = Date.now() - waitingSince
    if (waited < idleMs) return arm(idleMs - waited)
    if (!end('body stalled')) return
    const error = new BodyStalled(idleMs)
    controller.error(error)
    source.cancel(error).catch(() => {})
  }
  return new ReadableStream<Uint8Array>(
    {
      start(c) {
        controller = c
      },
      async pull(c) {
        waitingSince = Date.now()
        if (timer === undefined) arm(idleMs)
        try {
          const { done, value } = await source.read()
          waitingSince = undefined
          if (ended) return
          if (done) {
            end()
            c.close()
          } else c.enqueue(value)
        } catch (error) {
          waitingSince = undefined
          if (end('body error')) c.error(error)
        }
      },
      cancel(reason) {
        end()
        return source.cancel(reason)
      },
    },
    { highWaterMark: 0 },
  )
}

/**
 * Largest declared body that `wholeBody` reads: a blog page or a small asset, which arrives in a
 * few reads. Larger and undeclared bodies take `idleTimeout`.
 */
export const BOUNDED_BODY_BYTES = 64 * 1024

/**
 * The length of a body `wholeBody` reads: declared, for the body as we get it (no
 * `Content-Encoding`), and at most `BOUNDED_BODY_BYTES`; `undefined` for any other body.
 */
export function boundedLength(headers: Headers): number | undefined {
  const length = declaredLength(headers)
  return length === undefined || length > BOUNDED_BODY_BYTES ? undefined : length
}

/** What `wholeBody` gives the reader: the body read whole, or one cut, with why. */
export type WholeBody = { body: ArrayBuffer; failure?: undefined } | CutBody
type CutBody = { body: ReadableStream<Uint8Array>; failure: BodyFailure }

/**
 * The idle timeout for a small body of declared length (`boundedLength`), with no JavaScript on
 * the body's way: the runtime reads it whole (`arrayBuffer()`) before the answer goes out, and
 * one timer calls `cut` (which aborts the origin's fetch, erroring its body) when all of it has
 * not arrived within `idleMs`. A page that size comes in one or two reads, so "all of it within
 * the idle time" is the idle rule for it. Measured on the bench's 20 KB page: a body read
 * through JavaScript (a stream, or a read/write loop) costs a proxied page about 400 µs of CPU,
 * more than the rest of georoute's miss path; a native pipe into a `FixedLengthStream` with its
 * own timer and abort signal still about 80 µs. Read whole on the attempt's own timer and abort
 * signal, the bench's miss went from 0.56-0.57× to 0.67-0.74× the contract row's throughput,
 * and from 1.81× to 1.42-1.59× its CPU per request. A body that stalls or breaks
 * reaches the reader as `length` declared and none of it sent, then cut: the reader sees it is
 * short, and the cache never stores it.
 */
export async function wholeBody(
  response: Response,
  length: number,
  idleMs: number,
  cut: (error: BodyStalled) => void,
  timer: BodyTimer = ownTimer(),
): Promise<WholeBody> {
  let stalled = false
  timer.start(idleMs, () => {
    stalled = true
    cut(new BodyStalled(idleMs))
  })
  try {
    return { body: await response.arrayBuffer() }
  } catch (error) {
    return cutBody(length, stalled ? 'body stalled' : 'body error', error)
  } finally {
    timer.stop()
  }
}

/**
 * The timer `wholeBody` bounds a body with: the proxy lends the attempt's own (one timer per
 * request, not two: measured, a body read whole under a timer of its own gained little over the
 * native pipe; under the attempt's timer, most of the gain above).
 */
export interface BodyTimer {
  /** Calls `fire` once `ms` have passed, unless stopped first. */
  start(ms: number, fire: () => void): void
  stop(): void
}

/** A `BodyTimer` of its own. */
function ownTimer(): BodyTimer {
  let timer: ReturnType<typeof setTimeout> | undefined
  return {
    start: (ms, fire) => {
      timer = setTimeout(fire, ms)
    },
    stop: () => clearTimeout(timer),
  }
}

/** A body that declares `length` and errors before its first byte. */
function cutBody(length: number, failure: BodyFailure, error: unknown): CutBody {
  const { readable, writable } = new FixedLengthStream(length)
  writable.abort(error).catch(() => {})
  return { body: readable, failure }
}

/** The body length the origin declared for the body as we get it, if any. */
function declaredLength(headers: Headers): number | undefined {
  const length = headers.get('content-length')
  if (length === null || headers.has('content-encoding') || !/^\d{1,15}$/.test(length)) {
    return undefined
  }
  return Number(length)
}

/**
 * `body` with the length the origin declared, when it declared one for the body as we get it
 * (no `Content-Encoding`, which the runtime decodes): a JS stream alone would go to the reader
 * chunked, losing the length, and a body cut short would then look whole; with the length, the
 * reader sees it is short.
 */
export function withDeclaredLength(
  body: ReadableStream<Uint8Array>,
  headers: Headers,
): ReadableStream<Uint8Array> {
  const length = declaredLength(headers)
  return length === undefined ? body : body.pipeThrough(new FixedLengthStream(length))
}
