import { describe, expect, it } from 'vitest'
import { forgetAll, heldNow } from '../../worker/cache/memory'
import { newPolicy, policyRequest } from '../../worker/cache/policy'
import { lookUp, write } from '../../worker/cache/store'

const MEMORY = { maxBytes: 8 * 1024 * 1024, maxEntryBytes: 256 * 1024, maxAgeSeconds: 5 }

function meta(key: string) {
  const response = { status: 200, headers: new Headers({ 'cache-control': 'max-age=60' }) }
  const policy = newPolicy(
    policyRequest(key, new URL('https://blog.example/'), new Headers()),
    null,
    response,
    undefined,
  )
  return { policy: policy.toObject(), origin: 'near' }
}

/** `bytes` of body, then the error an idle timeout or a lost connection ends it with. */
function failingBody(bytes: number): ReadableStream<Uint8Array> {
  let sent = 0
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= bytes) {
        controller.error(new Error('origin sent nothing for 10000 ms mid-body'))
        return
      }
      const chunk = new Uint8Array(Math.min(16 * 1024, bytes - sent)).fill(97)
      sent += chunk.byteLength
      controller.enqueue(chunk)
    },
  })
}

describe('a body that fails while it is stored', () => {
  it.each([
    ['a small page (read whole for the memory tier)', 1024],
    ['a large body (streamed to the Cache API)', 600 * 1024],
  ])('leaves no entry: %s', async (_, bytes) => {
    forgetAll()
    const key = `https://blog.example/__georoute/cache/0/failing-${bytes}`
    await write(key, failingBody(bytes), meta(key), 60, MEMORY)
    expect(await lookUp(key)).toBeUndefined()
    expect(heldNow().entries).toBe(0)
  })

  it('stores the same body when it ends well (the test would notice a store that never works)', async () => {
    const key = 'https://blog.example/__georoute/cache/0/whole'
    await write(key, new Response('page').body, meta(key), 60, MEMORY)
    const entry = await lookUp(key)
    expect(await entry?.response.text()).toBe('page')
  })
})
