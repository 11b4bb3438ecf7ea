import { describe, expect, it } from 'vitest'
import {
  cacheDirectives,
  normaliseVaried,
  parseAge,
  parseCacheControl,
  parseHttpDate,
  parseTargeted,
} from '../../worker/cache/directives'
import { forbidsSharing } from '../../worker/cache/pass'

const NOW = Date.UTC(2026, 11, 3)

describe('parseCacheControl (RFC 9111 §5.2)', () => {
  it('reads directive names case-insensitively', () => {
    expect(parseCacheControl('MaX-AgE=60, No-CaChE')).toEqual({ 'max-age': '60', 'no-cache': true })
  })

  it.each(['max-age =60', 'max-age= 60'])('ignores the malformed member in "%s"', (value) => {
    expect(parseCacheControl(`${value}, public`)).toEqual({ public: true })
  })

  it('reads quoted values, commas inside them included', () => {
    expect(parseCacheControl('no-cache="a, b", ext="max-age=9", max-age=1')).toEqual({
      'no-cache': 'a, b',
      ext: 'max-age=9',
      'max-age': '1',
    })
  })

  it('keeps the last of a repeated directive, as the policy library always did', () => {
    expect(parseCacheControl('max-age=1, max-age=1800')['max-age']).toBe('1800')
  })
})

describe('parseTargeted (RFC 9213: a Structured Field dictionary)', () => {
  it('reads integers, flags and tokens', () => {
    expect(parseTargeted('max-age=3600, no-cache, foo=bar')).toEqual({
      'max-age': '3600',
      'no-cache': true,
      foo: 'bar',
    })
  })

  it('folds upper-case directive names, as Cache-Control does', () => {
    expect(parseTargeted('MaX-aGe=3600')).toEqual({ 'max-age': '3600' })
  })

  it.each(['max-age=10000, &&&&&', 'max-age =100', 'max-age= 100', 'max-age=1,'])(
    'ignores the whole field "%s" when it does not parse',
    (value) => {
      expect(parseTargeted(value)).toBeUndefined()
    },
  )

  it('ignores a directive whose value has the wrong type, and an empty result', () => {
    expect(parseTargeted('max-age="10000"')).toBeUndefined()
    expect(parseTargeted('max-age="10000", public')).toEqual({ public: true })
  })
})

describe('cacheDirectives: which field this cache obeys', () => {
  const from = (headers: Record<string, string>) =>
    cacheDirectives((name) => new Headers(headers).get(name))

  it('prefers Cloudflare-CDN-Cache-Control, then CDN-Cache-Control, then Cache-Control', () => {
    const all = {
      'cache-control': 'max-age=1',
      'cdn-cache-control': 'max-age=2',
      'cloudflare-cdn-cache-control': 'max-age=3',
    }
    expect(from(all).directives).toEqual({ 'max-age': '3' })
    const { 'cloudflare-cdn-cache-control': _, ...two } = all
    expect(from(two)).toEqual({ directives: { 'max-age': '2' }, source: 'cdn-cache-control' })
  })

  it('falls back to Cache-Control when the targeted field is invalid', () => {
    const headers = { 'cache-control': 'no-store', 'cdn-cache-control': 'max-age=9, &&' }
    expect(from(headers)).toEqual({ directives: { 'no-store': true }, source: 'cache-control' })
  })
})

describe('forbidsSharing (hit-for-pass) by the targeted directives', () => {
  it('does not start a pass for Cache-Control: no-store when CDN-Cache-Control allows storing', () => {
    const headers = new Headers({ 'cache-control': 'no-store', 'cdn-cache-control': 'max-age=60' })
    expect(forbidsSharing(headers)).toBe(false)
  })

  it('starts one for CDN-Cache-Control: private over a fresh Cache-Control', () => {
    const headers = new Headers({ 'cache-control': 'max-age=60', 'cdn-cache-control': 'private' })
    expect(forbidsSharing(headers)).toBe(true)
  })

  it('leaves no-store with must-understand to the storage decision', () => {
    const headers = new Headers({ 'cache-control': 'max-age=60, no-store, must-understand' })
    expect(forbidsSharing(headers)).toBe(false)
  })
})

describe('parseHttpDate (RFC 9110 §5.6.7)', () => {
  it('reads IMF-fixdate', () => {
    expect(parseHttpDate('Thu, 18 Aug 2050 02:01:18 GMT', NOW)).toBe(
      Date.UTC(2050, 7, 18, 2, 1, 18),
    )
  })

  it('reads the obsolete RFC 850 form, a two-digit year within 50 years ahead', () => {
    expect(parseHttpDate('Thursday, 18-Aug-50 02:01:18 GMT', NOW)).toBe(
      Date.UTC(2050, 7, 18, 2, 1, 18),
    )
    expect(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT', NOW)).toBe(
      Date.UTC(1994, 10, 6, 8, 49, 37),
    )
  })

  it('reads the obsolete asctime form', () => {
    expect(parseHttpDate('Thu Aug  8 02:01:18 2050', NOW)).toBe(Date.UTC(2050, 7, 8, 2, 1, 18))
  })

  it('does not hold letter case against a date', () => {
    expect(parseHttpDate('THU, 18 AUG 2050 02:01:18 gmt', NOW)).toBe(
      Date.UTC(2050, 7, 18, 2, 1, 18),
    )
  })

  it.each([
    'Thu, 18 Aug 2050 02:01:18 UTC',
    'Thu, 18 Aug 2050 02:01:18 AEST',
    'Thu, 18 Aug 50 02:01:18 GMT',
    'Thu 18 Aug 2050 02:01:18 GMT',
    'Thu, 18  Aug  2050 02:01:18 GMT',
    'Thu, 18-Aug-2050 02:01:18 GMT',
    'Thu, 18 Aug 2050 02.01.18 GMT',
    'Thu, 18 Aug 2050 2:01:18 GMT',
    'Thu, 31 Feb 2050 02:01:18 GMT',
    'Thu, 18 Aug 2050 02:01:18 GMT, Thu, 18 Aug 2050 02:01:19 GMT',
    '0',
  ])('rejects "%s"', (value) => {
    expect(parseHttpDate(value, NOW)).toBeUndefined()
  })
})

describe('parseAge (RFC 9111 §5.1)', () => {
  it.each([
    ['3600', 3600],
    ['0, 7200', 0],
    ['7200;foo=bar', 7200],
  ])('reads "%s" as %d', (value, seconds) => {
    expect(parseAge(value)).toBe(seconds)
  })

  it.each(['7200.0', '1.5', '-7200', 'abc'])('ignores "%s"', (value) => {
    expect(parseAge(value)).toBeUndefined()
  })
})

describe('normaliseVaried: request fields as Vary matching compares them', () => {
  it('trims list members and joins them alike', () => {
    expect(normaliseVaried('foo', ' 1, 2 ')).toBe(normaliseVaried('foo', '1,2'))
  })

  it('ignores the case, spacing and order of equally weighted Accept-Language ranges', () => {
    const stored = normaliseVaried('accept-language', 'en, de')
    expect(normaliseVaried('accept-language', 'de, en')).toBe(stored)
    expect(normaliseVaried('accept-language', 'eN, De')).toBe(stored)
    expect(normaliseVaried('accept-language', ' en ,   de')).toBe(stored)
  })

  it('keeps Accept-Language weights apart', () => {
    expect(normaliseVaried('accept-language', 'en;q=0.5, de')).toBe('de, en;q=0.5')
    expect(normaliseVaried('accept-language', 'en, de;q=0.5')).not.toBe('de, en;q=0.5')
  })
})
