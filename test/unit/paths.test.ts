import { describe, expect, it } from 'vitest'
import { compileRules } from '../../worker/cache/rules'
import { validateConfig } from '../../worker/config'
import { normalizedRoutePath } from '../../worker/paths'
import { isWrite } from '../../worker/writes'

describe('normalizedRoutePath', () => {
  it.each([
    ['/wp%2Dadmin/', '/wp-admin/'],
    ['/%77%70-admin/', '/wp-admin/'],
    ['//wp-admin/', '/wp-admin/'],
    ['///wp-admin//post.php', '/wp-admin/post.php'],
    ['/wp-admin;/', '/wp-admin/'],
    ['/wp-admin;jsessionid=1/post.php', '/wp-admin/post.php'],
    ['/wp-login.php;x', '/wp-login.php'],
    ['/index.php/wp-admin/', '/wp-admin/'],
    ['/INDEX.PHP/wp-admin/', '/wp-admin/'],
    ['/index.php/index.php/wp-admin', '/wp-admin'],
    ['/blog/index.php/wp-admin/', '/blog/wp-admin/'],
    ['/./wp-admin', '/wp-admin'],
    ['/x/../wp-admin', '/wp-admin'],
    ['/x/%2e%2e/wp-admin', '/wp-admin'],
    ['/../../wp-admin', '/wp-admin'],
    ['/x/..;/wp-admin', '/wp-admin'],
    ['/wp-admin%2Fpost.php', '/wp-admin/post.php'],
    ['/%2Fwp-admin', '/wp-admin'],
    ['/wp-admin%5Cpost.php', '/wp-admin/post.php'],
    ['/wp%252Dadmin', '/wp%2Dadmin'],
    ['/bad%E0%A4%2Dx', '/bad%E0%A4-x'],
    ['/100%', '/100%'],
  ])('reads %s as %s', (pathname, expected) => {
    expect(normalizedRoutePath(pathname)).toBe(expected)
  })

  it.each([
    '/',
    '/posts/hello',
    '/posts/hello/',
    '/index.php',
    '/wp-content/x.css',
    '/.well-known/a',
  ])('leaves %s as it is', (pathname) => {
    expect(normalizedRoutePath(pathname)).toBe(pathname)
  })

  it('decodes UTF-8 escapes as UTF-8', () => {
    expect(normalizedRoutePath('/caf%C3%A9/')).toBe('/caf\u00e9/')
  })

  it('keeps the case: the matchers ignore it', () => {
    expect(normalizedRoutePath('//WP-Admin/')).toBe('/WP-Admin/')
  })
})

const settings = () => {
  const result = validateConfig([{ id: 'fra', url: 'https://fra.example', lat: 50, lon: 8 }])
  if (!result.ok) throw new Error(result.errors.join('\n'))
  return result.config.settings
}

describe('write paths and bypass paths match the same normalised path', () => {
  const defaults = settings()
  const rules = compileRules(defaults)

  it.each([
    '/wp%2Dadmin/',
    '//wp-admin/',
    '/wp-admin;/',
    '/index.php/wp-admin/',
    '/./wp-admin',
    '/x/../wp-admin',
    '/wp-admin%2Fpost.php',
    '/WP-ADMIN/',
    '/index.php/wp-login.php',
    '//xmlrpc.php',
  ])('%s is a write and bypasses the cache', (path) => {
    expect(isWrite('GET', path, defaults.writes)).toBe(true)
    expect(rules.bypass(new Headers(), path)).toBe('path')
  })

  it.each(['/wp-adminx', '/posts/wp-admin', '/wp-content/uploads/a.png', '/index.php'])(
    '%s is neither',
    (path) => {
      expect(isWrite('GET', path, defaults.writes)).toBe(false)
      expect(rules.bypass(new Headers(), path)).toBeUndefined()
    },
  )
})
