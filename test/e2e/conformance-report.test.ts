import { describe, expect, it } from 'vitest'
import { renderConformanceReport, scoreRows } from '../../scripts/lib/conformance-report.mjs'
import {
  classify,
  compareRuns,
  failures,
  groupFailures,
  proxyTests,
  score,
} from '../../scripts/lib/conformance-score.mjs'

/** A tiny suite in the shape of cache-tests' tests/index.mjs. */
const sections = [
  {
    id: 'cc-freshness',
    name: 'Cache-Control Freshness',
    tests: [
      { id: 'freshness-none', name: 'no freshness', kind: 'optimal' as const },
      { id: 'freshness-max-age', name: 'max-age reused' },
      { id: 'freshness-private', name: 'browser only', browser_only: true },
    ],
  },
  {
    id: 'interim',
    name: 'Interim Response Handling',
    tests: [{ id: 'interim-103', name: 'passes a | 103\nthrough', kind: 'optimal' as const }],
  },
  {
    id: 'cdn-cache-control',
    name: 'CDN-Cache-Control',
    tests: [
      { id: 'cdn-max-age', name: 'CDN max-age', kind: 'optimal' as const },
      { id: 'cdn-remove-header', name: 'removes the header', kind: 'check' as const },
    ],
  },
]

const verdicts: Record<string, string> = {
  'freshness-none': 'pass',
  'freshness-max-age': 'setup_fail',
  'interim-103': 'optional_fail',
  'cdn-max-age': 'optional_fail',
  'cdn-remove-header': 'yes',
}
const raw = {
  'freshness-none': true as const,
  'freshness-max-age': ['Setup', 'Response 2 status is 503, not 200'] as [string, string],
  'interim-103': ['Assertion', 'Response 1 status is 502, not 200'] as [string, string],
  'cdn-max-age': ['Assertion', 'Response 2 does not come from cache'] as [string, string],
  'cdn-remove-header': true as const,
}

const tests = proxyTests(sections)
const result = score(tests, (id) => verdicts[id] ?? 'untested')
const failed = failures(tests, result, raw)

describe('conformance scoring', () => {
  it('scores only the tests the command-line client runs against a proxy', () => {
    expect(tests.map((t) => t.id)).not.toContain('freshness-private')
    expect(tests.find((t) => t.id === 'freshness-max-age')?.kind).toBe('required')
  })

  it('counts pass and yes as passed, and a setup failure as not passed', () => {
    expect(result.total).toEqual({ passed: 2, of: 5 })
    expect(result.byKind).toEqual({
      required: { passed: 0, of: 1 },
      optimal: { passed: 1, of: 3 },
      check: { passed: 1, of: 1 },
    })
  })

  it('classes a failure by its longest listed id prefix, open when none is listed', () => {
    const classes = {
      'cdn-': { class: 'open' as const, reason: '' },
      'cdn-max-': { class: 'platform limit' as const, reason: 'x' },
    }
    expect(classify('cdn-max-age', classes).class).toBe('platform limit')
    expect(classify('cdn-private', classes).class).toBe('open')
    expect(classify('interim-103').class).toBe('platform limit')
    expect(classify('headers-store-Set-Cookie').class).toBe('deliberate deviation')
    expect(classify('headers-store-Set-Cookie2').class).toBe('open')
  })

  it('groups failures by class, then by id prefix', () => {
    expect(groupFailures(failed)).toEqual([
      {
        class: 'open',
        count: 2,
        groups: [
          { prefix: 'cdn-*', count: 1, kinds: { required: 0, optimal: 1, check: 0 } },
          { prefix: 'freshness-*', count: 1, kinds: { required: 1, optimal: 0, check: 0 } },
        ],
      },
      {
        class: 'platform limit',
        count: 1,
        groups: [{ prefix: 'interim-*', count: 1, kinds: { required: 0, optimal: 1, check: 0 } }],
      },
    ])
  })

  it('lists tests that went from pass to fail and from fail to pass', () => {
    const before = { a: 'pass', b: 'fail', c: 'yes', d: 'optional_fail' }
    const after = { a: 'setup_fail', b: 'pass', c: 'yes', d: 'optional_fail', e: 'fail' }
    expect(compareRuns(before, after)).toEqual({ broke: ['a'], fixed: ['b'] })
  })
})

describe('conformance report', () => {
  const published = [
    {
      name: 'Squid',
      type: 'rev-proxy',
      version: '6',
      score: { ...result, total: { passed: 4, of: 5 } },
    },
    {
      name: 'nginx',
      type: 'rev-proxy',
      version: '1',
      score: { ...result, total: { passed: 1, of: 5 } },
    },
    { name: 'Chrome', type: 'browser', version: '1', score: result },
  ]
  const input = {
    date: '2026-12-03T00:00:00Z',
    suiteCommit: 'abc',
    georouteCommit: 'def',
    georoute: result,
    published,
    failed,
  }

  it('sorts the score table by total passed and leaves browsers out of it', () => {
    const rows = scoreRows(input)
    expect(rows.map((r) => r.split(' | ')[0])).toEqual(['| Squid', '| **georoute**', '| nginx'])
  })

  it('lists every failing test with its kind, names, what happened and class', () => {
    const report = renderConformanceReport(input)
    expect(report).toContain(
      '| `freshness-max-age` | required | Cache-Control Freshness | max-age reused | (setup failure) Response 2 status is 503, not 200 | open |',
    )
    // Pipes and line breaks in the suite's names must not break the table.
    expect(report).toContain('| passes a \\| 103 through |')
    expect(report).not.toContain('`freshness-none`')
  })

  it('puts the diagnosis of each open group next to it, and the reason of each other class', () => {
    const report = renderConformanceReport({
      ...input,
      diagnoses: { 'cdn-*': 'CDN-Cache-Control ignored' },
      unstable: { 'freshness-none': 'a race' },
    })
    expect(report).toContain('| `cdn-*` | 1 | – | 1 | – | CDN-Cache-Control ignored |')
    expect(report).toContain('| `freshness-*` | 1 | 1 | – | – |  |')
    expect(report).toMatch(
      /### platform limit \(1\)\n\n\| test ids \| failing \| required \| optimal \| check \|\n/,
    )
    expect(report).toContain('- `freshness-none` (pass): a race.')
  })
})
