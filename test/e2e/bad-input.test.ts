import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Georoute, startGeoroute } from './harness'
import { useDemoOrigins } from './origins'

const PARIS = { latitude: '48.85660', longitude: '2.35220', country: 'FR', continent: 'EU' }
// Miniflare fills cf fields left out with a default place (Austin): null erases them.
const NOWHERE = { latitude: null, longitude: null, country: null, continent: null }
/** The page of `app.onError`: seeing it means an exception escaped our code. */
const UNHANDLED = 'Something went wrong at the edge'

const { byId, everything, originsList } = useDemoOrigins()
let georoute: Georoute

beforeAll(async () => {
  georoute = await startGeoroute({ origins: originsList() })
})

afterAll(async () => {
  await georoute?.dispose()
})

/** Fetches and reads the whole answer; fails on a 500 or on our unhandled-error page. */
async function handled(g: Georoute, url: string, init: Parameters<Georoute['fetch']>[1] = {}) {
  const response = await g.fetch(url, { cf: PARIS, redirect: 'manual', ...init })
  const body = await response.text()
  expect(response.status, body).not.toBe(500)
  expect(body).not.toContain(UNHANDLED)
  return { response, body }
}

describe('malformed URLs', () => {
  it.each(['/%E0%A4%A', '/%zz', '/%', '/posts/%00', '/posts/%ff%fe', '/echo?q=%zz&r=%'])(
    'proxies %s unchanged to the nearest origin',
    async (path) => {
      const { response } = await handled(georoute, `https://blog.example${path}`)
      expect(response.headers.get('x-georoute-origin')).toBe('frankfurt')
      expect(everything()).toEqual([`frankfurt GET ${path}`])
    },
  )

  it('proxies an 8 KB URL', async () => {
    const path = `/echo/${'a'.repeat(8 * 1024)}`
    const { response, body } = await handled(georoute, path)
    expect(response.status).toBe(200)
    expect(JSON.parse(body).url).toBe(path)
  })

  it('refuses a 20 KB URL with 414 before contacting any origin', async () => {
    const { response } = await handled(georoute, `/echo/${'a'.repeat(20 * 1024)}`)
    expect(response.status).toBe(414)
    expect(everything()).toEqual([])
  })
})

describe('garbage locations', () => {
  it.each([
    '',
    ',',
    'abc',
    'abc,def',
    '48.86',
    '48.86,2.35,1',
    '48.86;2.35',
    '91,0',
    '0,181',
    'NaN,NaN',
    'Infinity,0',
    '1e999,0',
    '0x10,0x10',
    '%34%38,2',
    '9'.repeat(4_000),
  ])('ignores the override %j and uses the default order', async (geo) => {
    const { response } = await handled(georoute, '/echo', {
      cf: NOWHERE,
      headers: { 'x-georoute-geo': geo },
    })
    expect(response.status).toBe(200)
    expect(response.headers.get('x-georoute-origin')).toBe('frankfurt')
  })

  it.each([
    { latitude: 'abc', longitude: 'def' },
    { latitude: 'NaN', longitude: 'NaN' },
    { latitude: '1e999', longitude: '1e999' },
    { latitude: '91', longitude: '0' },
    { latitude: '', longitude: '' },
    { latitude: {}, longitude: [] },
    { latitude: true, longitude: false },
    { latitude: 1e6, longitude: -1e6 },
    { country: 12, continent: ['EU'] },
    { country: '__proto__', continent: 'constructor' },
  ])('serves a reader whose request.cf holds %j', async (garbage) => {
    const { response } = await handled(georoute, '/echo', { cf: { ...NOWHERE, ...garbage } })
    expect(response.status).toBe(200)
    expect(response.headers.get('x-georoute-origin')).toBe('frankfurt')
  })
})

describe('unusual methods', () => {
  it('proxies PROPFIND to the nearest origin once', async () => {
    const { response, body } = await handled(georoute, '/echo/dav', { method: 'PROPFIND' })
    expect(response.status).toBe(200)
    expect(JSON.parse(body)).toMatchObject({ origin: 'frankfurt', method: 'PROPFIND' })
    expect(everything()).toEqual(['frankfurt PROPFIND /echo/dav'])
  })

  it('does not retry PROPFIND on another origin when the nearest resets it', async () => {
    byId('frankfurt').setMode('reset')
    const own = await startGeoroute({
      origins: originsList(),
      settings: { routing: { attemptTimeoutMs: 300, deadlineMs: 1_000, hedge: false } },
    })
    try {
      const { response } = await handled(own, '/echo/dav', { method: 'PROPFIND' })
      expect(response.status).toBe(502)
    } finally {
      await own.dispose()
    }
    expect(everything()).toEqual(['frankfurt PROPFIND /echo/dav'])
  })

  it('answers OPTIONS without an error of its own', async () => {
    const { response } = await handled(georoute, '/echo', { method: 'OPTIONS' })
    expect(response.headers.get('x-georoute-origin')).toBe('frankfurt')
    expect(everything()).toEqual(['frankfurt OPTIONS /echo'])
  })

  it('refuses PURGE with 405, sending it nowhere', async () => {
    const { response } = await handled(georoute, '/echo', { method: 'PURGE' })
    expect(response.status).toBe(405)
    expect(everything()).toEqual([])
  })
})

describe('an invalid configuration', () => {
  const ADMIN = { authorization: 'Bearer admin-token' }

  async function withOrigins(origins: unknown[]) {
    const broken = await startGeoroute({ origins, bindings: { ADMIN_TOKEN: 'admin-token' } })
    try {
      const response = await broken.fetch('/', { cf: PARIS })
      const status = await broken.fetch('/__georoute/status', { headers: ADMIN })
      return {
        status: response.status,
        body: await response.text(),
        problems: ((await status.json()) as { errors?: string[] }).errors ?? [],
      }
    } finally {
      await broken.dispose()
    }
  }

  it('answers readers 500 with a page that names no origin, URL or value, and no stack trace', async () => {
    const { status, body } = await withOrigins([
      { id: 'frankfurt', url: byId('frankfurt').url, lat: 100, lon: 8.68 },
    ])
    expect(status).toBe(500)
    expect(body).toContain('misconfigured')
    expect(body).not.toContain(byId('frankfurt').url)
    expect(body).not.toContain('origins[0]')
    expect(body).not.toMatch(/\bat \S+ \(|Error:|\.(ts|js):\d+/)
    expect(everything()).toEqual([])
  })

  it('names every problem of the list in the status JSON for the admin token', async () => {
    const { problems } = await withOrigins([
      { id: 'Frankfurt', url: 'ftp://fra.example', lat: 50, lon: 8 },
      { id: 'virginia', url: byId('virginia').url, lat: 38, lon: -777 },
    ])
    const listed = problems.join('\n')
    expect(listed).toContain('origins[0].id: must be a lowercase slug')
    expect(listed).toContain('origins[0].url: must use http or https')
    expect(listed).toContain('origins[1].lon: must be between -180 and 180')
  })
})
