import * as v from 'valibot'
import { describe, expect, it } from 'vitest'
import { globsMatcher } from '../../worker/cache/glob'
import { compileRules } from '../../worker/cache/rules'
import { CacheSettingsSchema } from '../../worker/cache/settings'
import { validateConfig } from '../../worker/config'

const WRITES = { paths: ['/wp-comments-post.php'] }

function rules(cache: Record<string, unknown> = {}) {
  return compileRules({ cache: v.parse(CacheSettingsSchema, cache), writes: WRITES as never })
}

/** The compiler the globs had before worker/cache/glob.ts: the reference for their meaning. */
function regExpOracle(glob: string): RegExp {
  const source = glob
    .replace(/[.+?^$()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\{([^{}]*)\}/g, (_, alternatives: string) => `(?:${alternatives.replace(/,/g, '|')})`)
  return new RegExp(`^(?:${source})$`, 'i')
}

const bypass = (path: string, headers: Record<string, string> = {}, cache = {}) =>
  rules(cache).bypass(new Headers(headers), new URL(`https://blog.example${path}`).pathname)

describe('globs', () => {
  it('match the whole string, * being any run of characters', () => {
    const matches = globsMatcher(['utm_*'])
    expect(matches('utm_source')).toBe(true)
    expect(matches('xutm_source')).toBe(false)
  })

  it('accept {a,b} alternatives, case-insensitively', () => {
    const matches = globsMatcher(['*.{css,js}'])
    expect(matches('/a/b.CSS')).toBe(true)
    expect(matches('/a/b.json')).toBe(false)
  })

  it('let * run across slashes', () => {
    const matches = globsMatcher(['/wp-content/*.jpg'])
    expect(matches('/wp-content/uploads/2026/12/a.jpg')).toBe(true)
    expect(matches('/wp-content/.jpg')).toBe(true)
  })

  it('take every other character literally', () => {
    const matches = globsMatcher(['/a.b?c+(d)|[e]^$\\'])
    expect(matches('/a.b?c+(d)|[e]^$\\')).toBe(true)
    expect(matches('/aXbcc+(d)|[e]^$\\')).toBe(false)
  })

  it('match as the regular expressions they replace did', () => {
    const globs = [
      'utm_*',
      '*',
      '**',
      'a*',
      '*a',
      '*a*',
      'a*b*c',
      '*.{css,js}',
      '{a,b*c}x*',
      '/x/{,y}z',
      'ab*ba',
      'a{b,}*',
      '*{}*',
      '{x,X}*y',
      'a.b',
      '/wp-content/uploads/*/*/*.jpg',
    ]
    const inputs = [
      '',
      'a',
      'A',
      'ab',
      'aba',
      'abba',
      'abcabc',
      'abc',
      'acb',
      'utm_',
      'UTM_source',
      'x',
      'a.b',
      'axb',
      '/x/z',
      '/x/yz',
      '/x/yyz',
      'bcx',
      'bqqcxz',
      'Xy',
      'xxy',
      'style.CSS',
      '.js',
      'a.json',
      '/wp-content/uploads/2026/12/a.jpg',
      '/wp-content/uploads/a.jpg',
      '*',
      '{}',
    ]
    for (const glob of globs) {
      const oracle = regExpOracle(glob)
      const matches = globsMatcher([glob])
      for (const input of inputs)
        expect([glob, input, matches(input)]).toEqual([glob, input, oracle.test(input)])
    }
  })
})

describe('globs against hostile input', () => {
  // With regular expressions these took seconds of CPU each (8.6 s, 1.0 s and 1.2 s in Node
  // 20 before worker/cache/glob.ts), stalling the isolate for every reader.
  const FAST_MS = 200

  function timed(run: () => unknown): number {
    const started = performance.now()
    run()
    return performance.now() - started
  }

  it('matches a long path against nested-star defaultTtls quickly', () => {
    const compiled = rules({
      defaultTtls: [{ path: '/wp-content/uploads/*/*/*.jpg', seconds: 60 }],
    })
    const path = `/wp-content/uploads/${'/'.repeat(2_500)}`
    expect(
      timed(() => expect(compiled.defaultTtl(path, 'image/jpeg')).toBeUndefined()),
    ).toBeLessThan(FAST_MS)
  })

  it('matches a reader-chosen parameter name against ignoredParams quickly', () => {
    const compiled = rules({ ignoredParams: ['*_*_*_x'] })
    const name = '_'.repeat(1_500)
    expect(timed(() => expect(compiled.isIgnoredParam(name)).toBe(false))).toBeLessThan(FAST_MS)
  })

  it('matches a reader-chosen cookie name against bypassCookies quickly', () => {
    const compiled = rules({ bypassCookies: ['*-*-*-session'] })
    const cookie = `${'-'.repeat(1_500)}=1`
    expect(
      timed(() => expect(compiled.bypass(new Headers({ cookie }), '/')).toBeUndefined()),
    ).toBeLessThan(FAST_MS)
  })

  it('matches many star-heavy globs against 16 KiB inputs quickly', () => {
    const globs = Array.from({ length: 40 }, (_, i) => `*${'a*'.repeat(8)}${i}{b,c*d}*e`)
    const compiled = rules({
      ignoredParams: globs,
      bypassCookies: globs,
      defaultTtls: globs.map((g) => ({ path: `/${g}`, seconds: 1 })),
    })
    const hostile = 'a'.repeat(16 * 1024)
    const elapsed = timed(() => {
      expect(compiled.isIgnoredParam(hostile)).toBe(false)
      expect(compiled.bypass(new Headers({ cookie: `${hostile}=1` }), '/')).toBeUndefined()
      expect(compiled.defaultTtl(`/${hostile}`, null)).toBeUndefined()
    })
    expect(elapsed).toBeLessThan(FAST_MS)
  })
})

describe('bypass', () => {
  it.each(['/wp-admin', '/wp-admin/', '/wp-admin/edit.php', '/wp-login.php', '/ghost/api/x'])(
    'sends %s past the cache',
    (path) => {
      expect(bypass(path)).toBe('path')
    },
  )

  it('matches paths segment by segment, so a post named /admin-tips is cached', () => {
    expect(bypass('/admin-tips')).toBeUndefined()
  })

  it('sees through case and percent-encoding, as the origin would', () => {
    expect(bypass('/WP-Admin/')).toBe('path')
    expect(bypass('/wp%2Dadmin/')).toBe('path')
  })

  it('includes the write paths of settings.writes', () => {
    expect(bypass('/wp-comments-post.php')).toBe('path')
  })

  it('sends a logged-in WordPress reader past the cache', () => {
    expect(bypass('/', { cookie: '_ga=1; wordpress_logged_in_abc123=admin%7C1' })).toBe('cookie')
  })

  it('uses the configured cookie names', () => {
    expect(bypass('/', { cookie: 'session=1' }, { bypassCookies: ['session'] })).toBe('cookie')
    expect(bypass('/', { cookie: 'wordpress_logged_in_x=1' }, { bypassCookies: [] })).toBe(
      undefined,
    )
  })

  it('leaves the pin cookie to steering: its name alone does not bypass the cache', () => {
    expect(bypass('/', { cookie: '__georoute_pin=1.sig' })).toBeUndefined()
  })

  it('lets readers with only analytics cookies use the cache', () => {
    expect(bypass('/', { cookie: '_ga=GA1.1; _gid=2' })).toBeUndefined()
  })

  it('lets range requests use the cache (they are answered from the full response)', () => {
    expect(bypass('/video.mp4', { range: 'bytes=0-99' })).toBeUndefined()
  })

  it('bypasses everything when the cache is disabled', () => {
    expect(bypass('/', {}, { enabled: false })).toBe('disabled')
  })
})

describe('defaultTtl', () => {
  const ttl = (path: string, type: string | null, cache = {}) => rules(cache).defaultTtl(path, type)

  it('keeps static assets long', () => {
    expect(ttl('/wp-content/themes/x/style.css', 'text/css')).toBe(86_400)
    expect(ttl('/img/a.webp', 'image/webp')).toBe(86_400)
  })

  it('keeps pages and feeds short', () => {
    expect(ttl('/posts/hello', 'text/html; charset=utf-8')).toBe(60)
    expect(ttl('/feed/', 'application/rss+xml')).toBe(60)
  })

  it('gives other responses no default (JSON APIs are often per-user)', () => {
    expect(ttl('/wp-json/wp/v2/posts', 'application/json')).toBeUndefined()
  })

  it('gives a page served for an asset path no default at all (cache deception)', () => {
    expect(ttl('/account/x.css', 'text/html')).toBeUndefined()
  })

  it('uses the first matching rule', () => {
    const cache = {
      defaultTtls: [
        { path: '/news/*', seconds: 5 },
        { path: '*', seconds: 600 },
      ],
    }
    expect(ttl('/news/today', 'text/html', cache)).toBe(5)
    expect(ttl('/about', 'text/html', cache)).toBe(600)
  })
})

describe('settings.cache validation', () => {
  const ORIGINS = [{ id: 'a', url: 'https://a.example', lat: 0, lon: 0 }]

  it('names the field of a bad value', () => {
    const result = validateConfig(ORIGINS, { cache: { staleIfErrorSeconds: -1 } })
    expect(result.ok).toBe(false)
    if (!result.ok) {
      expect(result.errors).toEqual([
        'settings.cache.staleIfErrorSeconds: staleIfErrorSeconds must be at least 0',
      ])
    }
  })

  it('names the memory tier field of a bad value', () => {
    const result = validateConfig(ORIGINS, {
      cache: { memory: { maxAgeSeconds: 0, maxBytes: 128 * 1024 * 1024, extra: 1 } },
    })
    expect(result.ok).toBe(false)
    if (!result.ok) {
      expect(result.errors).toEqual([
        'settings.cache.memory.maxBytes: maxBytes must be at most 67108864 (64 MiB)',
        'settings.cache.memory.maxAgeSeconds: maxAgeSeconds must be at least 1',
        'settings.cache.memory: unknown field "extra"',
      ])
    }
  })

  it('refuses a glob with an unbalanced brace', () => {
    const result = validateConfig(ORIGINS, { cache: { ignoredParams: ['utm_{a'] } })
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.errors[0]).toMatch(/^settings\.cache\.ignoredParams\[0\]:/)
  })

  it('refuses a glob that stands for too many patterns', () => {
    const result = validateConfig(ORIGINS, { cache: { bypassCookies: ['{a,b}'.repeat(9)] } })
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.errors[0]).toMatch(/^settings\.cache\.bypassCookies\[0\]:/)
  })

  it('refuses a zone id that is not 32 hex characters', () => {
    const result = validateConfig(ORIGINS, { cache: { purgeZoneId: 'zone' } })
    expect(result.ok).toBe(false)
  })

  it('fills in the defaults', () => {
    const result = validateConfig(ORIGINS, {})
    if (!result.ok) throw new Error(result.errors.join('\n'))
    expect(result.config.settings.cache).toMatchObject({
      enabled: true,
      staleIfErrorSeconds: 86_400,
      staleIfErrorOverridesOrigin: false,
      memory: { maxBytes: 8 * 1024 * 1024, maxEntryBytes: 256 * 1024, maxAgeSeconds: 5 },
    })
  })
})
