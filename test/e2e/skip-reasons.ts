import { relative } from 'node:path'
import type { Reporter, TestModule } from 'vitest/node'

/**
 * Repeats, next to the summary, why tests were skipped: a test or suite skipped for want of
 * something on this machine says so in its name as `(SKIPPED: <reason and how to fix>)`, and a
 * newcomer should not have to find that line in the middle of the run.
 */
export default class SkipReasons implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>) {
    const reasons = new Map<string, number>()
    for (const module of testModules) {
      for (const test of module.children.allTests('skipped')) {
        const reason = /\(SKIPPED: (.+)\)/.exec(test.fullName)?.[1]
        if (!reason) continue
        const line = `${relative(process.cwd(), module.moduleId)}: ${reason}`
        reasons.set(line, (reasons.get(line) ?? 0) + 1)
      }
    }
    for (const [line, count] of reasons) {
      process.stdout.write(`\n⚠ ${count} test${count === 1 ? '' : 's'} SKIPPED in ${line}\n`)
    }
  }
}
