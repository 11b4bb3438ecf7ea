import { statSync } from 'node:fs'
import { chromium } from 'playwright-core'

/** Set to a Chrome or Chromium binary: the browser tests use that one and look nowhere else. */
export const BROWSER_PATH_VARIABLE = 'GEOROUTE_CHROMIUM'
/**
 * Set to `1` (CI does, see .ci/run): no browser is a failure instead of a skip. Only this
 * variable, not `CI=true`, so a contributor's own CI without a browser still passes.
 */
export const REQUIRE_BROWSER_VARIABLE = 'GEOROUTE_REQUIRE_BROWSER'

/** The one command that gets a browser the tests can drive, for the skip and failure messages. */
export const INSTALL_HINT = `install one (Debian: \`sudo apt-get install -y chromium\`; elsewhere Google Chrome) or set ${BROWSER_PATH_VARIABLE}=/path/to/chrome`

export type BrowserLookup =
  | { found: true; path: string }
  | { found: false; reason: string; required: boolean }

/** Installed Chrome and Chromium builds playwright-core can drive, after Debian's chromium. */
function installedBrowsers(platform: NodeJS.Platform, env: NodeJS.ProcessEnv): string[] {
  if (platform === 'darwin') {
    return [
      '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
      '/Applications/Chromium.app/Contents/MacOS/Chromium',
    ]
  }
  if (platform === 'win32') {
    return [env.PROGRAMFILES, env['PROGRAMFILES(X86)'], env.LOCALAPPDATA]
      .filter((dir): dir is string => Boolean(dir))
      .map((dir) => `${dir}\\Google\\Chrome\\Application\\chrome.exe`)
  }
  // Chrome before chromium-browser: on Ubuntu that one is a wrapper around the snap, which
  // playwright often cannot drive (the snap has its own /tmp, where playwright puts the profile).
  return ['/usr/bin/google-chrome-stable', '/usr/bin/google-chrome', '/usr/bin/chromium-browser']
}

/**
 * Where to look for a browser, in order: the explicit path when set (alone), Debian's
 * `/usr/bin/chromium`, the usual Chrome/Chromium install paths, then playwright-core's own
 * browser directory (used only if a browser is already there: nothing here downloads one).
 */
export function browserCandidates(
  env: NodeJS.ProcessEnv,
  platform: NodeJS.Platform,
  playwrightPath: string | undefined,
): string[] {
  const explicit = env[BROWSER_PATH_VARIABLE]
  if (explicit) return [explicit]
  const paths = platform === 'win32' ? [] : ['/usr/bin/chromium']
  paths.push(...installedBrowsers(platform, env))
  if (playwrightPath) paths.push(playwrightPath)
  return paths
}

/** The first candidate that exists, or why none will do. */
export function findBrowser(
  candidates: readonly string[],
  exists: (path: string) => boolean,
  env: NodeJS.ProcessEnv,
): BrowserLookup {
  const path = candidates.find(exists)
  if (path) return { found: true, path }
  const explicit = env[BROWSER_PATH_VARIABLE]
  const reason = explicit
    ? `${BROWSER_PATH_VARIABLE}=${explicit} does not exist; point it at a Chrome or Chromium binary`
    : `no Chrome or Chromium found (looked in ${candidates.join(', ')}); ${INSTALL_HINT}`
  return { found: false, reason, required: env[REQUIRE_BROWSER_VARIABLE] === '1' }
}

/** playwright-core's own browser path; it throws on platforms it has no build for. */
function playwrightBrowserPath(): string | undefined {
  try {
    return chromium.executablePath()
  } catch {
    return undefined
  }
}

const isFile = (path: string) => statSync(path, { throwIfNoEntry: false })?.isFile() ?? false

/** Looks for a browser on this machine, as the browser tests do. */
export function locateBrowser(env: NodeJS.ProcessEnv = process.env): BrowserLookup {
  return findBrowser(browserCandidates(env, process.platform, playwrightBrowserPath()), isFile, env)
}
