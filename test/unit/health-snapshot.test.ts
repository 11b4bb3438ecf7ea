import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { ProbeResult } from '../../worker/health/probe'
import {
  changesBetween,
  HEALTH_KEY,
  healthFromSnapshot,
  loadSnapshot,
  nextSnapshot,
  parseSnapshot,
  readSnapshot,
  resetSnapshotMemo,
  type Snapshot,
  skewEventBetween,
  writeReason,
} from '../../worker/health/snapshot'
import { initialState, next, type OriginState } from '../../worker/health/state'
import { configWith, fakeKv } from './health-fakes'

const T0 = Date.UTC(2026, 0, 1)
const MINUTE = 60_000
const DAY = 24 * 60 * MINUTE
const settings = configWith().settings.health
const OK: ProbeResult = { ok: true, status: 200, latencyMs: 40 }
const FAIL: ProbeResult = { ok: false, status: 503, latencyMs: 30, reason: 'status 503' }

function snapshot(origins: Record<string, Partial<OriginState>>, at = T0): Snapshot {
  const states: Record<string, OriginState> = {}
  for (const [id, state] of Object.entries(origins)) {
    states[id] = { ...initialState(at), ...state }
  }
  return { version: 1, updatedAt: at, changedAt: null, origins: states }
}

/**
 * Drives the write decision the way the cron does: `probe(time)` gives each origin's result,
 * rounds every 10 s for the first 50 s of each minute. Returns the times of the writes.
 */
function simulate(probe: (id: string, time: number) => ProbeResult, days = 1): number[] {
  const ids = ['frankfurt', 'virginia', 'tokyo']
  let stored: Snapshot | undefined
  let states: Record<string, OriginState> = {}
  for (const id of ids) states[id] = initialState(T0)
  const writes: number[] = []
  for (let minute = 0; minute < days * 24 * 60; minute += 1) {
    for (let round = 0; round < 5; round += 1) {
      const at = T0 + minute * MINUTE + round * 10_000
      const after: Record<string, OriginState> = {}
      for (const id of ids) after[id] = next(states[id]!, probe(id, at), settings, at)
      states = after
      if (writeReason(stored, states, at, settings, T0 + minute * MINUTE)) {
        stored = nextSnapshot(stored, states, at, settings)
        writes.push(at)
      }
    }
  }
  return writes
}

describe('when the cron writes the snapshot', () => {
  it('writes about 150 times on a steady day: heartbeats only', () => {
    const writes = simulate(() => OK)
    expect(writes.length).toBeGreaterThan(100)
    expect(writes.length).toBeLessThanOrEqual(150)
  })

  it('keeps writes bounded when an origin flaps all day', () => {
    // Two probes lost, two answered, over and over: a state change every 20 s.
    const writes = simulate((id, at) => (id === 'tokyo' && (at / 20_000) % 2 < 1 ? FAIL : OK))
    // The bucket refills one change write per interval and holds `writeBurst`; heartbeats
    // are not needed while changes are written.
    const perDay = DAY / settings.minWriteIntervalMs
    expect(writes.length).toBeGreaterThan(perDay / 2)
    expect(writes.length).toBeLessThanOrEqual(perDay + settings.writeBurst + 1)
    expect(writes.length).toBeLessThan(1000)
  })

  it('writes a change at once after a quiet spell', () => {
    const stored = snapshot({ tokyo: { healthy: true } }, T0)
    const now = T0 + 3 * MINUTE
    expect(
      writeReason(stored, { tokyo: { ...initialState(T0), healthy: false } }, now, settings),
    ).toBe('change')
  })

  it('writes an outage and its recovery at once', () => {
    const up = snapshot({ tokyo: { healthy: true } })
    const down = { tokyo: { ...initialState(T0), healthy: false } }
    expect(writeReason(up, down, T0 + 10_000, settings)).toBe('change')
    const written = nextSnapshot(up, down, T0 + 10_000, settings)
    const back = { tokyo: { ...initialState(T0), healthy: true } }
    expect(writeReason(written, back, T0 + 70_000, settings, T0 + 60_000)).toBe('change')
  })

  it('writes at most one change per cron run', () => {
    const up = snapshot({ tokyo: { healthy: true } })
    const down = { tokyo: { ...initialState(T0), healthy: false } }
    const written = nextSnapshot(up, down, T0 + 10_000, settings)
    const back = { tokyo: { ...initialState(T0), healthy: true } }
    expect(writeReason(written, back, T0 + 30_000, settings, T0)).toBeUndefined()
  })

  it('holds changes back once the burst is spent, one credit per minWriteIntervalMs', () => {
    const interval = settings.minWriteIntervalMs
    let stored = snapshot({ tokyo: { healthy: true } })
    let healthy = true
    for (let i = 0; i < settings.writeBurst; i++) {
      healthy = !healthy
      const at = T0 + (i + 1) * 10_000
      const states = { tokyo: { ...initialState(T0), healthy } }
      expect(writeReason(stored, states, at, settings, at)).toBe('change')
      stored = nextSnapshot(stored, states, at, settings)
    }
    // Ten seconds between writes refilled a little; the next credit is whole after the rest.
    const spentAt = stored.updatedAt
    const left = stored.writeCredits!
    expect(left).toBeLessThan(1)
    const ready = spentAt + Math.ceil((1 - left) * interval)
    const flipped = { tokyo: { ...initialState(T0), healthy: !healthy } }
    expect(writeReason(stored, flipped, ready - 1000, settings, spentAt + 1)).toBeUndefined()
    expect(writeReason(stored, flipped, ready, settings, spentAt + 1)).toBe('change')
  })

  it('writes nothing while nothing changes, until the heartbeat is due', () => {
    const stored = snapshot({ tokyo: {} })
    expect(writeReason(stored, stored.origins, T0 + 9 * MINUTE, settings)).toBeUndefined()
    expect(writeReason(stored, stored.origins, T0 + 10 * MINUTE, settings)).toBe('heartbeat')
  })

  it('writes a change when an origin is added to or removed from the configuration', () => {
    const stored = snapshot({ tokyo: {} })
    const added = { ...stored.origins, virginia: initialState(T0) }
    expect(writeReason(stored, added, T0 + 1000, settings)).toBe('change')
  })

  it('writes the first snapshot when KV holds none', () => {
    expect(writeReason(undefined, {}, T0, settings)).toBe('first')
  })

  it('marks a write that carries a change, so the next change is paced from it', () => {
    const stored = snapshot({ tokyo: {} })
    const down = { tokyo: { ...initialState(T0), healthy: false } }
    expect(nextSnapshot(stored, down, T0 + 5000, settings)).toMatchObject({
      updatedAt: T0 + 5000,
      changedAt: T0 + 5000,
      writeCredits: settings.writeBurst - 1,
    })
    expect(nextSnapshot(stored, stored.origins, T0 + 5000, settings).changedAt).toBeNull()
  })
})

describe('changesBetween', () => {
  it('lists each origin that changed state, with the reason it went down', () => {
    const before = snapshot({ tokyo: {}, virginia: {} })
    const after = snapshot({
      tokyo: { healthy: false, since: T0 + 20_000, reason: 'timeout' },
      virginia: {},
    })
    expect(changesBetween(before, after)).toEqual([
      {
        origin: 'tokyo',
        from: 'up',
        to: 'down',
        reason: 'timeout',
        at: T0 + 20_000,
        afterMs: 20_000,
      },
    ])
  })
})

describe('parseSnapshot', () => {
  const valid = snapshot({ tokyo: { healthy: false, reason: 'timeout', lastCheck: T0 } })

  it('accepts a snapshot the cron wrote', () => {
    expect(parseSnapshot(JSON.parse(JSON.stringify(valid)))).toEqual(valid)
  })

  it.each([
    ['null', null],
    ['a string', 'healthy'],
    ['another version', { ...valid, version: 2 }],
    ['no updatedAt', { ...valid, updatedAt: undefined }],
    ['origins as a list', { ...valid, origins: [] }],
    ['healthy as a string', snapshot({ tokyo: { healthy: 'yes' as unknown as boolean } })],
    ['a negative count', snapshot({ tokyo: { failures: -1 } })],
  ])('refuses %s', (_what, raw) => {
    expect(parseSnapshot(raw)).toBeUndefined()
  })
})

describe('reading the snapshot', () => {
  let logged: ReturnType<typeof vi.spyOn>
  beforeEach(() => {
    resetSnapshotMemo()
    logged = vi.spyOn(console, 'error').mockImplementation(() => {})
  })
  afterEach(() => {
    vi.restoreAllMocks()
  })

  it('treats a corrupt value as unknown and logs it', async () => {
    const { kv } = fakeKv({ [HEALTH_KEY]: '{"version":1,' })
    expect(await loadSnapshot(kv)).toEqual({ ok: true, snapshot: undefined })
    expect(logged).toHaveBeenCalledWith(expect.stringContaining('corrupt health snapshot'))
  })

  it('reports a failing KV call as a value, never a throw', async () => {
    const store = fakeKv()
    store.fail()
    expect(await loadSnapshot(store.kv)).toEqual({ ok: false })
  })

  it('reads KV once per memo TTL on the request path', async () => {
    const store = fakeKv({ [HEALTH_KEY]: JSON.stringify(snapshot({ tokyo: {} })) })
    for (let ms = 0; ms < 10_000; ms += 500) await readSnapshot(store.kv, T0 + ms, 10_000)
    expect(store.calls.get).toBe(1)
    await readSnapshot(store.kv, T0 + 10_000, 10_000)
    expect(store.calls.get).toBe(2)
  })

  it('answers unknown, without throwing, when KV fails before any good read', async () => {
    const store = fakeKv()
    store.fail()
    expect(await readSnapshot(store.kv, T0, 10_000)).toBeUndefined()
    expect(logged).toHaveBeenCalledWith(expect.stringContaining('reading the health snapshot'))
  })

  it('keeps the last good snapshot when a later read fails', async () => {
    const stored = snapshot({ tokyo: { healthy: false } })
    const store = fakeKv({ [HEALTH_KEY]: JSON.stringify(stored) })
    await readSnapshot(store.kv, T0, 10_000)
    store.fail()
    expect(await readSnapshot(store.kv, T0 + 20_000, 10_000)).toEqual(stored)
  })
})

describe('healthFromSnapshot', () => {
  const stored = snapshot({ tokyo: { healthy: false }, virginia: { healthy: true } })

  it('gives each origin the probes verdict', () => {
    expect(healthFromSnapshot(stored, T0 + MINUTE, settings)).toEqual(
      new Map([
        ['tokyo', { healthy: false, since: T0 }],
        ['virginia', { healthy: true, since: T0 }],
      ]),
    )
  })

  it('still trusts a snapshot between heartbeats (10 min) plus the grace (5 min)', () => {
    expect(healthFromSnapshot(stored, T0 + 15 * MINUTE, settings).size).toBe(2)
  })

  it('treats a snapshot past its missed heartbeat as unknown: routing goes by distance', () => {
    expect(healthFromSnapshot(stored, T0 + 15 * MINUTE + 1, settings).size).toBe(0)
  })

  it('treats no snapshot as unknown', () => {
    expect(healthFromSnapshot(undefined, T0, settings).size).toBe(0)
  })
})

describe('build skew in the snapshot', () => {
  // Shorter than the heartbeat (10 min): only the alert itself can cause the write.
  const ALERT = 5 * MINUTE
  const on = (builds: Record<string, string>) => {
    const states: Record<string, OriginState> = {}
    for (const [id, build] of Object.entries(builds)) states[id] = { ...initialState(T0), build }
    return states
  }

  it('writes a build change, and only then', () => {
    const stored = nextSnapshot(undefined, on({ tokyo: 'A', virginia: 'A' }), T0, settings, ALERT)
    expect(
      writeReason(
        stored,
        on({ tokyo: 'A', virginia: 'A' }),
        T0 + MINUTE,
        settings,
        T0 + MINUTE,
        ALERT,
      ),
    ).toBeUndefined()
    expect(
      writeReason(
        stored,
        on({ tokyo: 'B', virginia: 'A' }),
        T0 + MINUTE,
        settings,
        T0 + MINUTE,
        ALERT,
      ),
    ).toBe('change')
  })

  it('records since when builds disagree, and clears it when they agree', () => {
    const start = nextSnapshot(undefined, on({ tokyo: 'A', virginia: 'A' }), T0, settings, ALERT)
    expect(start.skew).toBeUndefined()
    const skewed = nextSnapshot(
      start,
      on({ tokyo: 'B', virginia: 'A' }),
      T0 + MINUTE,
      settings,
      ALERT,
    )
    expect(skewed.skew).toEqual({ since: T0 + MINUTE, alerted: false })
    const still = nextSnapshot(
      skewed,
      on({ tokyo: 'B', virginia: 'C' }),
      T0 + 2 * MINUTE,
      settings,
      ALERT,
    )
    expect(still.skew?.since).toBe(T0 + MINUTE)
    const over = nextSnapshot(
      still,
      on({ tokyo: 'C', virginia: 'C' }),
      T0 + 3 * MINUTE,
      settings,
      ALERT,
    )
    expect(over.skew).toBeUndefined()
  })

  it('writes once when the skew outlasts the alert, and reports it and its end', () => {
    const start = nextSnapshot(undefined, on({ tokyo: 'A', virginia: 'A' }), T0, settings, ALERT)
    const skewed = nextSnapshot(start, on({ tokyo: 'B', virginia: 'A' }), T0, settings, ALERT)
    const same = on({ tokyo: 'B', virginia: 'A' })
    const before = T0 + ALERT - 1
    expect(writeReason(skewed, same, before, settings, before, ALERT)).toBeUndefined()
    const late = T0 + ALERT
    expect(writeReason(skewed, same, late, settings, late, ALERT)).toBe('change')
    const alerted = nextSnapshot(skewed, same, late, settings, ALERT)
    expect(alerted.skew).toEqual({ since: T0, alerted: true })
    expect(skewEventBetween(skewed, alerted)).toEqual({
      event: 'build-skew',
      since: T0,
      builds: { tokyo: 'B', virginia: 'A' },
    })
    expect(
      writeReason(alerted, same, late + MINUTE, settings, late + MINUTE, ALERT),
    ).toBeUndefined()
    const over = nextSnapshot(
      alerted,
      on({ tokyo: 'B', virginia: 'B' }),
      late + MINUTE,
      settings,
      ALERT,
    )
    expect(skewEventBetween(alerted, over)).toMatchObject({ event: 'build-skew-over', since: T0 })
  })

  it('reads back what it wrote', () => {
    const start = nextSnapshot(undefined, on({ tokyo: 'A', virginia: 'B' }), T0, settings, ALERT)
    expect(parseSnapshot(JSON.parse(JSON.stringify(start)))).toEqual(start)
    expect(parseSnapshot({ ...start, skew: { since: 'x' } })).toBeUndefined()
    expect(
      parseSnapshot({ ...start, origins: { tokyo: { ...start.origins.tokyo, build: 3 } } }),
    ).toBeUndefined()
  })
})
