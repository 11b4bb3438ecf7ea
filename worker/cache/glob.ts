/**
 * The globs of `settings.cache` (`defaultTtls` paths, `bypassCookies`, `ignoredParams`), matched
 * without regular expressions. `*` is any run of characters, `/` included; `{a,b}` is one of
 * the alternatives (which may hold `*`); every other character stands for itself; a glob must
 * match the whole string, case-insensitively.
 *
 * Why not a RegExp: `^a.*b.*c$` backtracks, and a `defaultTtls` glob with three stars (uploads
 * by year, month and file name) took seconds of CPU on a 2,500-character path, stalling the
 * isolate for every reader. Here a
 * glob is split at its stars into literal segments: the first must start the string, the last
 * end it, and those between are found leftmost in order (greedy is exact when `*` is the only
 * wildcard). That is at most one pass of `indexOf` per segment: O(length of string × length of
 * glob) in the worst case, and a `startsWith`/`endsWith` for the usual `utm_*` or `*.css`.
 */

/** Most patterns one glob may stand for once its `{a,b}` groups are expanded. */
export const MAX_GLOB_ALTERNATIVES = 256

/** One brace-free glob, split at its stars. */
interface Pattern {
  prefix: string
  suffix: string
  /** Segments between the first and the last star, in order. */
  middles: string[]
  /** Characters the segments need: a shorter string cannot match. */
  minLength: number
}

// A group is `{`, a run without braces, `}`: the same groups the settings' validation accepts.
const GROUP = /\{([^{}]*)\}/

/** How many brace-free patterns `glob` stands for (the product of its groups' sizes). */
export function globAlternatives(glob: string): number {
  let count = 1
  for (const match of glob.matchAll(new RegExp(GROUP, 'g'))) {
    count *= match[1]!.split(',').length
    if (count > MAX_GLOB_ALTERNATIVES) return count
  }
  return count
}

/** The brace-free globs `glob` stands for: `*.{css,js}` is `*.css` and `*.js`. */
function expand(glob: string): string[] {
  const match = GROUP.exec(glob)
  if (!match) return [glob]
  const before = glob.slice(0, match.index)
  const after = expand(glob.slice(match.index + match[0].length))
  return match[1]!.split(',').flatMap((alternative) => after.map((a) => before + alternative + a))
}

function pattern(glob: string): Pattern {
  const segments = glob.split('*')
  return {
    prefix: segments[0]!,
    suffix: segments.at(-1)!,
    middles: segments.slice(1, -1).filter((s) => s !== ''),
    minLength: segments.reduce((sum, s) => sum + s.length, 0),
  }
}

function matches(p: Pattern, text: string): boolean {
  if (text.length < p.minLength || !text.startsWith(p.prefix) || !text.endsWith(p.suffix)) {
    return false
  }
  const end = text.length - p.suffix.length
  let at = p.prefix.length
  for (const middle of p.middles) {
    const found = text.indexOf(middle, at)
    if (found < 0 || found + middle.length > end) return false
    at = found + middle.length
  }
  return true
}

/**
 * A predicate true for a string that one of `globs` matches whole. Globs without a star are
 * looked up in a set; the others are tried in turn.
 */
export function globsMatcher(globs: readonly string[]): (text: string) => boolean {
  const exact = new Set<string>()
  const patterns: Pattern[] = []
  for (const glob of globs) {
    // Validation refuses more (worker/cache/settings.ts): only a bug gets here.
    if (globAlternatives(glob) > MAX_GLOB_ALTERNATIVES) throw new Error(`glob too broad: ${glob}`)
    for (const one of expand(glob.toLowerCase())) {
      if (one.includes('*')) patterns.push(pattern(one))
      else exact.add(one)
    }
  }
  if (patterns.length === 0) {
    if (exact.size === 0) return () => false
    return (text) => exact.has(text.toLowerCase())
  }
  return (text) => {
    const lower = text.toLowerCase()
    if (exact.has(lower)) return true
    for (const p of patterns) if (matches(p, lower)) return true
    return false
  }
}
