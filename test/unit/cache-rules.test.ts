import * as v from 'valibot'
import { describe, expect, it } from 'vitest'
import { compileRules, globsRegExp } from '../../worker/cache/rules'
import { CacheSettingsSchema } from '../../worker/cache/settings'
import { validateConfig } from '../../worker/config'

const WRITES = { paths: ['/wp-comments-post.php'] }

function rules(cache: Record<string, unknown> = {}) {
  return compileRules({ cache: v.parse(CacheSettingsSchema, cache), writes: WRITES as never })
}

const bypass = (path: string, headers: Record<string, string> = {}, cache = {}) =>
  rules(cache).bypass(new Headers(headers), new URL(`https://blog.example${path}`).pathname)

describe('globs', () => {
  it('match the whole string, * being any run of characters', () => {
    const re = globsRegExp(['utm_*'])
    expect(re.test('utm_source')).toBe(true)
    expect(re.test('xutm_source')).toBe(false)
  })

  it('accept {a,b} alternatives, case-insensitively', () => {
    const re = globsRegExp(['*.{css,js}'])
    expect(re.test('/a/b.CSS')).toBe(true)
    expect(re.test('/a/b.json')).toBe(false)
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

  it('sends a reader pinned after a write past the cache', () => {
    expect(bypass('/', { cookie: '__georoute_pin=1.sig' })).toBe('cookie')
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
