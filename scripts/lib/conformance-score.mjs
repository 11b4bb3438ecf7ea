/**
 * Scoring for `npm run conformance`, pure: which tests the suite's command-line client runs,
 * totals by kind (for georoute and for the results the suite publishes), why a failing test
 * still fails (the class map), and what changed between two runs.
 */
import { FAILURE_CLASSES } from './conformance-classes.mjs'

/** @typedef {import('./conformance-suite.mjs').SuiteSection} SuiteSection */
/** @typedef {import('./conformance-suite.mjs').RawResult} RawResult */
/** @typedef {'required' | 'optimal' | 'check'} Kind */
/** @typedef {import('./conformance-classes.mjs').FailureClass} FailureClass */

/** @type {Kind[]} */
export const KINDS = ['required', 'optimal', 'check']

/**
 * One test as the report shows it.
 * @typedef {object} TestInfo
 * @property {string} id
 * @property {Kind} kind
 * @property {string} section The suite's section name, e.g. "Cache-Control Freshness".
 * @property {string} name The suite's description of the test.
 */

/**
 * The tests the command-line client runs against a proxy: all but the browser-only ones (it
 * skips `browser_only` tests; `cdn_only` and `browser_skip` ones run).
 * @param {SuiteSection[]} sections
 * @returns {TestInfo[]}
 */
export function proxyTests(sections) {
  return sections.flatMap((section) =>
    section.tests
      .filter((test) => test.browser_only !== true)
      .map((test) => ({
        id: test.id,
        kind: test.kind ?? 'required',
        section: section.name,
        name: test.name,
      })),
  )
}

/** The suite's verdicts that count as passed: `pass`, and `yes` for a check. */
const PASSED = new Set(['pass', 'yes'])

/**
 * @typedef {object} Tally
 * @property {number} passed
 * @property {number} of
 */

/**
 * @typedef {object} Score
 * @property {Tally} total
 * @property {Record<Kind, Tally>} byKind
 * @property {Map<string, string>} verdicts Test id → the suite's verdict name.
 */

/**
 * Totals of one set of results: passed of all, and per kind. A test counts as passed when the
 * suite's own verdict (`verdict(id)`) is `pass` or `yes`; anything else (a failure, an
 * optional or setup failure, a missing result) counts as not passed.
 * @param {TestInfo[]} tests
 * @param {(id: string) => string} verdict
 * @returns {Score}
 */
export function score(tests, verdict) {
  const total = { passed: 0, of: 0 }
  /** @type {Record<Kind, Tally>} */
  const byKind = {
    required: { passed: 0, of: 0 },
    optimal: { passed: 0, of: 0 },
    check: { passed: 0, of: 0 },
  }
  const verdicts = new Map()
  for (const test of tests) {
    const name = verdict(test.id)
    verdicts.set(test.id, name)
    const passed = PASSED.has(name) ? 1 : 0
    total.of++
    total.passed += passed
    byKind[test.kind].of++
    byKind[test.kind].passed += passed
  }
  return { total, byKind, verdicts }
}

/**
 * The class of a failing test: the longest matching id or id prefix in `classes`, else `open`.
 * @param {string} id
 * @param {Record<string, { class: FailureClass, reason: string }>} [classes]
 * @returns {{ class: FailureClass, reason: string }}
 */
export function classify(id, classes = FAILURE_CLASSES) {
  let best = ''
  for (const key of Object.keys(classes)) {
    const matches = key.endsWith('-') ? id.startsWith(key) : id === key || id.startsWith(`${key}-`)
    if (matches && key.length > best.length) best = key
  }
  return classes[best] ?? { class: 'open', reason: '' }
}

/**
 * The group a test id belongs to in the failure summary: its first dash-separated word
 * (`cdn-max-age` → `cdn-*`, `304-etag-…` → `304-*`).
 * @param {string} id
 */
export function idPrefix(id) {
  const dash = id.indexOf('-')
  return `${dash < 0 ? id : id.slice(0, dash)}-*`
}

/**
 * @typedef {object} Failure
 * @property {TestInfo} test
 * @property {string} verdict
 * @property {string} detail What georoute did: the suite's message for the failed assertion.
 * @property {FailureClass} class
 * @property {string} reason
 */

/**
 * Every test that did not pass, in suite order, with what happened and its class.
 * @param {TestInfo[]} tests
 * @param {Score} result
 * @param {Record<string, RawResult | undefined>} raw
 * @param {Record<string, { class: FailureClass, reason: string }>} [classes]
 * @returns {Failure[]}
 */
export function failures(tests, result, raw, classes = FAILURE_CLASSES) {
  return tests.flatMap((test) => {
    const verdict = result.verdicts.get(test.id) ?? 'untested'
    if (PASSED.has(verdict)) return []
    const entry = raw[test.id]
    const detail = entry === undefined ? 'no result' : entry === true ? '' : entry[1]
    return [{ test, verdict, detail, ...classify(test.id, classes) }]
  })
}

/**
 * Failures counted by class, then by id prefix, largest groups first.
 * @param {Failure[]} failed
 * @returns {{ class: FailureClass, count: number,
 *   groups: { prefix: string, count: number, kinds: Record<Kind, number> }[] }[]}
 */
export function groupFailures(failed) {
  /** @type {FailureClass[]} */
  const order = ['open', 'platform limit', 'deliberate deviation']
  return order
    .map((name) => {
      const inClass = failed.filter((f) => f.class === name)
      /** @type {Map<string, { prefix: string, count: number, kinds: Record<Kind, number> }>} */
      const groups = new Map()
      for (const failure of inClass) {
        const prefix = idPrefix(failure.test.id)
        const group = groups.get(prefix) ?? {
          prefix,
          count: 0,
          kinds: { required: 0, optimal: 0, check: 0 },
        }
        group.count++
        group.kinds[failure.test.kind]++
        groups.set(prefix, group)
      }
      const sorted = [...groups.values()].sort(
        (a, b) => b.count - a.count || a.prefix.localeCompare(b.prefix),
      )
      return { class: name, count: inClass.length, groups: sorted }
    })
    .filter((c) => c.count > 0)
}

/**
 * Tests whose outcome changed between two runs (saved verdict maps): `broke` went from passed
 * to not passed (a change must never do that), `fixed` the other way.
 * @param {Record<string, string>} before Test id → verdict name.
 * @param {Record<string, string>} after
 */
export function compareRuns(before, after) {
  /** @type {string[]} */
  const broke = []
  /** @type {string[]} */
  const fixed = []
  for (const id of Object.keys(after).sort()) {
    if (!(id in before)) continue
    const was = PASSED.has(before[id] ?? '')
    const is = PASSED.has(after[id] ?? '')
    if (was && !is) broke.push(id)
    if (!was && is) fixed.push(id)
  }
  return { broke, fixed }
}
