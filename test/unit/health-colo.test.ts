import { describe, expect, it } from 'vitest'
import {
  type ColoRecord,
  coloFacts,
  hasLocalEvidence,
  mergeColoRecord,
  mergeOrigin,
  parseColoRecord,
} from '../../worker/health/colo'
import type { PassiveState } from '../../worker/health/passive'

const BUCKET = 15_000
const NOW = 100 * BUCKET + 1_000

const state = (patch: Partial<PassiveState>): PassiveState => ({
  ejections: 0,
  ejectedAt: 0,
  ejectedUntil: 0,
  failures: 0,
  changedAt: 0,
  ...patch,
})

/** A record entry of bucket 100 with an ejection changed at `changedAt`. */
const stored = (patch: Partial<ColoRecord['origins'][string]> = {}) => ({
  ejectedAt: 5_000,
  ejectedUntil: NOW + 60_000,
  why: 'connect error',
  changedAt: 5_000,
  latencyMs: 80,
  sampledAt: 5_000,
  bucket: 100,
  ok: 3,
  failed: 1,
  prevOk: 2,
  prevFailed: 0,
  ...patch,
})

describe('mergeOrigin (one isolate into its data center record)', () => {
  it("takes this isolate's ejection when it is newer than the record's", () => {
    const local = state({
      ejectedAt: 9_000,
      ejectedUntil: 14_000,
      changedAt: 9_000,
      lastFailure: 'status 503',
    })
    const merged = mergeOrigin(
      stored({ ejectedUntil: 0, changedAt: 1_000 }),
      { state: local, ok: 0, failed: 0 },
      100,
    )
    expect(merged).toMatchObject({
      ejectedAt: 9_000,
      ejectedUntil: 14_000,
      why: 'status 503',
      changedAt: 9_000,
    })
  })

  it("keeps another isolate's newer ejection over this isolate's older state", () => {
    const local = state({ ejectedAt: 1_000, ejectedUntil: 2_000, changedAt: 1_000 })
    const merged = mergeOrigin(stored(), { state: local, ok: 0, failed: 0 }, 100)
    expect(merged).toMatchObject({ ejectedAt: 5_000, ejectedUntil: NOW + 60_000, changedAt: 5_000 })
  })

  it("ends the data center's ejection when an isolate saw the origin answer after it", () => {
    const local = state({ ejectedAt: 5_000, ejectedUntil: 7_000, changedAt: 7_000 })
    const merged = mergeOrigin(stored(), { state: local, ok: 1, failed: 0 }, 100)
    expect(merged.ejectedUntil).toBe(7_000)
  })

  it('takes the newer latency sample', () => {
    const newer = state({ latencyMs: 20, sampledAt: 6_000 })
    const older = state({ latencyMs: 20, sampledAt: 4_000 })
    expect(mergeOrigin(stored(), { state: newer, ok: 0, failed: 0 }, 100).latencyMs).toBe(20)
    expect(mergeOrigin(stored(), { state: older, ok: 0, failed: 0 }, 100).latencyMs).toBe(80)
  })

  it('adds unwritten counts to the current bucket and moves older buckets on', () => {
    const same = mergeOrigin(stored(), { state: undefined, ok: 4, failed: 0 }, 100)
    expect(same).toMatchObject({ bucket: 100, ok: 7, failed: 1, prevOk: 2, prevFailed: 0 })
    const next = mergeOrigin(stored(), { state: undefined, ok: 4, failed: 0 }, 101)
    expect(next).toMatchObject({ bucket: 101, ok: 4, failed: 0, prevOk: 3, prevFailed: 1 })
    const later = mergeOrigin(stored(), undefined, 102)
    expect(later).toMatchObject({ ok: 0, failed: 0, prevOk: 0, prevFailed: 0 })
  })
})

describe('mergeColoRecord', () => {
  it('keeps the origins only the record knows and adds those only this isolate knows', () => {
    const record: ColoRecord = { version: 1, colo: 'NRT', writtenAt: 1, origins: { a: stored() } }
    const locals = new Map([
      ['b', { state: state({ latencyMs: 30, sampledAt: NOW }), ok: 1, failed: 0 }],
    ])
    const merged = mergeColoRecord(record, locals, 'NRT', NOW, BUCKET)
    expect(Object.keys(merged.origins).sort()).toEqual(['a', 'b'])
    expect(merged).toMatchObject({ colo: 'NRT', writtenAt: NOW })
    expect(merged.origins.b).toMatchObject({ latencyMs: 30, ok: 1, bucket: 100 })
  })
})

describe('coloFacts and local evidence', () => {
  it('counts both buckets, the record and this isolate together', () => {
    const facts = coloFacts(stored(), { state: undefined, ok: 2, failed: 0 }, NOW, BUCKET)
    expect(facts).toMatchObject({ ok: 7, failed: 1, latencyMs: 80, ejectedUntil: NOW + 60_000 })
  })

  it('needs enough successes and no failure', () => {
    const facts = coloFacts(stored({ failed: 0 }), undefined, NOW, BUCKET)
    expect(hasLocalEvidence(facts, 5)).toBe(true)
    expect(hasLocalEvidence(facts, 6)).toBe(false)
    expect(hasLocalEvidence(coloFacts(stored(), undefined, NOW, BUCKET), 1)).toBe(false)
    expect(hasLocalEvidence(undefined, 1)).toBe(false)
  })

  it('forgets evidence older than two buckets', () => {
    const old = coloFacts(stored({ failed: 0 }), undefined, NOW + 2 * BUCKET, BUCKET)
    expect(old).toMatchObject({ ok: 0, failed: 0 })
  })
})

describe('parseColoRecord', () => {
  const good = { version: 1, colo: 'NRT', writtenAt: 1, origins: { a: stored() } }

  it('accepts a well-formed record of its own colo', () => {
    expect(parseColoRecord(good, 'NRT')).toEqual(good)
  })

  it("refuses another colo's record and malformed ones", () => {
    expect(parseColoRecord(good, 'FRA')).toBeUndefined()
    expect(
      parseColoRecord({ ...good, origins: { a: { ...stored(), ok: -1 } } }, 'NRT'),
    ).toBeUndefined()
    expect(parseColoRecord({ ...good, version: 2 }, 'NRT')).toBeUndefined()
    expect(parseColoRecord('nope', 'NRT')).toBeUndefined()
  })
})
