import { afterEach, describe, expect, it } from 'vitest'
import { ColoHealth, coloRecordKey, loadColoRecord } from '../../worker/health/colo-store'

// Two `ColoHealth` objects for one colo play two isolates of one data center: they share only
// the real Cache API, as isolates do.
const BUCKET = 15_000
const REFUSED = { kind: 'failure', reason: 'connect error', conclusive: true } as const
const cache = () => caches.default

afterEach(async () => {
  for (const colo of ['NRT', 'FRA']) await cache().delete(coloRecordKey(colo))
})

describe('the per-colo record in the Cache API', () => {
  it("protects a second isolate of the same colo from the first one's ejection", async () => {
    const now = Date.now()
    const first = new ColoHealth('NRT')
    const second = new ColoHealth('NRT')
    first.record('tokyo', REFUSED, now, 3)
    expect(first.writeDue(now, 3_000)).toBe(true)
    await first.write(cache(), now, BUCKET)
    await second.refresh(cache(), now, 1_000)
    expect(second.facts('tokyo', now, BUCKET).ejectedUntil).toBeGreaterThan(now)
  })

  it('keeps the record of one colo away from another colo', async () => {
    const now = Date.now()
    const nrt = new ColoHealth('NRT')
    nrt.record('tokyo', REFUSED, now, 3)
    await nrt.write(cache(), now, BUCKET)
    const fra = new ColoHealth('FRA')
    await fra.refresh(cache(), now, 1_000)
    expect(fra.facts('tokyo', now, BUCKET).ejectedUntil).toBe(0)
    expect(await loadColoRecord(cache(), 'FRA')).toBeUndefined()
  })

  it("adds each isolate's counts and reads the record again only after the memo", async () => {
    const now = Date.now()
    const first = new ColoHealth('NRT')
    const second = new ColoHealth('NRT')
    for (let i = 0; i < 3; i++) first.record('tokyo', { kind: 'success', ms: 30 }, now, 3)
    await first.write(cache(), now, BUCKET)
    second.record('tokyo', { kind: 'success', ms: 40 }, now + 10, 3)
    await second.write(cache(), now + 10, BUCKET)
    expect((await loadColoRecord(cache(), 'NRT'))?.origins.tokyo).toMatchObject({ ok: 4 })
    // `first` read nothing since its own write: the memo is fresh for a second.
    expect(first.refresh(cache(), now + 500, 1_000)).toBeUndefined()
    await first.refresh(cache(), now + 1_000, 1_000)
    expect(first.facts('tokyo', now + 1_000, BUCKET)).toMatchObject({ ok: 4, latencyMs: 40 })
  })

  it("never hands one request's read of the record to another to wait on", async () => {
    // workerd cancels a request that awaits I/O begun by another request once that one is gone.
    const now = Date.now()
    const health = new ColoHealth('NRT')
    const first = health.refresh(cache(), now, 1_000)
    expect(first).toBeInstanceOf(Promise)
    expect(health.refresh(cache(), now + 1, 1_000)).toBeUndefined()
    await first
    // A read whose request was cancelled never ends: it is retried once it is taken as abandoned.
    const stuck = new ColoHealth('NRT')
    void stuck.refresh({ match: () => new Promise(() => {}) } as unknown as Cache, now, 1_000)
    expect(stuck.refresh(cache(), now + 500, 1_000)).toBeUndefined()
    const retried = stuck.refresh(cache(), now + 1_000, 1_000)
    expect(retried).toBeInstanceOf(Promise)
    await retried
  })

  it('writes counts at most once per interval, a state change at once', async () => {
    const now = Date.now()
    const health = new ColoHealth('NRT')
    health.record('tokyo', { kind: 'success', ms: 30 }, now, 3)
    await health.write(cache(), now, BUCKET)
    health.record('tokyo', { kind: 'success', ms: 30 }, now + 100, 3)
    expect(health.writeDue(now + 100, 3_000)).toBe(false)
    expect(health.writeDue(now + 3_000, 3_000)).toBe(true)
    health.record('virginia', REFUSED, now + 200, 3)
    expect(health.writeDue(now + 200, 3_000)).toBe(true)
  })
})
