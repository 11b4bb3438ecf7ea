import { describe, expect, it } from 'vitest'
import { validateConfig } from '../../worker/config'
import { DEFAULT_THRESHOLDS, PassiveHealth } from '../../worker/health/passive'
import { healthView } from '../../worker/health/view'
import { NO_OVERRIDES } from '../../worker/overrides'

const result = validateConfig([
  { id: 'tokyo', url: 'https://nrt.example', lat: 35.68, lon: 139.69 },
])
if (!result.ok) throw new Error(result.errors.join('\n'))
const { origins } = result.config

/** A passive view in which tokyo failed at `at` (ejected for 60 s). */
function ejectedAt(at: number) {
  const passive = new PassiveHealth()
  const refused = { kind: 'failure', reason: 'connect error', conclusive: true } as const
  // Of three configured origins: a lone origin is never ejected.
  passive.record('tokyo', refused, at, 3, { ...DEFAULT_THRESHOLDS, baseEjectionMs: 60_000 })
  return passive
}

describe('healthView', () => {
  it('keeps an ejection while the probes have not seen the origin come back since', () => {
    const probed = new Map([['tokyo', { healthy: true, since: 500 }]])
    const view = healthView(origins, probed, NO_OVERRIDES, ejectedAt(1_000))
    expect(view.get('tokyo')).toEqual({ healthy: true, ejectedUntil: 61_000 })
  })

  it('ends an ejection early once the probes saw the origin come back up after it', () => {
    const probed = new Map([['tokyo', { healthy: true, since: 2_000 }]])
    const view = healthView(origins, probed, NO_OVERRIDES, ejectedAt(1_000))
    expect(view.get('tokyo')).toEqual({ healthy: true })
  })

  it('marks drained origins from the overrides', () => {
    const view = healthView(
      origins,
      new Map(),
      { ...NO_OVERRIDES, drained: ['tokyo'] },
      new PassiveHealth(),
    )
    expect(view.get('tokyo')).toEqual({ drained: true })
  })
})
