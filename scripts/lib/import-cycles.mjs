/**
 * Import cycles among a folder's TypeScript modules, found with the TypeScript compiler's own
 * import scanner and module resolution. Type-only imports count: a cycle of types is still a
 * tangle a reader has to unpick, and the next value import along it makes it a runtime one.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { relative, resolve } from 'node:path'
import ts from 'typescript'

/** @type {ts.CompilerOptions} */
const OPTIONS = { module: ts.ModuleKind.ES2022, moduleResolution: ts.ModuleResolutionKind.Bundler }

/**
 * Every `.ts`/`.tsx` module under `dir` (declaration files left out), as absolute paths.
 * @param {string} dir
 */
function modulesUnder(dir) {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((f) => f.isFile() && /\.tsx?$/.test(f.name) && !f.name.endsWith('.d.ts'))
    .map((f) => resolve(f.parentPath, f.name))
    .sort()
}

/**
 * The modules of `inside` that `file` imports or re-exports (statically, dynamically, as types).
 * @param {string} file
 * @param {Set<string>} inside
 */
function importsOf(file, inside) {
  const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true)
  /** @type {Set<string>} */
  const out = new Set()
  for (const { fileName } of importedFiles) {
    const { resolvedModule } = ts.resolveModuleName(fileName, file, OPTIONS, ts.sys)
    const target = resolvedModule && resolve(resolvedModule.resolvedFileName)
    if (target && inside.has(target)) out.add(target)
  }
  return [...out]
}

/**
 * The import cycles among the modules under `dir`: one per tangle (a strongly connected set of
 * modules), as one loop through it, paths relative to `dir`, its first module repeated last.
 * @param {string} dir
 * @returns {string[][]}
 */
export function findCycles(dir) {
  const files = modulesUnder(dir)
  const inside = new Set(files)
  /** @type {Map<string, string[]>} */
  const graph = new Map(files.map((file) => [file, importsOf(file, inside)]))
  return tangles(graph).map((tangle) => loopThrough(tangle, graph).map((f) => relative(dir, f)))
}

/**
 * Tarjan's strongly connected components of more than one module (or one importing itself).
 * @param {Map<string, string[]>} graph
 */
function tangles(graph) {
  /** @type {Map<string, number>} */
  const index = new Map()
  /** @type {Map<string, number>} */
  const low = new Map()
  /** @type {string[]} */
  const stack = []
  /** @type {Set<string>[]} */
  const found = []
  /** @param {string} file */
  const visit = (file) => {
    const own = index.size
    index.set(file, own)
    low.set(file, own)
    stack.push(file)
    for (const next of graph.get(file) ?? []) {
      if (!index.has(next)) visit(next)
      // Only modules still on the stack belong to this file's component.
      if (stack.includes(next)) {
        low.set(file, Math.min(low.get(file) ?? own, low.get(next) ?? own, index.get(next) ?? own))
      }
    }
    if (low.get(file) !== own) return
    const members = stack.splice(stack.indexOf(file))
    if (members.length > 1 || graph.get(file)?.includes(file)) found.push(new Set(members))
  }
  for (const file of graph.keys()) if (!index.has(file)) visit(file)
  return found
}

/**
 * One shortest loop from a tangle's first module back to itself.
 * @param {Set<string>} tangle
 * @param {Map<string, string[]>} graph
 */
function loopThrough(tangle, graph) {
  const [start = ''] = [...tangle].sort()
  /** @type {Map<string, string>} */
  const cameFrom = new Map()
  const queue = [start]
  while (queue.length > 0 && !cameFrom.has(start)) {
    const file = queue.shift() ?? start
    for (const next of graph.get(file) ?? []) {
      if (!tangle.has(next) || cameFrom.has(next)) continue
      cameFrom.set(next, file)
      queue.push(next)
    }
  }
  const loop = [start]
  for (let file = cameFrom.get(start); file && file !== start; file = cameFrom.get(file)) {
    loop.unshift(file)
  }
  return [start, ...loop]
}
