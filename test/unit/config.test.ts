import { describe, expect, it } from 'vitest'
import { validateConfig } from '../../worker/config'
import { loadConfig } from '../../worker/config-loader'

const FRA = { id: 'frankfurt', url: 'https://fra.example', lat: 50.11, lon: 8.68 }
const IAD = { id: 'virginia', url: 'https://iad.example', lat: 38.95, lon: -77.45 }

/** The errors for one list, or a failure when it validates. */
function errorsOf(origins: unknown, settings?: unknown): string[] {
  const result = validateConfig(origins, settings)
  if (result.ok) throw new Error('expected the configuration to be refused')
  return result.errors
}

/** The second origin with `change` applied: errors must name `origins[1]`. */
const secondWith = (change: Record<string, unknown>) => [FRA, { ...IAD, ...change }]

describe('validateConfig: one field at a time', () => {
  it.each([
    [{ lat: 100 }, 'origins[1].lat: must be between -90 and 90'],
    [{ lat: -90.5 }, 'origins[1].lat: must be between -90 and 90'],
    [{ lon: 180.01 }, 'origins[1].lon: must be between -180 and 180'],
    [{ lon: -181 }, 'origins[1].lon: must be between -180 and 180'],
    [{ lat: '38.95' }, 'origins[1].lat: must be a number'],
    [{ lat: Number.NaN }, 'origins[1].lat: must be a number'],
    [{ lon: Number.POSITIVE_INFINITY }, 'origins[1].lon: must be a finite number'],
  ])('refuses %o with "%s"', (change, message) => {
    expect(errorsOf(secondWith(change))).toEqual([message])
  })

  it.each(['Virginia', 'us_east', '-virginia', 'vir ginia', '', 'a'.repeat(64)])(
    'refuses the id %j as not a lowercase slug',
    (id) => {
      expect(errorsOf(secondWith({ id }))).toEqual([
        'origins[1].id: must be a lowercase slug (a-z, 0-9, -; at most 63 characters)',
      ])
    },
  )

  it.each(['ftp://iad.example', 'javascript:alert(1)', 'file:///etc/passwd', 'data:text/plain,x'])(
    'refuses the non-http URL %s',
    (url) => {
      expect(errorsOf(secondWith({ url }))).toEqual(['origins[1].url: must use http or https'])
    },
  )

  it.each(['https://user:secret@iad.example', 'https://user@iad.example'])(
    'refuses the URL with credentials %s',
    (url) => {
      expect(errorsOf(secondWith({ url }))).toEqual([
        'origins[1].url: must not contain credentials',
      ])
    },
  )

  it.each(['https://iad.example/?token=1', 'https://iad.example/#top'])(
    'refuses the URL with a query or fragment %s',
    (url) => {
      expect(errorsOf(secondWith({ url }))).toEqual([
        'origins[1].url: must not contain a query or fragment',
      ])
    },
  )

  it.each(['not a url', 'iad.example', 'https://iad.example:99999', 'http://'])(
    'refuses the unparsable URL %j with a message rather than an exception',
    (url) => {
      expect(errorsOf(secondWith({ url }))).toEqual([
        'origins[1].url: must be an absolute http or https URL',
      ])
    },
  )

  it('names a missing required field', () => {
    expect(errorsOf([FRA, { id: 'virginia', url: 'https://iad.example', lat: 1 }])).toEqual([
      'origins[1].lon: is required',
    ])
  })

  it('refuses an origin that is not an object', () => {
    expect(errorsOf([FRA, null])).toEqual(['origins[1]: must be an object'])
  })

  it('refuses an unknown field, so a typo is never silently ignored', () => {
    expect(errorsOf(secondWith({ primray: true }))).toEqual(['origins[1]: unknown field "primray"'])
  })

  it('refuses an unknown field inside the probe', () => {
    expect(errorsOf(secondWith({ probe: { pth: '/healthz' } }))).toEqual([
      'origins[1].probe: unknown field "pth"',
    ])
  })

  it('refuses a probe path that is not absolute', () => {
    expect(errorsOf(secondWith({ probe: { path: 'healthz' } }))).toEqual([
      'origins[1].probe.path: must start with /',
    ])
  })

  it('refuses an expected status range that runs backwards', () => {
    expect(errorsOf(secondWith({ probe: { expectStatus: [399, 200] } }))).toEqual([
      'origins[1].probe.expectStatus: must be [min, max] with min <= max',
    ])
  })

  it('reports every problem of a list, not only the first', () => {
    expect(
      errorsOf([
        { ...FRA, lat: 91 },
        { ...IAD, lon: 200 },
      ]),
    ).toEqual([
      'origins[0].lat: must be between -90 and 90',
      'origins[1].lon: must be between -180 and 180',
    ])
  })
})

describe('validateConfig: the list as a whole', () => {
  it('refuses an empty list', () => {
    expect(errorsOf([])).toEqual(['origins: must list at least one origin'])
  })

  it('refuses a value that is not a list', () => {
    expect(errorsOf({ origins: [FRA] })).toEqual(['origins: must be an array of origins'])
  })

  it('refuses two origins with the same id, naming the second', () => {
    expect(errorsOf([FRA, { ...IAD, id: 'frankfurt' }])).toEqual([
      'origins[1].id: duplicate id "frankfurt" (also origins[0])',
    ])
  })

  it('refuses two primaries, naming the second', () => {
    expect(
      errorsOf([
        { ...FRA, primary: true },
        { ...IAD, primary: true },
      ]),
    ).toEqual(['origins[1].primary: only one origin may be primary (origins[0] is too)'])
  })

  it('refuses two origins with the same URL', () => {
    expect(errorsOf([FRA, { ...IAD, url: 'https://fra.example/' }])).toEqual([
      'origins[1].url: same URL as origins[0] ("https://fra.example/")',
    ])
  })

  it('refuses a default order that names an unknown origin', () => {
    expect(errorsOf([FRA, IAD], { routing: { defaultOrder: ['virginia', 'tokyo'] } })).toEqual([
      'settings.routing.defaultOrder[1]: no origin has id "tokyo"',
    ])
  })

  it.each(['FOO', 'GET', 'trace'])(
    'refuses %s in proxy.allowMethods, naming the methods it may list',
    (method) => {
      expect(errorsOf([FRA], { proxy: { allowMethods: ['PURGE', method] } })).toEqual([
        'settings.proxy.allowMethods[1]: must be one of TRACE, TRACK, PURGE, BAN, CONNECT (every other method is always forwarded)',
      ])
    },
  )

  it('refuses a steering other than nearest or fastest, and bad steering bounds', () => {
    expect(errorsOf([FRA], { routing: { steering: 'random', steeringRatio: 0.5 } })).toEqual([
      'settings.routing.steering: must be "nearest" or "fastest"',
      'settings.routing.steeringRatio: must be between 1 and 10',
    ])
  })

  it('refuses local evidence without a success or with a window under a second', () => {
    const localEvidence = { minSuccesses: 0, windowMs: 10 }
    expect(errorsOf([FRA], { health: { localEvidence } })).toEqual([
      'settings.health.localEvidence.minSuccesses: minSuccesses must be at least 1',
      'settings.health.localEvidence.windowMs: windowMs must be at least 1000',
    ])
  })

  it('refuses an unknown routing setting', () => {
    expect(errorsOf([FRA], { routing: { atemptTimeoutMs: 100 } })).toEqual([
      'settings.routing: unknown field "atemptTimeoutMs"',
    ])
  })
})

describe('validateConfig: a valid list', () => {
  it('applies the defaults of every optional field', () => {
    const result = validateConfig([FRA])
    if (!result.ok) throw new Error(result.errors.join('\n'))
    const [origin] = result.config.origins
    expect(origin).toMatchObject({
      id: 'frankfurt',
      primary: false,
      weight: 1,
      index: 0,
      probe: { path: '/', method: 'GET', expectStatus: [200, 399], timeoutMs: 8_000, headers: {} },
    })
    expect(origin?.label).toBeUndefined()
    expect(result.config.settings.routing).toMatchObject({
      attemptTimeoutMs: 10_000,
      deadlineMs: 25_000,
      maxAttempts: 3,
      retryAfterSeconds: 30,
      steering: 'fastest',
      steeringMarginMs: 50,
      steeringRatio: 1.5,
      exploreIntervalMs: 1_000,
    })
    expect(result.config.settings.health).toMatchObject({
      coloMemoMs: 1_000,
      coloWriteIntervalMs: 3_000,
      localEvidence: { minSuccesses: 5, windowMs: 30_000 },
    })
    expect(result.config.settings.proxy.allowMethods).toEqual([])
  })

  it('finds the primary', () => {
    const result = validateConfig([FRA, { ...IAD, primary: true }])
    expect(result.ok && result.config.primary?.id).toBe('virginia')
  })

  it('has no primary when none is marked', () => {
    const result = validateConfig([FRA, IAD])
    expect(result.ok).toBe(true)
    expect(result.ok && result.config.primary).toBeUndefined()
  })

  it('maps each origin host to its base path for redirect rewriting', () => {
    const result = validateConfig([
      { ...FRA, url: 'https://fra.example:8443/blog/' },
      { ...IAD, url: 'http://iad.example' },
    ])
    if (!result.ok) throw new Error(result.errors.join('\n'))
    expect([...result.config.originHosts]).toEqual([
      ['fra.example:8443', ['/blog']],
      ['iad.example', ['']],
    ])
  })

  it('keeps every base path of origins sharing a host, longest first', () => {
    const result = validateConfig([
      { ...FRA, url: 'https://shared.example/eu/' },
      { ...IAD, url: 'https://shared.example/blog/us' },
    ])
    if (!result.ok) throw new Error(result.errors.join('\n'))
    expect([...result.config.originHosts]).toEqual([['shared.example', ['/blog/us', '/eu']]])
  })
})

describe('loadConfig', () => {
  it('uses the list from origins/ when ORIGINS is unset', () => {
    const result = loadConfig({})
    if (!result.ok) throw new Error(result.errors.join('\n'))
    expect(result.config.origins.map((o) => o.id)).toEqual(['frankfurt', 'virginia', 'tokyo'])
  })

  it('uses the list from origins/ when ORIGINS is blank', () => {
    const result = loadConfig({ ORIGINS: '  ' })
    expect(result.ok && result.config.origins.length).toBe(3)
  })

  it('lets a valid ORIGINS replace the list from origins/', () => {
    const result = loadConfig({ ORIGINS: JSON.stringify([IAD]) })
    if (!result.ok) throw new Error(result.errors.join('\n'))
    expect(result.config.origins.map((o) => [o.id, o.url])).toEqual([
      ['virginia', 'https://iad.example'],
    ])
    expect(result.config.primary).toBeUndefined()
  })

  it('refuses ORIGINS that is not JSON, naming the variable', () => {
    const result = loadConfig({ ORIGINS: '[{id: frankfurt}]' })
    expect(result.ok).toBe(false)
    expect(!result.ok && result.errors).toEqual([expect.stringMatching(/^ORIGINS: not valid JSON/)])
  })

  it('refuses an invalid ORIGINS rather than falling back to origins/', () => {
    const result = loadConfig({ ORIGINS: JSON.stringify([{ ...FRA, lat: 100 }]) })
    expect(!result.ok && result.errors).toEqual(['origins[0].lat: must be between -90 and 90'])
  })
})

describe('validateConfig: builds and replication positions', () => {
  it.each([
    [{ health: { build: 'X-Build-Id' } }, 'settings.health.build: must be a lowercase header name'],
    [
      { health: { buildSkewAlertMinutes: -1 } },
      'settings.health.buildSkewAlertMinutes: buildSkewAlertMinutes must be at least 0',
    ],
    [{ writes: { position: { kind: 'integer' } } }, 'settings.writes.position.header: is required'],
    [
      { writes: { position: { header: 'x-db-position', kind: 'lsn' } } },
      'settings.writes.position.kind: must be "integer" or "pg-lsn"',
    ],
    [
      { writes: { position: { header: 'x-db-position', wait: 1 } } },
      'settings.writes.position: unknown field "wait"',
    ],
  ])('refuses %o with "%s"', (settings, message) => {
    expect(errorsOf([FRA], settings)).toEqual([message])
  })

  it('defaults: no build header, a 15-minute skew alert, positions off, integer kind', () => {
    const result = validateConfig([FRA], { writes: { position: { header: 'x-db-position' } } })
    if (!result.ok) throw new Error(result.errors.join('\n'))
    expect(result.config.settings.health.build).toBeUndefined()
    expect(result.config.settings.health.buildSkewAlertMinutes).toBe(15)
    expect(result.config.settings.writes.position).toEqual({
      header: 'x-db-position',
      kind: 'integer',
    })
    const plain = validateConfig([FRA])
    expect(plain.ok && plain.config.settings.writes.position).toBeUndefined()
  })
})
