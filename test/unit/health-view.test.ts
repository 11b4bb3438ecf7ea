import { describe, expect, it } from 'vitest'
import { validateConfig } from '../../worker/config'
import type { ColoFacts } from '../../worker/health/colo'
import { healthView } from '../../worker/health/view'
import { NO_OVERRIDES } from '../../worker/overrides'

const result = validateConfig([
  { id: 'tokyo', url: 'https://nrt.example', lat: 35.68, lon: 139.69 },
])
if (!result.ok) throw new Error(result.errors.join('\n'))
const { origins } = result.config

const QUIET: ColoFacts = {
  ejectedAt: 0,
  ejectedUntil: 0,
  why: null,
  latencyMs: undefined,
  sampledAt: undefined,
  ok: 0,
  failed: 0,
}
/** Tokyo as this data center sees it. */
const seen = (facts: Partial<ColoFacts>) => (id: string) =>
  id === 'tokyo' ? { ...QUIET, ...facts } : undefined
const EJECTED = seen({ ejectedAt: 1_000, ejectedUntil: 61_000, why: 'connect error' })
const DOWN = new Map([['tokyo', { healthy: false, since: 500 }]])
const MIN = 5

describe('healthView', () => {
  it("keeps this data center's ejection even when the probes saw the origin come back since", () => {
    const probed = new Map([['tokyo', { healthy: true, since: 2_000 }]])
    const view = healthView(origins, probed, NO_OVERRIDES, EJECTED, MIN)
    expect(view.get('tokyo')).toEqual({ healthy: true, ejectedUntil: 61_000 })
  })

  it('marks drained origins from the overrides', () => {
    const drained = { ...NO_OVERRIDES, drained: ['tokyo'] }
    const view = healthView(origins, new Map(), drained, () => undefined, MIN)
    expect(view.get('tokyo')).toEqual({ drained: true })
  })

  it("lets the probes' down stand when this data center has sent the origin no requests", () => {
    const view = healthView(origins, DOWN, NO_OVERRIDES, seen({}), MIN)
    expect(view.get('tokyo')).toEqual({ healthy: false })
  })

  it("does not demote an origin that this data center's recent requests reach fine", () => {
    const view = healthView(origins, DOWN, NO_OVERRIDES, seen({ ok: MIN }), MIN)
    expect(view.get('tokyo')).toEqual({})
  })

  it('lets the probes stand when the local evidence is too thin or has a failure', () => {
    const few = healthView(origins, DOWN, NO_OVERRIDES, seen({ ok: MIN - 1 }), MIN)
    const failed = healthView(origins, DOWN, NO_OVERRIDES, seen({ ok: 50, failed: 1 }), MIN)
    expect(few.get('tokyo')).toEqual({ healthy: false })
    expect(failed.get('tokyo')).toEqual({ healthy: false })
  })
})
