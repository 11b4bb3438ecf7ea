import { describe, expect, it } from 'vitest'
import { describeFailure } from '../../scripts/lib/drill-analyze.mjs'
import { requestLine } from '../../scripts/lib/drill-run.mjs'

const LOGGED = {
  message: 'request',
  method: 'GET',
  path: '/echo/read',
  status: 503,
  failures: ['frankfurt: connect error (2 ms)', 'tokyo: timeout (900 ms)'],
}

describe('requestLine', () => {
  it('reads the log line plain or inside a structured-log envelope', () => {
    const plain = JSON.stringify(LOGGED)
    const wrapped = JSON.stringify({ level: 'log', message: plain })
    const expected = { path: '/echo/read', status: 503, failures: LOGGED.failures }
    expect(requestLine(plain)).toEqual(expected)
    expect(requestLine(wrapped)).toEqual(expected)
    expect(requestLine('workerd started')).toBeUndefined()
    expect(requestLine('{"message":"georoute: cache read failed"}')).toBeUndefined()
  })
})

describe('describeFailure', () => {
  const sent = {
    kind: 'read' as const,
    seq: 7,
    path: '/echo/read?r=7',
    city: 'New York',
    nearest: 'virginia',
    colo: 'EWR',
    sentAt: 10_000,
    doneAt: 10_950,
    status: 503,
    origin: null,
    cache: 'MISS',
  }

  it('names the origins the Worker tried, from its log line for that request', () => {
    const lines = [
      { at: 9_000, path: '/echo/read', status: 503, failures: ['virginia: status 503 (1 ms)'] },
      { at: 10_940, path: '/echo/read', status: 503, failures: LOGGED.failures },
    ]
    expect(describeFailure(sent, 9_000, lines)).toBe(
      'read /echo/read?r=7 by New York at +1.00 s, 950 ms: status 503 from georoute (cache MISS); tried frankfurt: connect error (2 ms), tokyo: timeout (900 ms)',
    )
  })

  it('says only what came back when no line matches', () => {
    expect(describeFailure(sent, 9_000, [])).toBe(
      'read /echo/read?r=7 by New York at +1.00 s, 950 ms: status 503 from georoute (cache MISS)',
    )
  })
})
