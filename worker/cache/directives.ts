/**
 * Parsing the fields that decide freshness, strictly where the RFCs say so: `Cache-Control`
 * (RFC 9111 §5.2), the targeted `CDN-Cache-Control` and `Cloudflare-CDN-Cache-Control`
 * (RFC 9213, Structured Field dictionaries), HTTP dates (RFC 9110 §5.6.7) and `Age`
 * (RFC 9111 §5.1). Pure: the clock is a parameter.
 */

/** Cache directives by lowercase name: a value, or `true` for a directive without one. */
export type Directives = Record<string, string | true>

// RFC 9110 §5.6.2: the characters of a token.
const TCHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/

function isOws(c: string | undefined): boolean {
  return c === ' ' || c === '\t'
}

/** Index of the next `,` at or after `i` outside a quoted string (or the end). */
function skipMember(s: string, i: number): number {
  let quoted = false
  for (; i < s.length; i++) {
    const c = s[i]
    if (quoted && c === '\\') i++
    else if (c === '"') quoted = !quoted
    else if (c === ',' && !quoted) return i
  }
  return i
}

/**
 * `Cache-Control` (RFC 9111 §5.2): directive names are case-insensitive tokens, values a token
 * or a quoted string right after `=`. A malformed member (`max-age =60`, `max-age= 60`) is
 * ignored, not guessed at. A repeated directive keeps its last value, as http-cache-semantics
 * always did (RFC 9111 §4.2.1 lets a cache use the first or call the response stale).
 */
export function parseCacheControl(value: string | null | undefined): Directives {
  const out: Directives = {}
  if (!value) return out
  const s = value
  let i = 0
  while (i < s.length) {
    while (i < s.length && (isOws(s[i]) || s[i] === ',')) i++
    if (i >= s.length) break
    const start = i
    while (i < s.length && TCHAR.test(s[i]!)) i++
    const name = s.slice(start, i).toLowerCase()
    let directive: string | true | undefined = name === '' ? undefined : true
    if (directive !== undefined && s[i] === '=') {
      i++
      if (s[i] === '"') {
        let text = ''
        i++
        while (i < s.length && s[i] !== '"') {
          if (s[i] === '\\') i++
          text += s[i] ?? ''
          i++
        }
        directive = i < s.length ? text : undefined
        i++
      } else {
        const from = i
        while (i < s.length && TCHAR.test(s[i]!)) i++
        directive = i > from ? s.slice(from, i) : undefined
      }
    }
    while (isOws(s[i])) i++
    if (i < s.length && s[i] !== ',') directive = undefined
    if (directive !== undefined) out[name] = directive
    i = skipMember(s, i)
  }
  return out
}

// Directives whose value is an integer number of seconds (RFC 9111 §1.2.2, RFC 5861).
const SECONDS = new Set(['max-age', 's-maxage', 'stale-while-revalidate', 'stale-if-error'])

type Bare = { type: 'integer' | 'decimal' | 'string' | 'token' | 'boolean' | 'other'; text: string }

/** A Structured Field parser over one string (RFC 8941 §4.2), enough for a dictionary. */
class SfParser {
  i = 0
  constructor(readonly s: string) {}

  fail(): never {
    throw new SyntaxError('invalid structured field')
  }

  sp(): void {
    while (this.s[this.i] === ' ') this.i++
  }

  ows(): void {
    while (isOws(this.s[this.i])) this.i++
  }

  // A key (RFC 8941 §4.2.3.3); upper-case letters are folded, like Cache-Control's names.
  key(): string {
    const first = this.s[this.i]?.toLowerCase()
    if (!first || !/[a-z*]/.test(first)) this.fail()
    const start = this.i
    while (this.i < this.s.length && /[a-zA-Z0-9_\-.*]/.test(this.s[this.i]!)) this.i++
    return this.s.slice(start, this.i).toLowerCase()
  }

  bare(): Bare {
    const c = this.s[this.i]
    if (c === undefined) this.fail()
    if (c === '-' || /[0-9]/.test(c)) {
      const m = /^-?(\d{1,15})(\.\d{1,3})?/.exec(this.s.slice(this.i))
      if (!m) this.fail()
      const [text, whole, fraction] = m
      if (fraction && whole!.length > 12) this.fail()
      this.i += text.length
      return { type: fraction ? 'decimal' : 'integer', text }
    }
    if (c === '"') {
      let text = ''
      this.i++
      for (;;) {
        const d = this.s[this.i++]
        if (d === undefined) this.fail()
        if (d === '"') return { type: 'string', text }
        if (d === '\\') {
          const e = this.s[this.i++]
          if (e !== '"' && e !== '\\') this.fail()
          text += e
        } else if (d < ' ' || d > '~') this.fail()
        else text += d
      }
    }
    if (/[A-Za-z*]/.test(c)) {
      const m = /^[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*/.exec(this.s.slice(this.i))!
      this.i += m[0].length
      return { type: 'token', text: m[0] }
    }
    if (c === ':') {
      const m = /^:[A-Za-z0-9+/=]*:/.exec(this.s.slice(this.i))
      if (!m) this.fail()
      this.i += m[0].length
      return { type: 'other', text: m[0] }
    }
    if (c === '?') {
      const b = this.s[this.i + 1]
      if (b !== '0' && b !== '1') this.fail()
      this.i += 2
      return { type: 'boolean', text: b }
    }
    return this.fail()
  }

  params(): void {
    while (this.s[this.i] === ';') {
      this.i++
      this.sp()
      this.key()
      if (this.s[this.i] === '=') {
        this.i++
        this.bare()
      }
    }
  }

  item(): Bare {
    if (this.s[this.i] !== '(') {
      const value = this.bare()
      this.params()
      return value
    }
    this.i++
    for (;;) {
      this.sp()
      if (this.s[this.i] === ')') break
      this.bare()
      this.params()
      const next = this.s[this.i]
      if (next !== ' ' && next !== ')') this.fail()
    }
    this.i++
    this.params()
    return { type: 'other', text: '' }
  }

  dictionary(): Map<string, Bare> {
    const out = new Map<string, Bare>()
    this.sp()
    while (this.i < this.s.length) {
      const name = this.key()
      let value: Bare = { type: 'boolean', text: '1' }
      if (this.s[this.i] === '=') {
        this.i++
        value = this.item()
      } else this.params()
      out.set(name, value)
      this.ows()
      if (this.i >= this.s.length) break
      if (this.s[this.i] !== ',') this.fail()
      this.i++
      this.ows()
      if (this.i >= this.s.length) this.fail()
    }
    return out
  }
}

/**
 * A targeted field (RFC 9213 §2.1): a Structured Field dictionary; `undefined` when it does
 * not parse or leaves no usable directive, so that the next field in precedence applies. A
 * directive with a value of the wrong type (`max-age="60"`) is ignored.
 */
export function parseTargeted(value: string | null | undefined): Directives | undefined {
  if (!value || value.trim() === '') return undefined
  let members: Map<string, Bare>
  try {
    members = new SfParser(value).dictionary()
  } catch {
    return undefined
  }
  const out: Directives = {}
  for (const [name, bare] of members) {
    if (SECONDS.has(name)) {
      if (bare.type === 'integer' && !bare.text.startsWith('-')) out[name] = bare.text
    } else if (bare.type === 'boolean') {
      if (bare.text === '1') out[name] = true
    } else if (bare.type === 'string' || bare.type === 'token') out[name] = bare.text
    else out[name] = true
  }
  return Object.keys(out).length > 0 ? out : undefined
}

/** Where the cache's directives came from. */
export type DirectiveSource = 'cloudflare-cdn-cache-control' | 'cdn-cache-control' | 'cache-control'

/**
 * The directives this cache obeys (RFC 9213 §2.1, and as Cloudflare orders them): the first
 * valid of `Cloudflare-CDN-Cache-Control` and `CDN-Cache-Control` replaces `Cache-Control`
 * (and `Expires`) for our decisions; otherwise `Cache-Control`. `get` reads a response field.
 */
export function cacheDirectives(get: (name: string) => string | null | undefined): {
  directives: Directives
  source: DirectiveSource
} {
  for (const source of ['cloudflare-cdn-cache-control', 'cdn-cache-control'] as const) {
    const targeted = parseTargeted(get(source))
    if (targeted) return { directives: targeted, source }
  }
  return { directives: parseCacheControl(get('cache-control')), source: 'cache-control' }
}

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat']
const LONG_DAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday']
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec']

const TIME = '(\\d{2}):(\\d{2}):(\\d{2})'
const IMF = new RegExp(`^([a-z]{3}), (\\d{2}) ([a-z]{3}) (\\d{4}) ${TIME} gmt$`)
const RFC850 = new RegExp(`^([a-z]{6,9}), (\\d{2})-([a-z]{3})-(\\d{2}) ${TIME} gmt$`)
const ASCTIME = new RegExp(`^([a-z]{3}) ([a-z]{3}) ([ \\d]\\d) ${TIME} (\\d{4})$`)

function timestamp(
  year: number,
  monthName: string,
  day: string,
  hh: string,
  mm: string,
  ss: string,
): number | undefined {
  const month = MONTHS.indexOf(monthName)
  const d = Number(day.trim())
  const [h, m, s] = [Number(hh), Number(mm), Number(ss)]
  if (month < 0 || d < 1 || h > 23 || m > 59 || s > 60) return undefined
  const t = Date.UTC(year, month, d, h, m, Math.min(s, 59))
  // A day past the month's end (31 Feb) is not a date.
  return new Date(t).getUTCDate() === d ? t : undefined
}

/**
 * An HTTP date (RFC 9110 §5.6.7) in ms since the epoch: IMF-fixdate, or the obsolete RFC 850
 * and asctime forms that recipients must accept; `undefined` for anything else (`UTC`, a
 * missing comma, extra spaces, a one-digit hour...). Letter case is not held against it.
 */
export function parseHttpDate(value: string | null | undefined, now: number): number | undefined {
  if (!value) return undefined
  const s = value.toLowerCase()
  let m = IMF.exec(s)
  if (m) {
    if (!DAYS.includes(m[1]!)) return undefined
    return timestamp(Number(m[4]), m[3]!, m[2]!, m[5]!, m[6]!, m[7]!)
  }
  m = RFC850.exec(s)
  if (m) {
    if (!LONG_DAYS.includes(m[1]!)) return undefined
    // A two-digit year more than 50 years ahead is the latest past year with those digits.
    const thisYear = new Date(now).getUTCFullYear()
    let year = Math.floor(thisYear / 100) * 100 + Number(m[4])
    if (year > thisYear + 50) year -= 100
    return timestamp(year, m[3]!, m[2]!, m[5]!, m[6]!, m[7]!)
  }
  m = ASCTIME.exec(s)
  if (m) {
    if (!DAYS.includes(m[1]!)) return undefined
    return timestamp(Number(m[7]), m[2]!, m[3]!, m[4]!, m[5]!, m[6]!)
  }
  return undefined
}

/**
 * The `Age` value in seconds (RFC 9111 §5.1: delta-seconds, the first of repeated values), or
 * `undefined` when it is not one: a fraction (`1.5`) or a negative number is ignored.
 */
export function parseAge(value: string | null | undefined): number | undefined {
  if (!value) return undefined
  const m = /^\s*(\d+)(?![\d.])/.exec(value)
  return m ? Number(m[1]) : undefined
}

/**
 * A request field's value as Vary matching compares it (RFC 9111 §4.1 lets a cache normalise
 * whitespace and order it knows not to matter): list members trimmed and joined with `, `;
 * `Accept-Language` members also lowercased (language tags are case-insensitive) and ordered
 * by weight, then tag (the order of equally weighted ranges carries no preference).
 */
export function normaliseVaried(name: string, value: string): string {
  const members = value
    .split(',')
    .map((member) => member.trim())
    .filter((member) => member !== '')
  if (name !== 'accept-language') return members.join(', ')
  const ranges = members.map((member) => {
    const [tag = '', ...params] = member
      .toLowerCase()
      .split(';')
      .map((part) => part.trim())
    const q = params.find((param) => param.startsWith('q='))
    const weight = q === undefined ? 1 : Number(q.slice(2))
    return { tag, weight: Number.isFinite(weight) ? weight : 0 }
  })
  ranges.sort((a, b) => b.weight - a.weight || (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0))
  return ranges.map(({ tag, weight }) => (weight === 1 ? tag : `${tag};q=${weight}`)).join(', ')
}
