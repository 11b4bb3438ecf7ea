import { describe, expect, it } from 'vitest'
import { browserCandidates, findBrowser } from './find-browser'

const PLAYWRIGHT = '/home/me/.cache/ms-playwright/chromium-1255/chrome-linux64/chrome'
const present =
  (...paths: string[]) =>
  (path: string) =>
    paths.includes(path)

describe('browserCandidates', () => {
  it('uses only GEOROUTE_CHROMIUM when it is set', () => {
    expect(browserCandidates({ GEOROUTE_CHROMIUM: '/opt/chrome' }, 'linux', PLAYWRIGHT)).toEqual([
      '/opt/chrome',
    ])
  })

  it("tries Debian's chromium first, then other installs, then playwright's own directory", () => {
    const paths = browserCandidates({}, 'linux', PLAYWRIGHT)
    expect(paths[0]).toBe('/usr/bin/chromium')
    expect(paths).toContain('/usr/bin/google-chrome')
    expect(paths.at(-1)).toBe(PLAYWRIGHT)
  })

  it('looks for Google Chrome in /Applications on macOS', () => {
    expect(browserCandidates({}, 'darwin', undefined)).toContain(
      '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
    )
  })
})

describe('findBrowser', () => {
  it('picks the first candidate that exists', () => {
    const found = findBrowser(
      ['/usr/bin/chromium', '/usr/bin/google-chrome', PLAYWRIGHT],
      present('/usr/bin/google-chrome', PLAYWRIGHT),
      {},
    )
    expect(found).toEqual({ found: true, path: '/usr/bin/google-chrome' })
  })

  it('says where it looked and how to install a browser when none exists', () => {
    const found = findBrowser(['/usr/bin/chromium', PLAYWRIGHT], present(), {})
    expect(found).toMatchObject({ found: false, required: false })
    expect(found.found || found.reason).toContain(`looked in /usr/bin/chromium, ${PLAYWRIGHT}`)
    expect(found.found || found.reason).toContain('sudo apt-get install -y chromium')
  })

  it('names GEOROUTE_CHROMIUM when the path it gives does not exist', () => {
    const env = { GEOROUTE_CHROMIUM: '/opt/chrome' }
    const found = findBrowser(['/opt/chrome'], present(), env)
    expect(found.found || found.reason).toContain('GEOROUTE_CHROMIUM=/opt/chrome does not exist')
  })

  it('requires a browser only when GEOROUTE_REQUIRE_BROWSER=1, not on CI=true alone', () => {
    expect(findBrowser([], present(), { GEOROUTE_REQUIRE_BROWSER: '1' })).toMatchObject({
      required: true,
    })
    expect(findBrowser([], present(), { CI: 'true' })).toMatchObject({ required: false })
  })
})
