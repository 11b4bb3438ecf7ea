import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { findCycles } from '../../scripts/lib/import-cycles.mjs'

let dir: string | undefined

/** A throwaway folder of modules: path → source. */
function fixture(files: Record<string, string>): string {
  dir = mkdtempSync(join(tmpdir(), 'georoute-cycles-'))
  for (const [path, source] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true })
    writeFileSync(join(dir, path), source)
  }
  return dir
}

afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true })
  dir = undefined
})

describe('findCycles', () => {
  it('finds two modules that import each other, even through a type-only import', () => {
    const root = fixture({
      'app.ts':
        "import { admin } from './admin'\nexport type AppEnv = { a: 1 }\nexport { admin }\n",
      'admin.ts': "import type { AppEnv } from './app'\nexport const admin = (e: AppEnv) => e\n",
    })
    expect(findCycles(root)).toEqual([['admin.ts', 'app.ts', 'admin.ts']])
  })

  it('names every module of a longer loop, across folders and index files', () => {
    const root = fixture({
      'a.ts': "export { b } from './cache'\nexport const a = 1\n",
      'cache/index.ts': "import { c } from '../c'\nexport const b = c\n",
      'c.ts': "import { a } from './a'\nexport const c = a\n",
    })
    expect(findCycles(root)).toEqual([['a.ts', 'cache/index.ts', 'c.ts', 'a.ts']])
  })

  it('finds none in modules that import one way only', () => {
    const root = fixture({
      'index.ts':
        "import { env } from './env'\nimport { app } from './app'\nexport default [app, env]\n",
      'app.ts': "import type { Env } from './env'\nexport const app = (e: Env) => e\n",
      'env.ts':
        "import { z } from 'some-package'\nexport type Env = { z: typeof z }\nexport const env = 1\n",
    })
    expect(findCycles(root)).toEqual([])
  })

  it('finds none in worker/', () => {
    expect(findCycles(fileURLToPath(new URL('../../worker', import.meta.url)))).toEqual([])
  })
})
