import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { type Browser, chromium, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEMO_ORIGINS } from '../../scripts/lib/origin-server.mjs'
import type { StatusReport } from '../../worker/status/model'
import { HEALTH_LEGEND, type Health, healthOf } from '../../worker/status/view'
import { locateBrowser, REQUIRE_BROWSER_VARIABLE } from './find-browser'
import { type Georoute, startGeoroute } from './harness'
import { useDemoOrigins } from './origins'

// An installed Chrome or Chromium, never a downloaded one. Without one the tests are skipped,
// saying so, except where GEOROUTE_REQUIRE_BROWSER=1 (CI, which installs Debian's chromium).
const BROWSER = locateBrowser()
if (!BROWSER.found) {
  if (BROWSER.required) {
    throw new Error(`status page browser tests: ${BROWSER.reason} (${REQUIRE_BROWSER_VARIABLE}=1)`)
  }
  console.warn(`SKIPPED the status page browser tests: ${BROWSER.reason}`)
}
const BROWSER_PATH = BROWSER.found ? BROWSER.path : undefined
const ARTIFACTS = join(process.cwd(), 'test', 'artifacts')
const TOKEN = 'e2e-admin-token'
const PARIS = '48.86,2.35'

let georoute: Georoute
let browser: Browser
let base: URL
/** Each origin's state as the status JSON reports it: what the page must show. */
const expected = new Map<string, Health>()

/** `#16a34a` → `rgb(22, 163, 74)`, the way computed styles spell colours. */
function rgb(hex: string): string {
  const n = Number.parseInt(hex.slice(1), 16)
  return `rgb(${n >> 16}, ${(n >> 8) & 255}, ${n & 255})`
}

async function openStatusPage(width: number, height: number): Promise<Page> {
  const page = await browser.newPage({
    viewport: { width, height },
    deviceScaleFactor: width < 600 ? 2 : 1,
  })
  // The reader in Paris, so the page has a "you" marker to draw.
  await page.setExtraHTTPHeaders({ 'x-georoute-geo': PARIS })
  const response = await page.goto(new URL('/__georoute/', base).toString())
  expect(response?.status()).toBe(200)
  return page
}

describe.skipIf(!BROWSER_PATH)(
  `the status page in a browser${BROWSER.found ? '' : ` (SKIPPED: ${BROWSER.reason})`}`,
  () => {
    // The origins keep the states set up below for every test: no reset between tests.
    const { byId, originsList } = useDemoOrigins({ resetAfterEach: false })

    beforeAll(async () => {
      georoute = await startGeoroute({
        origins: originsList(),
        // One probe round per cron run, and an ejection that outlasts the test.
        settings: {
          health: { maxRounds: 1, fall: 1, rise: 1 },
          routing: { ejectionBaseMs: 120_000, hedge: false },
        },
        bindings: { ADMIN_TOKEN: TOKEN },
      })
      // The real socket, so the browser talks HTTP to workerd.
      base = await georoute.mf.ready
      // Three different states: Tokyo refuses connections, Virginia is drained, Frankfurt is fine.
      byId('tokyo').setMode('reset')
      const worker = await georoute.mf.getWorker()
      await worker.scheduled({ cron: '* * * * *' })
      const reader = await georoute.fetch('/', { geo: '35.68,139.69' })
      expect(reader.headers.get('x-georoute-origin')).not.toBe('tokyo')
      await reader.arrayBuffer()
      const drain = await georoute.fetch('/__georoute/origins/virginia/drain', {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}` },
      })
      expect(drain.status).toBe(200)
      const report = (await (await georoute.fetch('/__georoute/status')).json()) as StatusReport
      for (const origin of report.origins) expected.set(origin.id, healthOf(origin))
      browser = await chromium.launch({
        executablePath: BROWSER_PATH,
        headless: true,
        args: [
          '--no-sandbox',
          '--disable-gpu',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
          '--no-first-run',
        ],
      })
      mkdirSync(ARTIFACTS, { recursive: true })
    })

    afterAll(async () => {
      await browser?.close()
      await georoute?.dispose()
    })

    it('starts from three origins in different states', () => {
      expect(expected.get('virginia')).toBe('drained')
      expect(expected.get('tokyo')).toBe('down')
      // Up once the page reads the probes' snapshot; not probed yet until then.
      expect(['up', 'unknown']).toContain(expected.get('frankfurt'))
    })

    it('draws every origin on the map in its legend colour', async () => {
      const page = await openStatusPage(1280, 800)
      for (const origin of DEMO_ORIGINS) {
        const health = expected.get(origin.id)!
        const circle = page.locator(`svg circle[data-origin="${origin.id}"]`)
        await expect(circle.getAttribute('data-health')).resolves.toBe(health)
        expect(await circle.evaluate((el) => getComputedStyle(el).fill)).toBe(
          rgb(HEALTH_LEGEND[health].colour),
        )
        expect(await circle.locator('title').textContent()).toContain(HEALTH_LEGEND[health].label)
      }
      await page.screenshot({ path: join(ARTIFACTS, 'status-page.png'), fullPage: true })
      await page.close()
    })

    it('shows the legend in the colours the markers use', async () => {
      const page = await openStatusPage(1280, 800)
      for (const [health, { colour, label }] of Object.entries(HEALTH_LEGEND)) {
        const item = page.locator(`.legend li.h-${health}`)
        await expect(item.textContent()).resolves.toContain(label)
        expect(
          await item.locator('.dot').evaluate((el) => getComputedStyle(el).backgroundColor),
        ).toBe(rgb(colour))
      }
      await page.close()
    })

    it('lists every origin in the table with its region and state in words', async () => {
      const page = await openStatusPage(1280, 800)
      const rows = page.locator('tbody tr')
      await expect(rows.count()).resolves.toBe(DEMO_ORIGINS.length)
      for (const origin of DEMO_ORIGINS) {
        const text = await page.locator(`tbody tr[data-origin="${origin.id}"]`).textContent()
        expect(text).toContain(origin.id)
        expect(text).toContain(origin.label)
        expect(text).toContain(HEALTH_LEGEND[expected.get(origin.id)!].label)
      }
      await page.close()
    })

    it("shows this data center's view of each origin and where its readers go", async () => {
      const page = await openStatusPage(1280, 800)
      // The reader in Tokyo was answered by Frankfurt (and so are the browser's favicon requests):
      // measured from here, every request good.
      const frankfurt = page.locator('tbody tr[data-origin="frankfurt"] td[data-label="From here"]')
      await expect(frankfurt.textContent()).resolves.toMatch(/^\d+ ms · 100% of \d+$/)
      // From Paris, with Virginia drained and Tokyo down: Frankfurt.
      const facts = await page.locator('dl.facts').textContent()
      expect(facts).toContain('Readers here go tofrankfurt')
      await page.close()
    })

    it('marks where the reader is', async () => {
      const page = await openStatusPage(1280, 800)
      await expect(page.locator('svg .you title').textContent()).resolves.toContain(
        '48.86°N 2.35°E',
      )
      await page.close()
    })

    it('fits a phone screen without sideways scrolling, one card per origin', async () => {
      const page = await openStatusPage(390, 844)
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(
        390,
      )
      const cell = page.locator('tbody tr[data-origin="tokyo"] td').nth(1)
      expect(await cell.evaluate((el) => getComputedStyle(el).display)).not.toBe('table-cell')
      await page.screenshot({ path: join(ARTIFACTS, 'status-page-phone.png'), fullPage: true })
      await page.close()
    })
  },
)
