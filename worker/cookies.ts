/**
 * Signed cookies that steer one reader: the read-your-writes pin (to the primary, for a short
 * window after a write) and optional session affinity (to the origin that first served them).
 * Signed with HMAC-SHA256, under a key derived from the secret, so a reader cannot forge or
 * extend them, nor learn anything about the secret from them.
 */

export const PIN_COOKIE = '__georoute_pin'
export const AFFINITY_COOKIE = '__georoute_aff'
/** Keeps a reader on the build that served them while origins run different builds. */
export const BUILD_COOKIE = '__georoute_build'

const encoder = new TextEncoder()

/**
 * HKDF's `info`: the signing key is derived for this one purpose, never the secret itself, so
 * a cookie is no oracle for the secret it came from (the admin token, when no COOKIE_SECRET).
 */
const SIGNING_LABEL = encoder.encode('georoute cookie signing v1')

// One derived key per secret value per isolate; a handful at most (a secret rotated in place).
const keys = new Map<string, Promise<CryptoKey>>()
const MAX_KEYS = 8

/** The HMAC-SHA256 key derived from `secret` with HKDF-SHA256 (empty salt, RFC 5869). */
function signingKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret)
  if (!key) {
    key = crypto.subtle
      .importKey('raw', encoder.encode(secret), 'HKDF', false, ['deriveKey'])
      .then((base) =>
        crypto.subtle.deriveKey(
          { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: SIGNING_LABEL },
          base,
          { name: 'HMAC', hash: 'SHA-256', length: 256 },
          false,
          ['sign', 'verify'],
        ),
      )
    if (keys.size >= MAX_KEYS) keys.clear()
    keys.set(secret, key)
  }
  return key
}

function base64url(bytes: ArrayBuffer): string {
  let binary = ''
  for (const byte of new Uint8Array(bytes)) binary += String.fromCharCode(byte)
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

function fromBase64url(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9_-]{1,100}$/.test(text)) return undefined
  let binary: string
  try {
    binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'))
  } catch {
    // A length no base64 text has (`1.A`): malformed, so ignored like a forged one.
    return undefined
  }
  return Uint8Array.from(binary, (c) => c.charCodeAt(0))
}

/** `value.signature`, where the signature covers the cookie's purpose and value. */
export async function sign(secret: string, purpose: string, value: string): Promise<string> {
  const mac = await crypto.subtle.sign(
    'HMAC',
    await signingKey(secret),
    encoder.encode(`${purpose}:${value}`),
  )
  return `${value}.${base64url(mac)}`
}

/** The value of a signed cookie, or `undefined` when missing, malformed or forged. */
export async function verify(
  secret: string,
  purpose: string,
  signed: string | undefined,
): Promise<string | undefined> {
  if (!signed) return undefined
  const dot = signed.lastIndexOf('.')
  if (dot <= 0) return undefined
  const value = signed.slice(0, dot)
  const mac = fromBase64url(signed.slice(dot + 1))
  if (!mac) return undefined
  const ok = await crypto.subtle.verify(
    'HMAC',
    await signingKey(secret),
    mac,
    encoder.encode(`${purpose}:${value}`),
  )
  return ok ? value : undefined
}

/** One cookie's value from a `Cookie` header. */
export function readCookie(header: string | null, name: string): string | undefined {
  if (!header) return undefined
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return undefined
}

/** A `Set-Cookie` value for one of our cookies: HttpOnly, SameSite=Lax, Secure on https. */
export function cookie(
  name: string,
  value: string,
  maxAgeSeconds: number,
  secure: boolean,
): string {
  return `${name}=${value}; Path=/; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`
}

/** A valid, unexpired pin: until when, and the replication position the reader's write made. */
export interface Pin {
  until: number
  /** The position header's text as the primary sent it (`settings.writes.position`), if any. */
  position?: string
}

/** The pin's value: `<expiry ms>`, or `<expiry ms>~<position>` when the write's position is known. */
const PIN_VALUE = /^(\d{1,16})(?:~([0-9A-Za-z/]{1,64}))?$/

/** The reader's pin when they hold a valid, unexpired one. */
export async function readPin(
  secret: string,
  cookieHeader: string | null,
  now: number,
): Promise<Pin | undefined> {
  const value = await verify(secret, 'pin', readCookie(cookieHeader, PIN_COOKIE))
  const match = value === undefined ? null : PIN_VALUE.exec(value)
  if (!match) return undefined
  const until = Number(match[1])
  if (!Number.isSafeInteger(until) || until <= now) return undefined
  return match[2] ? { until, position: match[2] } : { until }
}

/** The pin's expiry (ms) when the reader holds a valid, unexpired pin. */
export async function pinnedUntil(
  secret: string,
  cookieHeader: string | null,
  now: number,
): Promise<number | undefined> {
  return (await readPin(secret, cookieHeader, now))?.until
}

/**
 * A `Set-Cookie` pinning the reader for `seconds`: to the primary, or, with `position` (the
 * primary's replication position after the write), to origins known to have reached it.
 */
export async function pinCookie(
  secret: string,
  now: number,
  seconds: number,
  secure: boolean,
  position?: string,
): Promise<string> {
  const until = String(now + seconds * 1000)
  const value = position && /^[0-9A-Za-z/]{1,64}$/.test(position) ? `${until}~${position}` : until
  return cookie(PIN_COOKIE, await sign(secret, 'pin', value), seconds, secure)
}

/** The build a reader is kept on by a valid build cookie. */
export async function readerBuild(
  secret: string,
  cookieHeader: string | null,
): Promise<string | undefined> {
  return verify(secret, 'build', readCookie(cookieHeader, BUILD_COOKIE))
}

/**
 * The build a reader's build cookie claims, unverified: for the fresh-hit path, which must do no
 * crypto. A forged claim can only turn that reader's own hits into misses.
 */
export function claimedBuild(cookieHeader: string | null): string | undefined {
  const signed = readCookie(cookieHeader, BUILD_COOKIE)
  const dot = signed?.lastIndexOf('.') ?? -1
  return dot > 0 ? signed!.slice(0, dot) : undefined
}

/** A `Set-Cookie` keeping the reader on `build` (cleared with `seconds` 0). */
export async function buildCookie(
  secret: string,
  build: string,
  seconds: number,
  secure: boolean,
): Promise<string> {
  if (seconds === 0) return cookie(BUILD_COOKIE, '', 0, secure)
  return cookie(BUILD_COOKIE, await sign(secret, 'build', build), seconds, secure)
}

/** The origin id a reader is attached to by a valid affinity cookie. */
export async function affinityOrigin(
  secret: string,
  cookieHeader: string | null,
): Promise<string | undefined> {
  return verify(secret, 'affinity', readCookie(cookieHeader, AFFINITY_COOKIE))
}

/** A `Set-Cookie` attaching the reader to `originId`. */
export async function affinityCookie(
  secret: string,
  originId: string,
  seconds: number,
  secure: boolean,
): Promise<string> {
  return cookie(AFFINITY_COOKIE, await sign(secret, 'affinity', originId), seconds, secure)
}

let isolateSecret: string | undefined

/**
 * The secret the signing key is derived from: `COOKIE_SECRET`, else the admin token. With
 * neither, a random secret per isolate: pins and affinity then hold only within one isolate
 * (logged once).
 */
export function cookieSecret(env: { COOKIE_SECRET?: string; ADMIN_TOKEN?: string }): string {
  const configured = env.COOKIE_SECRET || env.ADMIN_TOKEN
  if (configured) return configured
  if (!isolateSecret) {
    isolateSecret = crypto.randomUUID()
    console.warn(
      JSON.stringify({
        message: 'georoute: COOKIE_SECRET is not set; reader pins last one isolate',
      }),
    )
  }
  return isolateSecret
}
