/** Command-line flags for the scripts (bench, drill): usage on `--help`, usage and exit 2 on a bad flag. */
import { parseArgs } from 'node:util'

/**
 * The parsed flags; prints `usage` and exits 0 for `--help` (add `help` to `options`), or prints
 * the error and `usage` and exits 2 for a flag it does not know: never a stack trace.
 * @template {NonNullable<import('node:util').ParseArgsConfig['options']>} const T
 * @param {T} options
 * @param {string} usage
 * @returns {ReturnType<typeof parseArgs<{ options: T }>>['values']}
 */
export function parseFlags(options, usage) {
  /** @type {ReturnType<typeof parseArgs<{ options: T }>>['values']} */
  let values
  try {
    values = parseArgs({ options }).values
  } catch (error) {
    process.stderr.write(`${/** @type {Error} */ (error).message}\n\n${usage}\n`)
    process.exit(2)
  }
  if (/** @type {Record<string, unknown>} */ (values).help) {
    process.stdout.write(`${usage}\n`)
    process.exit(0)
  }
  return values
}
