import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { MAX_AFTER_DETECTION } from '../../scripts/lib/drill-analyze.mjs'
import { HERD_GOAL } from '../../scripts/lib/drill-herd.mjs'
import { runDrill } from '../../scripts/lib/drill-run.mjs'
import { BUNDLE_DIR } from './harness'

type Drill = Awaited<ReturnType<typeof runDrill>>

// The short fault drill (`npm run drill -- --short`): real origins, the bundled Worker under
// workerd, a steady stream of reads and writes, and every fault once. About 40 s.
let drill: Drill

beforeAll(async () => {
  drill = await runDrill({ script: join(BUNDLE_DIR, 'index.js'), short: true })
}, 120_000)

const phase = (name: string) => {
  const found = drill.results.find((r) => r.name === name)
  if (!found) throw new Error(`no phase "${name}"`)
  return found
}

const NEAREST_FAULTS = [
  'nearest origin resets connections',
  'nearest origin hangs',
  'nearest origin answers 503',
  'nearest origin slow (+300 ms)',
  'one colo (EWR) cannot reach the nearest origin',
]

describe('fault drill (short)', () => {
  it('fails no GET while at least one origin is up, through every fault', () => {
    // On failure, the first failed GETs of each phase are shown, with what came back.
    const failed = drill.results.filter((r) => r.failedGets > 0)
    expect(failed.map((r) => ({ phase: r.name, count: r.failedGets, first: r.failures }))).toEqual(
      [],
    )
    expect(drill.results.every((r) => r.gets > 0)).toBe(true)
  })

  it('never delivers a POST twice, even when the primary dies mid-write', () => {
    expect(drill.results.reduce((n, r) => n + r.duplicatedPosts, 0)).toBe(0)
    // The fault was real: writes that reached the dying primary were refused, not retried.
    expect(phase('primary dies during writes').postsRefused).toBeGreaterThan(0)
  })

  it('sends POSTs to the primary only', () => {
    expect(drill.results.reduce((n, r) => n + r.misroutedPosts, 0)).toBe(0)
  })

  it('moves readers away from a failing nearest origin and gives them back once it recovers', () => {
    for (const name of NEAREST_FAULTS) {
      expect(phase(name).movedAwayMs, name).toBeDefined()
      expect(phase(name).backMs, name).toBeDefined()
    }
  })

  it("leaves the other colos' readers of an origin that one colo cannot reach on it", () => {
    const cut = phase('one colo (EWR) cannot reach the nearest origin')
    expect(cut.otherColosDisturbed).toBe(0)
    expect(cut.afterDetection).toBeLessThanOrEqual(MAX_AFTER_DETECTION)
  })

  it('reports time to first byte before, during and after a slow nearest origin', () => {
    const slow = phase('nearest origin slow (+300 ms)').firstByteP50
    expect(slow?.before).toBeDefined()
    expect(slow?.during).toBeDefined()
    expect(slow?.after).toBeDefined()
  })

  it('answers with a cached page or a clean 503 while every origin is down', () => {
    const down = phase('every origin dies').allDown
    expect(down?.unclean).toBe(0)
    expect(down?.clean503).toBeGreaterThan(0)
  })

  it('serves pages cached before the outage while every origin is down', () => {
    expect(drill.cacheAvailable).toBe(true)
    const down = phase('every origin dies').allDown
    expect(down?.cachedPageGets).toBeGreaterThan(0)
    expect(down?.cachedPagesServed).toBe(down?.cachedPageGets)
    expect(down?.servedFromCache).toBeGreaterThan(0)
  })

  it('keeps serving readers while KV holds a corrupt snapshot', () => {
    const corrupt = phase('KV holds a corrupt snapshot')
    expect(corrupt.gets).toBeGreaterThan(0)
    expect(corrupt.failedGets).toBe(0)
  })

  it('sends a herd of readers of one post right after a purge to the origin at most twice', () => {
    expect(drill.herd?.purged).toBe(true)
    expect(drill.herd?.ok).toBe(drill.herd?.readers)
    expect(drill.herd?.originRequests).toBeGreaterThan(0)
    expect(drill.herd?.originRequests).toBeLessThanOrEqual(HERD_GOAL)
  })

  it('gives readers no asset 404 and no older build during a rolling deploy', () => {
    const rolling = drill.consistency.rolling
    expect(rolling.assets).toBeGreaterThan(0)
    expect(rolling.asset404s).toBe(0)
    expect(rolling.wentBack).toBe(0)
    expect(rolling.skewShown).toBe(true)
    expect(rolling.skewEnded).toBe(true)
  })

  it('demotes the origin late for the expected build, and releases it once caught up', () => {
    const rolling = drill.consistency.rolling
    expect(rolling.lateReaderPagesWhileExpected).toBeGreaterThan(0)
    expect(rolling.lateServedWhileExpected).toBe(0)
    expect(rolling.lateServedAfter).toBeGreaterThan(0)
  })

  it('serves no read older than the reader’s write while replicas lag, with fewer on the primary', () => {
    const { lag } = drill.consistency
    expect(lag.position.pinnedReads).toBeGreaterThan(0)
    expect(lag.position.stale).toBe(0)
    expect(lag.window.stale).toBe(0)
    expect(lag.position.byPrimary).toBeLessThan(lag.window.byPrimary)
  })

  it('meets every drill goal', () => {
    expect(drill.goals.filter((g) => !g.met)).toEqual([])
  })
})
