import { afterEach, describe, expect, it } from 'vitest'
import { noteSkew, resetBuilds } from '../../worker/builds'
import { validateConfig } from '../../worker/config'
import { hitFitsReader, readOrder, retryElsewhere } from '../../worker/consistency'
import { isolatePositions } from '../../worker/positions'
import type { ProxyOutcome } from '../../worker/proxy'
import { rankOrigins } from '../../worker/routing'

const result = validateConfig(
  [
    { id: 'frankfurt', url: 'https://fra.example', lat: 50.11, lon: 8.68, primary: true },
    { id: 'virginia', url: 'https://iad.example', lat: 38.95, lon: -77.45 },
    { id: 'tokyo', url: 'https://nrt.example', lat: 35.68, lon: 139.69 },
  ],
  { health: { build: 'x-build-id' }, writes: { position: { header: 'x-db-position' } } },
)
if (!result.ok) throw new Error(result.errors.join('\n'))
const config = result.config
const at = (lat: number, lon: number) => ({ lat, lon, source: 'cf' as const })
const ranked = rankOrigins(config.origins, at(35.68, 139.69), new Map(), 0)
const ids = (list: readonly { id: string }[]) => list.map((o) => o.id)
const skew = (entries: Record<string, string>) => {
  const builds = new Map(Object.entries(entries))
  return { builds, skewed: noteSkew(builds, 0) }
}
const answered = (status: number, id: string): ProxyOutcome => ({
  response: new Response(null, { status }),
  origin: config.origins.find((o) => o.id === id)!,
  attempts: [],
})

afterEach(() => {
  resetBuilds()
  isolatePositions.clear()
})

describe('readOrder', () => {
  it('keeps a reader on their build, and their affinity yields to it', () => {
    const view = skew({ tokyo: 'a', virginia: 'b', frankfurt: 'b' })
    const steering = { pinned: false, affinity: 'tokyo', prefer: 'tokyo', build: 'b' }
    // From Tokyo, Frankfurt is nearer than Virginia.
    expect(ids(readOrder(ranked, steering, config, view, undefined))).toEqual([
      'frankfurt',
      'virginia',
      'tokyo',
    ])
  })

  it('ignores the build cookie while the builds agree', () => {
    const view = skew({ tokyo: 'b', virginia: 'b' })
    const steering = { pinned: false, build: 'a' }
    expect(readOrder(ranked, steering, config, view, undefined)[0]?.id).toBe('tokyo')
  })

  it('sends a reader pinned by position to the nearest caught-up origin', () => {
    isolatePositions.note('tokyo', 7n, 0)
    const steering = { pinned: true, prefer: 'frankfurt', minPosition: '7' }
    expect(readOrder(ranked, steering, config, undefined, 7n)[0]?.id).toBe('tokyo')
    expect(readOrder(ranked, steering, config, undefined, 8n)[0]?.id).toBe('frankfurt')
  })
})

describe('retryElsewhere', () => {
  it('asks an origin of the other build after a 404, never after another status', () => {
    const view = skew({ tokyo: 'a', virginia: 'b', frankfurt: 'b' })
    expect(retryElsewhere(answered(404, 'tokyo'), ranked, view, undefined, config)?.id).toBe(
      'frankfurt',
    )
    expect(retryElsewhere(answered(200, 'tokyo'), ranked, view, undefined, config)).toBeUndefined()
    expect(retryElsewhere(answered(410, 'tokyo'), ranked, view, undefined, config)).toBeUndefined()
  })

  it('asks no one while the builds agree', () => {
    const view = skew({ tokyo: 'a', virginia: 'a' })
    expect(retryElsewhere(answered(404, 'tokyo'), ranked, view, undefined, config)).toBeUndefined()
  })

  it('asks a reader pinned by position only of an origin that has their write', () => {
    const view = skew({ tokyo: 'a', virginia: 'b', frankfurt: 'a' })
    // Virginia runs the other build but is behind the reader's write; Frankfurt is the primary
    // but runs the same build as Tokyo: no one to ask.
    isolatePositions.note('virginia', 3n, 0)
    expect(retryElsewhere(answered(404, 'tokyo'), ranked, view, 5n, config)).toBeUndefined()
    isolatePositions.note('virginia', 5n, 1)
    expect(retryElsewhere(answered(404, 'tokyo'), ranked, view, 5n, config)?.id).toBe('virginia')
  })
})

describe('hitFitsReader', () => {
  const reader = (cookie?: string) => ({
    method: 'GET',
    headers: new Headers(cookie ? { cookie } : {}),
  })
  const entry = { 'x-build-id': 'a' }

  it('serves every fresh hit while this isolate sees no skew', () => {
    skew({ tokyo: 'a', virginia: 'a' })
    expect(hitFitsReader(entry, reader('__georoute_build=b.sig'), config)).toBe(true)
  })

  it('refuses an entry of another build to a reader kept on one, during a skew', () => {
    skew({ tokyo: 'a', virginia: 'b' })
    expect(hitFitsReader(entry, reader('__georoute_build=b.sig'), config)).toBe(false)
    expect(hitFitsReader(entry, reader('__georoute_build=a.sig'), config)).toBe(true)
    expect(hitFitsReader(entry, reader(), config)).toBe(true)
  })
})
