import { describe, expect, it } from 'vitest'
import {
  entryFitsReader,
  isSkewed,
  knownBuilds,
  OBSERVATION_TTL_MS,
  offExpectedBuild,
  otherBuildOrigin,
  parseBuild,
  preferBuild,
} from '../../worker/builds'
import { validateConfig } from '../../worker/config'
import { type OriginHealth, rankOrigins } from '../../worker/routing'

const config = validateConfig([
  { id: 'frankfurt', url: 'https://fra.example', lat: 50.11, lon: 8.68, primary: true },
  { id: 'virginia', url: 'https://iad.example', lat: 38.95, lon: -77.45 },
  { id: 'tokyo', url: 'https://nrt.example', lat: 35.68, lon: 139.69 },
])
if (!config.ok) throw new Error(config.errors.join('\n'))
const { origins } = config.config
const tokyoReader = { lat: 35.68, lon: 139.69, source: 'cf' as const }
const rank = (health = new Map<string, OriginHealth>()) =>
  rankOrigins(origins, tokyoReader, health, 0)
const builds = (entries: Record<string, string>) => new Map(Object.entries(entries))

describe('parseBuild', () => {
  it.each(['3f9c2a1', 'v1.2.3', '2026-12-03T05:00Z', 'main@abc'])('accepts %s', (id) => {
    expect(parseBuild(id)).toBe(id)
  })
  it.each(['', 'a b', 'a;b', 'a,b', '"a"', 'x'.repeat(129)])('refuses %j', (id) => {
    expect(parseBuild(id)).toBeUndefined()
  })
})

describe('knownBuilds', () => {
  const seen = (entries: Record<string, { build: string; at: number }>) =>
    new Map(Object.entries(entries))

  it('takes what this isolate saw when newer than the last probe', () => {
    const stored = { tokyo: { build: 'A', lastCheck: 1000 } }
    const known = knownBuilds(origins, stored, seen({ tokyo: { build: 'B', at: 2000 } }), 3000)
    expect(known.get('tokyo')).toBe('B')
  })

  it('takes the probe when it is newer, or when the observation is too old', () => {
    const stored = { tokyo: { build: 'B', lastCheck: 5000 } }
    expect(
      knownBuilds(origins, stored, seen({ tokyo: { build: 'A', at: 2000 } }), 6000).get('tokyo'),
    ).toBe('B')
    const old = seen({ virginia: { build: 'A', at: 0 } })
    expect(knownBuilds(origins, {}, old, OBSERVATION_TTL_MS + 1).has('virginia')).toBe(false)
  })

  it('leaves out origins not in the configuration', () => {
    const known = knownBuilds(origins, {}, seen({ gone: { build: 'A', at: 0 } }), 1)
    expect(known.size).toBe(0)
  })
})

describe('the skew decision', () => {
  it('calls builds that disagree a skew, and one build or none not', () => {
    expect(isSkewed(builds({ tokyo: 'A', virginia: 'B' }))).toBe(true)
    expect(isSkewed(builds({ tokyo: 'B', virginia: 'B' }))).toBe(false)
    expect(isSkewed(builds({ tokyo: 'B' }))).toBe(false)
    expect(isSkewed(builds({}))).toBe(false)
  })

  it('keeps a reader of build B on the origins of build B, nearest first', () => {
    const ranked = preferBuild(rank(), 'B', builds({ tokyo: 'A', frankfurt: 'B', virginia: 'B' }))
    expect(ranked.map((r) => r.origin.id)).toEqual(['frankfurt', 'virginia', 'tokyo'])
  })

  it('does not send a reader to a down origin for their build', () => {
    const health = new Map<string, OriginHealth>([['frankfurt', { healthy: false }]])
    const ranked = preferBuild(rank(health), 'B', builds({ tokyo: 'A', frankfurt: 'B' }))
    expect(ranked[0]?.origin.id).toBe('tokyo')
  })

  it('asks an origin of another build after a 404, and none while builds agree', () => {
    const skewed = builds({ tokyo: 'A', virginia: 'A', frankfurt: 'B' })
    expect(otherBuildOrigin(rank(), 'tokyo', skewed)?.id).toBe('frankfurt')
    expect(otherBuildOrigin(rank(), 'tokyo', builds({ tokyo: 'A', frankfurt: 'A' }))).toBe(
      undefined,
    )
    // The build of the origin that answered is unknown: nothing to judge by.
    expect(otherBuildOrigin(rank(), 'tokyo', builds({ frankfurt: 'B' }))).toBeUndefined()
  })

  it('does not retry on a down origin of the other build', () => {
    const health = new Map<string, OriginHealth>([['frankfurt', { healthy: false }]])
    expect(otherBuildOrigin(rank(health), 'tokyo', builds({ tokyo: 'A', frankfurt: 'B' }))).toBe(
      undefined,
    )
  })

  it('marks origins on another build than the expected one, not those unknown', () => {
    const off = offExpectedBuild(builds({ tokyo: 'A', frankfurt: 'B' }), 'B')
    expect([...off]).toEqual(['tokyo'])
    expect(offExpectedBuild(builds({ tokyo: 'A' }), undefined).size).toBe(0)
  })

  it('serves a cached entry of another build only to readers kept on no build', () => {
    expect(entryFitsReader('A', 'B')).toBe(false)
    expect(entryFitsReader('B', 'B')).toBe(true)
    expect(entryFitsReader('A', undefined)).toBe(true)
    expect(entryFitsReader(undefined, 'B')).toBe(true)
  })
})
