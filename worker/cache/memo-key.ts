/**
 * Short keys for per-isolate memos. A cache key is as long as the reader's URL (up to 16 KiB):
 * a memo keyed by it costs what readers choose. Keys longer than `MAX_MEMO_KEY` are replaced by
 * a 64-bit FNV-1a digest: synchronous and cheap on the hot path, and good enough where a
 * collision only costs a cache miss (never for anything whose value a reader is served).
 */

/** Longest key a memo keeps as it is. */
export const MAX_MEMO_KEY = 256

/**
 * 64-bit FNV-1a over the UTF-16 code units of `text` (over its bytes for Latin-1 text), as 16 hex
 * digits.
 */
export function fnv1a64(text: string): string {
  // Four 16-bit limbs, low first: exact 64-bit arithmetic without BigInt (far slower here).
  let h0 = 0x2325
  let h1 = 0x8422
  let h2 = 0x9ce4
  let h3 = 0xcbf2
  for (let i = 0; i < text.length; i++) {
    h0 ^= text.charCodeAt(i)
    // × the FNV prime 2^40 + 0x1b3, mod 2^64: limbs 0 and 1 shifted by 40 bits land in 2 and 3.
    const r0 = h0 * 0x1b3
    const r1 = h1 * 0x1b3 + (r0 >>> 16)
    const r2 = h2 * 0x1b3 + (h0 << 8) + (r1 >>> 16)
    const r3 = h3 * 0x1b3 + (h1 << 8) + (r2 >>> 16)
    h0 = r0 & 0xffff
    h1 = r1 & 0xffff
    h2 = r2 & 0xffff
    h3 = r3 & 0xffff
  }
  const hex = (limb: number) => limb.toString(16).padStart(4, '0')
  return `${hex(h3)}${hex(h2)}${hex(h1)}${hex(h0)}`
}

/** `key` itself when short, else its length and digest (`#<length>:<fnv1a64>`). */
export function memoKey(key: string): string {
  return key.length <= MAX_MEMO_KEY ? key : `#${key.length}:${fnv1a64(key)}`
}
