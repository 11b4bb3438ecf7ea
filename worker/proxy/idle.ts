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
 * Largest declared body that `boundedBody` carries: a blog page or a small asset, which
 * arrives in a few reads. Larger and undeclared bodies take `idleTimeout`.
 */
export const BOUNDED_BODY_BYTES = 64 * 1024

/**
 * The idle timeout for a small body of declared length (no `Content-Encoding`, at most
 * `BOUNDED_BODY_BYTES`), with no JavaScript on the body's way: the runtime pipes the origin's
 * body into a `FixedLengthStream` natively, and one timer aborts the pipe when all of it has not
 * arrived within `idleMs`. A page that size comes in one or two reads, so "all of it within the
 * idle time" is the idle rule for it. Measured on the bench's 20 KB page: a body read through
 * JavaScript (a stream, or a read/write loop) costs a proxied page about 400 µs of CPU, more
 * than the rest of georoute's miss path; the native pipe costs next to nothing. A cut body
 * errors for the reader, who sees it is short. `onEnd` hears `'body stalled'` on the timeout
 * and nothing otherwise (a reader that goes away must not blame the origin). Answers
 * `undefined` when the body does not qualify.
 */
export function boundedBody(
  body: ReadableStream<Uint8Array>,
  headers: Headers,
  idleMs: number,
  onEnd?: (failure?: BodyFailure) => void,
): ReadableStream<Uint8Array> | undefined {
  const length = declaredLength(headers)
  if (length === undefined || length > BOUNDED_BODY_BYTES) return undefined
  const { readable, writable } = new FixedLengthStream(length)
  const abort = new AbortController()
  const timer = setTimeout(() => abort.abort(new BodyStalled(idleMs)), idleMs)
  const settle = () => {
    clearTimeout(timer)
    onEnd?.(abort.signal.aborted ? 'body stalled' : undefined)
  }
  body.pipeTo(writable, { signal: abort.signal }).then(settle, settle)
  return readable
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
