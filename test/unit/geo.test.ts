import { describe, expect, it } from 'vitest'
import { distanceKm, locateReader, parseLatLon } from '../../worker/geo'
import { CONTINENT_CENTROIDS, COUNTRY_CENTROIDS } from '../../worker/geo-data.generated'

const JAPAN = COUNTRY_CENTROIDS.JP!
const OCEANIA = CONTINENT_CENTROIDS.OC!

describe('locateReader', () => {
  it('reads cf.latitude and cf.longitude as the strings Cloudflare sends', () => {
    expect(locateReader({ latitude: '48.85660', longitude: '2.35220' })).toEqual({
      lat: 48.8566,
      lon: 2.3522,
      source: 'cf',
    })
  })

  it('accepts numeric cf coordinates too', () => {
    expect(locateReader({ latitude: -33.87, longitude: 151.21 })).toMatchObject({
      lat: -33.87,
      lon: 151.21,
      source: 'cf',
    })
  })

  it('accepts the extreme valid coordinates', () => {
    expect(locateReader({ latitude: '-90', longitude: '180' })).toMatchObject({
      lat: -90,
      lon: 180,
    })
  })

  it.each([
    ['abc', '2.35'],
    ['NaN', 'NaN'],
    ['1e999', '2.35'],
    ['Infinity', '2.35'],
    ['91', '2.35'],
    ['48.86', '181'],
    ['', ''],
    ['  ', '2.35'],
    ['0x10', '2.35'],
    ['48.86', undefined],
    [null, null],
    [{}, []],
    [true, false],
  ])(
    'falls back to the country centroid when cf has latitude %j and longitude %j',
    (latitude, longitude) => {
      expect(locateReader({ latitude, longitude, country: 'JP', continent: 'AS' })).toEqual({
        lat: JAPAN[0],
        lon: JAPAN[1],
        source: 'country',
      })
    },
  )

  it('matches the country code whatever its case', () => {
    expect(locateReader({ country: 'jp' })).toMatchObject({ source: 'country', lat: JAPAN[0] })
  })

  it.each(['T1', 'XX', '', 'toString', '__proto__', 'constructor'])(
    'falls back to the continent centroid for the unknown country %j',
    (country) => {
      expect(locateReader({ country, continent: 'OC' })).toEqual({
        lat: OCEANIA[0],
        lon: OCEANIA[1],
        source: 'continent',
      })
    },
  )

  it.each([undefined, {}, { country: 'XX', continent: 'ZZ' }, { country: 42, continent: null }])(
    'gives no location for %j, so routing uses the default order',
    (cf) => {
      expect(locateReader(cf)).toBeUndefined()
    },
  )

  it('lets a valid override win over cf', () => {
    expect(locateReader({ latitude: '48.86', longitude: '2.35' }, '35.68,139.69')).toEqual({
      lat: 35.68,
      lon: 139.69,
      source: 'override',
    })
  })

  it('ignores a malformed override and uses cf', () => {
    expect(locateReader({ latitude: '48.86', longitude: '2.35' }, 'tokyo')).toMatchObject({
      source: 'cf',
      lat: 48.86,
    })
  })
})

describe('parseLatLon', () => {
  it.each([
    ['48.86,2.35', { lat: 48.86, lon: 2.35 }],
    [' -33.87 , 151.21 ', { lat: -33.87, lon: 151.21 }],
    ['+10,-20', { lat: 10, lon: -20 }],
    ['0,0', { lat: 0, lon: 0 }],
  ])('parses %j', (text, expected) => {
    expect(parseLatLon(text)).toEqual(expected)
  })

  it.each([
    null,
    undefined,
    '',
    ',',
    '48.86',
    '48.86,2.35,1',
    '48.86;2.35',
    'abc,def',
    'NaN,NaN',
    '1e999,0',
    '91,0',
    '0,181',
    '-90.0001,0',
    '1.5.5,0',
    `1,${'1'.repeat(70)}`,
  ])('refuses %j', (text) => {
    expect(parseLatLon(text)).toBeUndefined()
  })
})

describe('distanceKm', () => {
  it('is zero between a place and itself', () => {
    expect(distanceKm(48.86, 2.35, 48.86, 2.35)).toBe(0)
  })

  it('measures Paris to New York as about 5,840 km', () => {
    expect(distanceKm(48.86, 2.35, 40.71, -74.01)).toBeCloseTo(5_837, -1)
  })

  it('goes the short way across the antimeridian', () => {
    expect(distanceKm(0, 179.5, 0, -179.5)).toBeCloseTo(111.2, 0)
  })

  it('is half the circumference between antipodes', () => {
    expect(distanceKm(90, 0, -90, 0)).toBeCloseTo(Math.PI * 6371.0088, 3)
  })
})
