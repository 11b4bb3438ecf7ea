/** Writes a generated module, or (`--check`) fails when the committed one is out of date. */
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/**
 * @param {URL} out the generated file
 * @param {string} text its expected content
 * @param {{ what: string, command: string, summary: string }} describe
 */
export function writeOrCheck(out, text, { what, command, summary }) {
  const path = fileURLToPath(out)
  if (process.argv.includes('--check')) {
    let before = ''
    try {
      before = readFileSync(out, 'utf8')
    } catch {
      // Missing counts as out of date.
    }
    if (before !== text) {
      console.error(`${path} is out of date: run ${command}`)
      process.exit(1)
    }
    console.log(`${what} is current`)
    return
  }
  writeFileSync(out, text)
  console.log(`wrote ${path} (${summary})`)
}
