import { env, SELF } from 'cloudflare:test'
import { afterEach, describe, expect, it } from 'vitest'
import app from '../../worker/app'
import { forgetAll, heldNow, hold } from '../../worker/cache/memory'
import { clearColoHealth, coloHealth } from '../../worker/health/colo-store'
import type { OriginStatus, StatusReport } from '../../worker/status/model'

// The origins of origins/index.ts, as the pool's wrangler.toml leaves them.
const IDS = ['frankfurt', 'virginia', 'tokyo']
const TOKYO_URL = 'https://nrt.blog.example.com'
const ADMIN = { authorization: 'Bearer test-admin-token' }

/** The data center these requests play (GEO_OVERRIDE is on in the pool). */
const COLO = 'NRT'

const get = (path: string, headers: Record<string, string> = {}) =>
  SELF.fetch(`https://blog.example${path}`, { headers: { 'x-georoute-colo': COLO, ...headers } })

/** Tokyo as this isolate sees it after a failed request: ejected, with a reason. */
function ejectTokyo() {
  const refused = {
    kind: 'failure',
    reason: 'connect: connection refused',
    conclusive: true,
  } as const
  coloHealth(COLO).record('tokyo', refused, Date.now(), IDS.length)
}

/** The whole app with other settings, as `SETTINGS` gives them (the pool's env is fixed). */
function withSettings(settings: unknown, path: string, headers: Record<string, string> = {}) {
  return app.request(
    path,
    { headers: { 'x-georoute-colo': COLO, ...headers } },
    { ...env, SETTINGS: JSON.stringify(settings) },
  )
}

afterEach(() => clearColoHealth())

describe('GET /__georoute/ (status page)', () => {
  it('answers an HTML page that no cache keeps', async () => {
    const response = await get('/__georoute/')
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toMatch(/^text\/html/)
    expect(response.headers.get('cache-control')).toBe('no-store')
    expect(await response.text()).toMatch(/^<!doctype html><html lang="en">/)
  })

  it('is also reached without the trailing slash', async () => {
    const response = await SELF.fetch('https://blog.example/__georoute', { redirect: 'manual' })
    expect(response.status).toBe(301)
    expect(response.headers.get('location')).toBe('/__georoute/')
  })

  it('draws every configured origin on a world map', async () => {
    const html = await (await get('/__georoute/')).text()
    expect(html).toMatch(/<svg[^>]*viewBox="0 0 1000 400"/)
    expect(html).toMatch(/<path class="land" d="M[\d-]/)
    for (const id of IDS) {
      expect(html).toContain(`<circle r="12" data-origin="${id}" data-health="unknown">`)
    }
  })

  it('lists every origin in the table with its region', async () => {
    const html = await (await get('/__georoute/')).text()
    for (const id of IDS) expect(html).toContain(`<tr data-origin="${id}"`)
    expect(html).toContain('Tokyo (ap-northeast)')
  })

  it('marks an origin this edge ejected as down, in words as well as colour', async () => {
    ejectTokyo()
    const html = await (await get('/__georoute/')).text()
    expect(html).toContain('data-origin="tokyo" data-health="down"')
    expect(html).toMatch(/<tr data-origin="tokyo" data-health="down">.*?Down/)
  })

  it('places the reader where x-georoute-geo says', async () => {
    const html = await (await get('/__georoute/', { 'x-georoute-geo': '-33.87,151.21' })).text()
    expect(html).toContain('33.87°S 151.21°E (set by x-georoute-geo)')
  })

  it('hides origin URLs and failure reasons from the public', async () => {
    ejectTokyo()
    const html = await (await get('/__georoute/')).text()
    expect(html).not.toContain(TOKYO_URL)
    expect(html).not.toContain('connection refused')
    expect(html).toContain('shown with the admin token')
  })

  it('shows origin URLs and failure reasons with the admin token', async () => {
    ejectTokyo()
    const html = await (await get('/__georoute/', ADMIN)).text()
    expect(html).toContain(TOKYO_URL)
    expect(html).toContain('connect: connection refused')
    expect(html).toContain('<th scope="col">Reason</th>')
  })
})

describe('GET /__georoute/status (JSON)', () => {
  it('has the shape DESIGN.md promises', async () => {
    const response = await get('/__georoute/status')
    expect(response.status).toBe(200)
    expect(response.headers.get('cache-control')).toBe('no-store')
    const body = await response.json<StatusReport>()
    expect(body).toHaveProperty('updatedAt')
    expect(body.origins.map((o) => o.id)).toEqual(IDS)
    for (const origin of body.origins) {
      expect(origin).toMatchObject({ healthy: true, drained: false, probe: 'unknown' })
      expect(origin).toHaveProperty('lastCheck')
      expect(origin).toHaveProperty('latencyMs')
      expect(origin).toHaveProperty('reason')
    }
  })

  it('gives the public no reasons and no URLs', async () => {
    ejectTokyo()
    const body = await (await get('/__georoute/status')).json<StatusReport>()
    const tokyo = body.origins.find((o) => o.id === 'tokyo') as OriginStatus
    expect(tokyo).toMatchObject({ healthy: false, reason: null })
    expect(tokyo).not.toHaveProperty('url')
    expect(body.detail).toBe(false)
  })

  it("shows this data center's own view: an ejection in NRT is not one in FRA", async () => {
    ejectTokyo()
    const nrt = await (await get('/__georoute/status')).json<StatusReport>()
    const fra = await (
      await get('/__georoute/status', { 'x-georoute-colo': 'FRA' })
    ).json<StatusReport>()
    const tokyoIn = (body: StatusReport) => body.origins.find((o) => o.id === 'tokyo')
    expect(nrt.edge.colo).toBe('NRT')
    expect(tokyoIn(nrt)).toMatchObject({ healthy: false, here: { ejected: true } })
    expect(fra.edge.colo).toBe('FRA')
    expect(tokyoIn(fra)).toMatchObject({ healthy: true, here: { ejected: false } })
  })

  it('names the origin readers entering this data center are sent to', async () => {
    const sydney = { 'x-georoute-geo': '-33.87,151.21' }
    const body = await (await get('/__georoute/status', sydney)).json<StatusReport>()
    expect(body.edge.sentTo).toBe('tokyo')
    ejectTokyo()
    const after = await (await get('/__georoute/status', sydney)).json<StatusReport>()
    expect(after.edge.sentTo).not.toBe('tokyo')
  })

  it('treats a wrong token like no token', async () => {
    ejectTokyo()
    const response = await get('/__georoute/status', { authorization: 'Bearer nope' })
    expect(response.status).toBe(200)
    expect((await response.json<StatusReport>()).detail).toBe(false)
  })

  it('gives the admin reasons and URLs', async () => {
    ejectTokyo()
    const body = await (await get('/__georoute/status', ADMIN)).json<StatusReport>()
    const tokyo = body.origins.find((o) => o.id === 'tokyo') as OriginStatus
    expect(tokyo).toMatchObject({ reason: 'connect: connection refused', url: TOKYO_URL })
  })
})

describe('settings.status', () => {
  it.each(['/__georoute/', '/__georoute/status'])(
    'with access "admin", refuses %s without a token (401)',
    async (path) => {
      const response = await withSettings({ status: { access: 'admin' } }, path)
      expect(response.status).toBe(401)
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/)
    },
  )

  it.each(['/__georoute/', '/__georoute/status'])(
    'with access "admin", refuses %s with a wrong token (403)',
    async (path) => {
      const response = await withSettings({ status: { access: 'admin' } }, path, {
        authorization: 'Bearer nope',
      })
      expect(response.status).toBe(403)
    },
  )

  it('with access "admin", shows the page with the token', async () => {
    const response = await withSettings({ status: { access: 'admin' } }, '/__georoute/', ADMIN)
    expect(response.status).toBe(200)
    expect(await response.text()).toContain(TOKYO_URL)
  })

  it('with publicDetail, gives the public reasons and URLs', async () => {
    ejectTokyo()
    const response = await withSettings({ status: { publicDetail: true } }, '/__georoute/status')
    const tokyo = (await response.json<StatusReport>()).origins.find((o) => o.id === 'tokyo')
    expect(tokyo).toMatchObject({ reason: 'connect: connection refused', url: TOKYO_URL })
  })
})

describe('the memory tier on the status page and JSON', () => {
  afterEach(() => forgetAll())

  it('tells how many pages this isolate holds, and their bytes', async () => {
    forgetAll()
    const fast = {
      until: Date.now() + 60_000,
      received: Date.now(),
      ageValue: 0,
      status: 200,
      headers: { 'content-type': 'text/html' },
      origin: 'frankfurt',
    }
    const limits = { maxBytes: 8 * 1024 * 1024, maxEntryBytes: 256 * 1024, maxAgeSeconds: 5 }
    hold(
      'https://blog.example/__georoute/cache/0/a',
      fast,
      new Uint8Array(2048),
      Date.now(),
      limits,
    )
    const { bytes } = heldNow()
    const json = await (await app.request('/__georoute/status', {}, env)).json<StatusReport>()
    expect(json.edge.memory).toEqual({ entries: 1, bytes, maxBytes: 8 * 1024 * 1024 })
    const page = await (await app.request('/__georoute/', {}, env)).text()
    expect(page).toContain(`<dd>1 (${Math.ceil(bytes / 1024)} KiB of 8 MiB)</dd>`)
  })

  it('says when the tier is off', async () => {
    const page = await (
      await withSettings({ cache: { memory: { maxBytes: 0 } } }, '/__georoute/')
    ).text()
    expect(page).toMatch(/Pages in memory here<\/dt><dd>off<\/dd>/)
  })
})
