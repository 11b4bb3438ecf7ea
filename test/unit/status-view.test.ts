import { describe, expect, it } from 'vitest'
import { validateConfig } from '../../worker/config'
import type { OriginStatus } from '../../worker/status/model'
import { ago, healthOf, mapPoint, summary } from '../../worker/status/view'
import { LAND_PATH, MAP_FRAME } from '../../worker/status/world-map.generated'

const origin = (patch: Partial<OriginStatus>): OriginStatus => ({
  id: 'a',
  label: null,
  lat: 0,
  lon: 0,
  primary: false,
  healthy: true,
  drained: false,
  probe: 'up',
  since: null,
  lastCheck: null,
  latencyMs: null,
  reason: null,
  ejectedUntil: null,
  here: { latencyMs: null, requests: 0, successRate: null, ejected: false, probeOverruled: false },
  build: null,
  offBuild: false,
  ...patch,
})

describe('healthOf', () => {
  it('calls an origin the probes pass "up"', () => {
    expect(healthOf(origin({}))).toBe('up')
  })

  it('calls an unhealthy origin "down"', () => {
    expect(healthOf(origin({ healthy: false, probe: 'down' }))).toBe('down')
  })

  it('calls a drained origin "drained" even when it is also down', () => {
    expect(healthOf(origin({ drained: true, healthy: false }))).toBe('drained')
  })

  it('calls a healthy origin without a probe result "unknown"', () => {
    expect(healthOf(origin({ probe: 'unknown' }))).toBe('unknown')
  })
})

describe('mapPoint', () => {
  it('puts longitude -180 on the left edge and 180 on the right', () => {
    expect(mapPoint(0, -180).x).toBe(0)
    expect(mapPoint(0, 180).x).toBe(MAP_FRAME.width)
  })

  it("puts the frame's top latitude at y = 0 and its bottom at the height", () => {
    expect(mapPoint(MAP_FRAME.latTop, 0).y).toBe(0)
    expect(mapPoint(MAP_FRAME.latBottom, 0).y).toBe(MAP_FRAME.height)
  })

  it('places Frankfurt in the north-east quarter of the frame', () => {
    const { x, y } = mapPoint(50.11, 8.68)
    expect(x).toBeCloseTo(524.1, 1)
    expect(y).toBeCloseTo(96.9, 1)
  })

  it('pins a place beyond the crop (McMurdo) to the bottom edge', () => {
    expect(mapPoint(-77.85, 166.67).y).toBe(MAP_FRAME.height)
  })
})

describe('the generated land path', () => {
  it('stays inside the frame and small', () => {
    expect(LAND_PATH.length).toBeLessThan(25_000)
    for (const [, x, y] of LAND_PATH.matchAll(/M(-?\d+)[ ]?(-?\d+)/g)) {
      expect(Number(x)).toBeGreaterThanOrEqual(0)
      expect(Number(x)).toBeLessThanOrEqual(MAP_FRAME.width)
      expect(Number(y)).toBeGreaterThanOrEqual(0)
      expect(Number(y)).toBeLessThanOrEqual(MAP_FRAME.height)
    }
  })
})

describe('ago', () => {
  const now = Date.parse('2026-01-01T12:00:00Z')

  it.each([
    ['2026-01-01T11:59:58Z', 'just now'],
    ['2026-01-01T11:59:18Z', '42 s ago'],
    ['2026-01-01T11:55:00Z', '5 min ago'],
    ['2026-01-01T09:00:00Z', '3 h ago'],
    ['2025-12-30T12:00:00Z', '2 d ago'],
  ])('words %s as "%s"', (iso, words) => {
    expect(ago(iso, now)).toBe(words)
  })

  it('says nothing for a missing or malformed time', () => {
    expect(ago(null, now)).toBeNull()
    expect(ago('yesterday', now)).toBeNull()
  })
})

describe('summary', () => {
  it('is "ok" when every origin serves', () => {
    expect(summary([origin({}), origin({ id: 'b' })])).toEqual({
      text: 'All 2 origins serving',
      level: 'ok',
    })
  })

  it('is "degraded" when some origins are drained or down', () => {
    const origins = [origin({}), origin({ drained: true }), origin({ healthy: false })]
    expect(summary(origins)).toEqual({ text: '1 of 3 origins serving', level: 'degraded' })
  })

  it('is "down" when no origin serves', () => {
    expect(summary([origin({ healthy: false })]).level).toBe('down')
  })
})

describe('settings.status', () => {
  const origins = [{ id: 'a', url: 'https://a.example', lat: 0, lon: 0 }]

  it('defaults to a public page without detail', () => {
    const result = validateConfig(origins, {})
    expect(result.ok && result.config.settings.status).toEqual({
      access: 'public',
      publicDetail: false,
    })
  })

  it('refuses an unknown access level, naming the field', () => {
    const result = validateConfig(origins, { status: { access: 'secret' } })
    expect(result).toEqual({
      ok: false,
      errors: ['settings.status.access: must be "public" or "admin"'],
    })
  })
})
