import { describe, expect, it } from 'vitest'
import {
  affinityOrigin,
  buildCookie,
  claimedBuild,
  cookieSecret,
  pinCookie,
  pinnedUntil,
  readerBuild,
  readPin,
  sign,
  verify,
} from '../../worker/cookies'

const SECRET = 'cookie-secret-for-tests'
const ADMIN_TOKEN = 'admin-token-for-tests'
const encoder = new TextEncoder()

/** HMAC-SHA256 keyed by the secret itself, base64url: how cookies were signed before HKDF. */
async function hmacWithSecret(secret: string, message: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    'raw',
    encoder.encode(secret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  )
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, encoder.encode(message)))
  return btoa(String.fromCharCode(...mac))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '')
}

describe('signed cookies', () => {
  it('verify what they signed', async () => {
    const signed = await sign(SECRET, 'pin', '123')
    expect(await verify(SECRET, 'pin', signed)).toBe('123')
  })

  it.each(['1.A', '1.AAAAA', '.', '1.', 'x.=', '1.A.A'])(
    'ignore the malformed value %s without throwing',
    async (value) => {
      expect(await verify(SECRET, 'pin', value)).toBeUndefined()
      expect(await pinnedUntil(SECRET, `__georoute_pin=${value}`, 0)).toBeUndefined()
    },
  )
})

describe('the cookie signing key', () => {
  const adminOnly = { ADMIN_TOKEN }

  it('is not the admin token: a signature is not HMAC(ADMIN_TOKEN, payload)', async () => {
    const signed = await sign(cookieSecret(adminOnly), 'pin', '123')
    expect(signed.slice(signed.indexOf('.') + 1)).not.toBe(
      await hmacWithSecret(ADMIN_TOKEN, 'pin:123'),
    )
  })

  it('refuses a pin signed with the admin token itself', async () => {
    const until = String(Date.now() + 60_000)
    const old = `__georoute_pin=${until}.${await hmacWithSecret(ADMIN_TOKEN, `pin:${until}`)}`
    expect(await pinnedUntil(cookieSecret(adminOnly), old, Date.now())).toBeUndefined()
  })

  it('refuses an affinity cookie signed with the admin token itself', async () => {
    const old = `__georoute_aff=tokyo.${await hmacWithSecret(ADMIN_TOKEN, 'affinity:tokyo')}`
    expect(await affinityOrigin(cookieSecret(adminOnly), old)).toBeUndefined()
  })

  it('is derived from COOKIE_SECRET when set, never the secret itself', async () => {
    const env = { COOKIE_SECRET: SECRET, ADMIN_TOKEN }
    const signed = await sign(cookieSecret(env), 'affinity', 'tokyo')
    expect(signed).not.toBe(`tokyo.${await hmacWithSecret(SECRET, 'affinity:tokyo')}`)
    expect(signed).not.toBe(`tokyo.${await hmacWithSecret(ADMIN_TOKEN, 'affinity:tokyo')}`)
    expect(await verify(cookieSecret(env), 'affinity', signed)).toBe('tokyo')
    expect(await verify(ADMIN_TOKEN, 'affinity', signed)).toBeUndefined()
  })
})

describe('the pin with a replication position', () => {
  it('carries the position, signed', async () => {
    const now = Date.now()
    const value = (await pinCookie(SECRET, now, 30, true, '16/B374D848')).split(';')[0]!
    expect(value).toMatch(/^__georoute_pin=\d+~16\/B374D848\.[\w-]+$/)
    expect(await readPin(SECRET, value, now)).toEqual({
      until: now + 30_000,
      position: '16/B374D848',
    })
  })

  it('refuses a pin whose position was edited', async () => {
    const now = Date.now()
    const value = (await pinCookie(SECRET, now, 30, true, '100')).split(';')[0]!
    const edited = value.replace('~100.', '~1.')
    expect(await readPin(SECRET, edited, now)).toBeUndefined()
  })

  it('still reads a pin without position (the time window)', async () => {
    const now = Date.now()
    const value = (await pinCookie(SECRET, now, 30, false)).split(';')[0]!
    expect(await readPin(SECRET, value, now)).toEqual({ until: now + 30_000 })
  })
})

describe('the build cookie', () => {
  it('keeps the reader on the build it was signed for', async () => {
    const value = (await buildCookie(SECRET, 'build-b', 3600, true)).split(';')[0]!
    expect(await readerBuild(SECRET, value)).toBe('build-b')
    expect(claimedBuild(value)).toBe('build-b')
  })

  it('refuses a forged one', async () => {
    const forged = (await buildCookie('another secret', 'build-b', 3600, true)).split(';')[0]!
    expect(await readerBuild(SECRET, forged)).toBeUndefined()
    const edited = (await buildCookie(SECRET, 'build-b', 3600, true))
      .split(';')[0]!
      .replace('build-b.', 'build-a.')
    expect(await readerBuild(SECRET, edited)).toBeUndefined()
  })

  it('is not a pin nor an affinity cookie under another name', async () => {
    const signed = await sign(SECRET, 'affinity', 'build-b')
    expect(await readerBuild(SECRET, `__georoute_build=${signed}`)).toBeUndefined()
  })

  it('is cleared with Max-Age=0', async () => {
    expect(await buildCookie(SECRET, '', 0, true)).toMatch(/^__georoute_build=; .*Max-Age=0/)
  })
})
