import { describe, expect, it } from 'vitest'
import { validateConfig } from '../../worker/config'
import { locateReader } from '../../worker/geo'
import { type OriginHealth, rankOrigins, Tier } from '../../worker/routing'

const WORLD = [
  { id: 'frankfurt', url: 'https://fra.example', lat: 50.11, lon: 8.68, primary: true },
  { id: 'virginia', url: 'https://iad.example', lat: 38.95, lon: -77.45 },
  { id: 'tokyo', url: 'https://nrt.example', lat: 35.68, lon: 139.69 },
  { id: 'sao-paulo', url: 'https://gru.example', lat: -23.55, lon: -46.63 },
  { id: 'singapore', url: 'https://sin.example', lat: 1.35, lon: 103.82 },
]

function origins(list: unknown[] = WORLD) {
  const result = validateConfig(list)
  if (!result.ok) throw new Error(result.errors.join('\n'))
  return result.config.origins
}

const CITIES = {
  paris: { lat: 48.86, lon: 2.35 },
  newYork: { lat: 40.71, lon: -74.01 },
  tokyo: { lat: 35.68, lon: 139.69 },
  sydney: { lat: -33.87, lon: 151.21 },
  saoPaulo: { lat: -23.55, lon: -46.63 },
  mumbai: { lat: 19.08, lon: 72.88 },
  london: { lat: 51.51, lon: -0.13 },
  losAngeles: { lat: 34.05, lon: -118.24 },
}

const at = (city: keyof typeof CITIES) => ({ ...CITIES[city], source: 'cf' as const })
const first = (list: ReturnType<typeof rankOrigins>) => list[0]?.origin.id
const ids = (list: ReturnType<typeof rankOrigins>) => list.map((r) => r.origin.id)
const none = new Map<string, OriginHealth>()

describe('rankOrigins', () => {
  it.each([
    ['paris', 'frankfurt'],
    ['london', 'frankfurt'],
    ['newYork', 'virginia'],
    ['losAngeles', 'virginia'],
    ['tokyo', 'tokyo'],
    ['sydney', 'singapore'],
    ['saoPaulo', 'sao-paulo'],
    ['mumbai', 'singapore'],
  ] as const)('sends a reader in %s to %s', (city, expected) => {
    expect(first(rankOrigins(origins(), at(city), none, 0))).toBe(expected)
  })

  it('sends a reader in Sao Paulo to Virginia when only Frankfurt, Virginia and Tokyo exist', () => {
    expect(first(rankOrigins(origins(WORLD.slice(0, 3)), at('saoPaulo'), none, 0))).toBe('virginia')
  })

  it('sends a reader in Sydney to Tokyo when Singapore is down', () => {
    const health = new Map([['singapore', { healthy: false }]])
    const ranked = rankOrigins(origins(), at('sydney'), health, 0)
    expect(first(ranked)).toBe('tokyo')
    expect(ranked.at(-1)).toMatchObject({ origin: { id: 'singapore' }, tier: Tier.Degraded })
  })

  it('orders every origin by distance, nearest first', () => {
    expect(ids(rankOrigins(origins(WORLD.slice(0, 3)), at('paris'), none, 0))).toEqual([
      'frankfurt',
      'virginia',
      'tokyo',
    ])
  })

  it('skips an origin ejected until later but takes it back once the ejection ends', () => {
    const health = new Map([['frankfurt', { ejectedUntil: 1_000 }]])
    expect(first(rankOrigins(origins(), at('paris'), health, 999))).not.toBe('frankfurt')
    expect(first(rankOrigins(origins(), at('paris'), health, 1_000))).toBe('frankfurt')
  })

  it('puts a drained origin last, after down ones', () => {
    const health = new Map<string, OriginHealth>([
      ['frankfurt', { drained: true }],
      ['virginia', { healthy: false }],
    ])
    const ranked = ids(rankOrigins(origins(WORLD.slice(0, 3)), at('paris'), health, 0))
    expect(ranked).toEqual(['tokyo', 'virginia', 'frankfurt'])
  })

  it('still lists every origin when all are down, nearest first', () => {
    const health = new Map(WORLD.map((o) => [o.id, { healthy: false }]))
    const ranked = rankOrigins(origins(), at('paris'), health, 0)
    expect(ranked).toHaveLength(WORLD.length)
    expect(first(ranked)).toBe('frankfurt')
  })

  it('lets a weight pull readers towards an origin', () => {
    // Paris–Frankfurt ≈ 480 km, Paris–Virginia ≈ 6,300 km: weight 20 makes Virginia look ≈ 315 km.
    const weighted = WORLD.map((o) => (o.id === 'virginia' ? { ...o, weight: 20 } : o))
    expect(first(rankOrigins(origins(weighted), at('paris'), none, 0))).toBe('virginia')
  })

  it('breaks exact ties by list position', () => {
    const twins = [
      { id: 'b', url: 'https://b.example', lat: 10, lon: 10 },
      { id: 'a', url: 'https://a.example', lat: 10, lon: 10 },
    ]
    expect(ids(rankOrigins(origins(twins), at('paris'), none, 0))).toEqual(['b', 'a'])
  })

  it('uses the configured default order when the reader cannot be located', () => {
    const ranked = rankOrigins(origins(), undefined, none, 0, ['tokyo', 'virginia'])
    expect(ids(ranked)).toEqual(['tokyo', 'virginia', 'frankfurt', 'sao-paulo', 'singapore'])
  })

  it('uses list order when the reader cannot be located and no default order is set', () => {
    expect(ids(rankOrigins(origins(), undefined, none, 0))).toEqual(WORLD.map((o) => o.id))
  })

  it('routes a reader known only by country to the nearest origin to its centroid', () => {
    expect(first(rankOrigins(origins(), locateReader({ country: 'AU' }), none, 0))).toBe(
      'singapore',
    )
    expect(first(rankOrigins(origins(), locateReader({ country: 'DE' }), none, 0))).toBe(
      'frankfurt',
    )
  })
})
