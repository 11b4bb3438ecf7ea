import { createHmac, hkdfSync } from 'node:crypto'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type Georoute, startGeoroute } from './harness'
import { useDemoOrigins } from './origins'

const TOKYO = '35.68,139.69'
const SECRET = 'cookie-secret-for-tests'
const { byId, posts, originsList } = useDemoOrigins()
let georoute: Georoute

/** Signs a cookie value the way the Worker does (HMAC-SHA256 under an HKDF key, base64url). */
function signed(purpose: string, value: string, secret = SECRET) {
  const key = Buffer.from(hkdfSync('sha256', secret, '', 'georoute cookie signing v1', 32))
  const mac = createHmac('sha256', key).update(`${purpose}:${value}`).digest('base64url')
  return `${value}.${mac}`
}

beforeAll(async () => {
  georoute = await startGeoroute({
    origins: originsList(),
    // Every read must reach an origin here: the edge cache is off (test/e2e/cache.test.ts has it).
    settings: { writes: { pinSeconds: 30, affinity: true }, cache: { enabled: false } },
    bindings: { COOKIE_SECRET: SECRET, ADMIN_TOKEN: 'admin-token' },
  })
})

afterEach(async () => {
  await georoute.fetch('/__georoute/origins/frankfurt/undrain', {
    method: 'POST',
    headers: { authorization: 'Bearer admin-token' },
  })
})

afterAll(async () => {
  await georoute?.dispose()
})

describe('writes', () => {
  it('sends a comment from a reader in Tokyo to the primary in Frankfurt', async () => {
    const response = await georoute.fetch('/comments', { method: 'POST', body: 'hi', geo: TOKYO })
    expect(response.status).toBe(201)
    expect(response.headers.get('x-georoute-origin')).toBe('frankfurt')
    expect(posts()).toHaveLength(1)
  })

  it.each(['/wp-admin/', '/wp-login.php', '/ghost/api/admin/posts'])(
    'sends a GET under the write path %s to the primary',
    async (path) => {
      const response = await georoute.fetch(path, { geo: TOKYO })
      await response.arrayBuffer()
      expect(response.headers.get('x-georoute-origin')).toBe('frankfurt')
    },
  )

  it('answers a write with 503 and Retry-After, sending nothing, while the primary is drained', async () => {
    const drain = await georoute.fetch('/__georoute/origins/frankfurt/drain', {
      method: 'POST',
      headers: { authorization: 'Bearer admin-token' },
    })
    expect(drain.status).toBe(200)
    const response = await georoute.fetch('/comments', { method: 'POST', body: 'hi', geo: TOKYO })
    expect(response.status).toBe(503)
    expect(response.headers.get('retry-after')).toMatch(/^\d+$/)
    expect(posts()).toHaveLength(0)
    // Reads still work, from the other origins.
    const read = await georoute.fetch('/posts/a', { geo: '48.86,2.35' })
    expect(read.status).toBe(200)
    expect(read.headers.get('x-georoute-origin')).toBe('virginia')
  })

  it('gives a clean 502 and never retries a write when the primary resets it', async () => {
    byId('frankfurt').setMode('reset')
    const response = await georoute.fetch('/comments', { method: 'POST', body: 'hi', geo: TOKYO })
    expect(response.status).toBe(502)
    expect(posts()).toHaveLength(1)
    expect(byId('frankfurt').requests).toHaveLength(1)
  })
})

describe('read-your-writes pin', () => {
  it('sets a signed HttpOnly SameSite pin cookie after a successful write', async () => {
    const response = await georoute.fetch('/comments', { method: 'POST', body: 'hi', geo: TOKYO })
    const cookie = response.headers.get('set-cookie') ?? ''
    expect(cookie).toMatch(/^__georoute_pin=\d+\.[\w-]+;/)
    expect(cookie).toContain('HttpOnly')
    expect(cookie).toContain('SameSite=Lax')
    expect(cookie).toContain('Max-Age=30')
    expect(cookie).toContain('Secure')
  })

  it('serves a pinned reader in Tokyo from the primary', async () => {
    const write = await georoute.fetch('/comments', { method: 'POST', body: 'hi', geo: TOKYO })
    const pin = (write.headers.get('set-cookie') ?? '').split(';')[0]!
    const read = await georoute.fetch('/posts/a', { geo: TOKYO, headers: { cookie: pin } })
    await read.arrayBuffer()
    expect(read.headers.get('x-georoute-origin')).toBe('frankfurt')
  })

  it('does not pin other readers', async () => {
    await georoute.fetch('/comments', { method: 'POST', body: 'hi', geo: TOKYO })
    const read = await georoute.fetch('/posts/a', { geo: TOKYO })
    await read.arrayBuffer()
    expect(read.headers.get('x-georoute-origin')).toBe('tokyo')
  })

  it('ignores an expired pin', async () => {
    const expired = `__georoute_pin=${signed('pin', String(Date.now() - 1_000))}`
    const read = await georoute.fetch('/posts/a', { geo: TOKYO, headers: { cookie: expired } })
    await read.arrayBuffer()
    expect(read.headers.get('x-georoute-origin')).toBe('tokyo')
  })

  it('ignores a forged pin', async () => {
    const forged = `__georoute_pin=${signed('pin', String(Date.now() + 60_000), 'wrong secret')}`
    const read = await georoute.fetch('/posts/a', { geo: TOKYO, headers: { cookie: forged } })
    await read.arrayBuffer()
    expect(read.headers.get('x-georoute-origin')).toBe('tokyo')
  })

  it('ignores a pin whose expiry was edited', async () => {
    const real = signed('pin', String(Date.now() + 1_000))
    const edited = `__georoute_pin=${String(Date.now() + 3_600_000)}${real.slice(real.indexOf('.'))}`
    const read = await georoute.fetch('/posts/a', { geo: TOKYO, headers: { cookie: edited } })
    await read.arrayBuffer()
    expect(read.headers.get('x-georoute-origin')).toBe('tokyo')
  })
})

describe('pins and the edge cache', () => {
  let cached: Georoute

  beforeAll(async () => {
    cached = await startGeoroute({ origins: originsList(), bindings: { COOKIE_SECRET: SECRET } })
  })

  afterAll(async () => {
    await cached?.dispose()
  })

  /** Reads `path` twice without cookies, so the edge holds a fresh copy. */
  async function warm(path: string) {
    for (let i = 0; i < 2; i++) await (await cached.fetch(path, { geo: TOKYO })).arrayBuffer()
  }

  it('serves a pinned reader past the edge cache, so they see their own write', async () => {
    await warm('/posts/pinned-page')
    const write = await cached.fetch('/comments', { method: 'POST', body: 'hi', geo: TOKYO })
    const pin = (write.headers.get('set-cookie') ?? '').split(';')[0]!
    const read = await cached.fetch('/posts/pinned-page', { geo: TOKYO, headers: { cookie: pin } })
    await read.arrayBuffer()
    expect(read.headers.get('x-georoute-cache')).toBe('BYPASS')
    expect(read.headers.get('x-georoute-origin')).toBe('frankfurt')
  })

  it('serves a reader with a malformed pin the normal page, cached like anyone else', async () => {
    const cookie = '__georoute_pin=1.A'
    const first = await cached.fetch('/posts/malformed-pin', { geo: TOKYO, headers: { cookie } })
    await first.arrayBuffer()
    expect(first.status).toBe(200)
    expect(first.headers.get('x-georoute-origin')).toBe('tokyo')
    const again = await cached.fetch('/posts/malformed-pin', { geo: TOKYO, headers: { cookie } })
    await again.arrayBuffer()
    expect(again.status).toBe(200)
    expect(again.headers.get('x-georoute-cache')).toBe('HIT')
  })

  it('serves a reader with a forged pin from the edge cache, as anyone else', async () => {
    await warm('/posts/forged-pin')
    const forged = `__georoute_pin=${signed('pin', String(Date.now() + 60_000), 'wrong secret')}`
    const read = await cached.fetch('/posts/forged-pin', {
      geo: TOKYO,
      headers: { cookie: forged },
    })
    await read.arrayBuffer()
    expect(read.headers.get('x-georoute-cache')).toBe('HIT')
  })
})

describe('session affinity', () => {
  it('keeps a reader on the origin that first served them', async () => {
    const first = await georoute.fetch('/posts/a', { geo: TOKYO })
    await first.arrayBuffer()
    expect(first.headers.get('x-georoute-origin')).toBe('tokyo')
    const cookie = (first.headers.get('set-cookie') ?? '').split(';')[0]!
    expect(cookie).toMatch(/^__georoute_aff=tokyo\./)
    // The same reader, now travelling in Paris, stays on Tokyo.
    const again = await georoute.fetch('/posts/a', { geo: '48.86,2.35', headers: { cookie } })
    await again.arrayBuffer()
    expect(again.headers.get('x-georoute-origin')).toBe('tokyo')
    expect(again.headers.get('set-cookie')).toBeNull()
  })

  it('breaks affinity when that origin is drained, and re-attaches the reader', async () => {
    const cookie = `__georoute_aff=${signed('affinity', 'frankfurt')}`
    await georoute.fetch('/__georoute/origins/frankfurt/drain', {
      method: 'POST',
      headers: { authorization: 'Bearer admin-token' },
    })
    const read = await georoute.fetch('/posts/a', { geo: TOKYO, headers: { cookie } })
    await read.arrayBuffer()
    expect(read.headers.get('x-georoute-origin')).toBe('tokyo')
    expect(read.headers.get('set-cookie')).toMatch(/^__georoute_aff=tokyo\./)
  })

  it('ignores a forged affinity cookie', async () => {
    const cookie = `__georoute_aff=${signed('affinity', 'virginia', 'wrong secret')}`
    const read = await georoute.fetch('/posts/a', { geo: TOKYO, headers: { cookie } })
    await read.arrayBuffer()
    expect(read.headers.get('x-georoute-origin')).toBe('tokyo')
  })
})
