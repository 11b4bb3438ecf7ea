import { describe, expect, it } from 'vitest'
import { validateConfig } from '../../worker/config'
import { caughtUpOrder, formatPosition, parsePosition, positionBook } from '../../worker/positions'
import { type OriginHealth, rankOrigins } from '../../worker/routing'

describe('parsePosition', () => {
  it('reads a pg-lsn as its high and low 32-bit hex halves', () => {
    expect(parsePosition('pg-lsn', '16/B374D848')).toBe((0x16n << 32n) | 0xb374d848n)
    expect(parsePosition('pg-lsn', '0/0')).toBe(0n)
    expect(parsePosition('pg-lsn', 'FFFFFFFF/FFFFFFFF')).toBe(2n ** 64n - 1n)
  })

  it('orders pg-lsns by value, not as text: 16/B374D848 is past F/FFFFFFFF', () => {
    const a = parsePosition('pg-lsn', '16/B374D848')!
    const b = parsePosition('pg-lsn', 'F/FFFFFFFF')!
    expect(a > b).toBe(true)
    expect(parsePosition('pg-lsn', '1/0')! > parsePosition('pg-lsn', '0/FFFFFFFF')!).toBe(true)
    // As text, 'F/…' sorts after '16/…': the comparison above is the one that matters.
    expect('F/FFFFFFFF' > '16/B374D848').toBe(true)
  })

  it('reads integers beyond 2^53 exactly', () => {
    const big = '9007199254740993' // 2^53 + 1: a Number would round it to 2^53
    expect(parsePosition('integer', big)).toBe(9007199254740993n)
    expect(parsePosition('integer', big)! > parsePosition('integer', '9007199254740992')!).toBe(
      true,
    )
    expect(parsePosition('integer', '18446744073709551615')).toBe(2n ** 64n - 1n)
  })

  it.each([
    ['integer', ''],
    ['integer', '-1'],
    ['integer', '1.5'],
    ['integer', '0x10'],
    ['integer', '12 34'],
    ['pg-lsn', '16'],
    ['pg-lsn', '16/'],
    ['pg-lsn', '/B374D848'],
    ['pg-lsn', '123456789/0'],
    ['pg-lsn', 'G/0'],
    ['pg-lsn', '16/B374D848/1'],
  ] as const)('refuses the malformed %s position %j', (kind, text) => {
    expect(parsePosition(kind, text)).toBeUndefined()
  })

  it('writes positions back as origins write them', () => {
    expect(formatPosition('pg-lsn', parsePosition('pg-lsn', '16/b374d848')!)).toBe('16/B374D848')
    expect(formatPosition('integer', 9007199254740993n)).toBe('9007199254740993')
  })
})

describe('positionBook', () => {
  it('keeps the latest report per origin, even when the position went back', () => {
    const book = positionBook()
    book.note('tokyo', 10n, 1000)
    book.note('tokyo', 5n, 2000)
    expect(book.latest('tokyo')).toBe(5n)
    // A report older than what is known does not overwrite it.
    book.note('tokyo', 99n, 1500)
    expect(book.latest('tokyo')).toBe(5n)
    expect(book.latest('virginia')).toBeUndefined()
  })
})

describe('caughtUpOrder', () => {
  const config = validateConfig([
    { id: 'frankfurt', url: 'https://fra.example', lat: 50.11, lon: 8.68, primary: true },
    { id: 'virginia', url: 'https://iad.example', lat: 38.95, lon: -77.45 },
    { id: 'tokyo', url: 'https://nrt.example', lat: 35.68, lon: 139.69 },
  ])
  if (!config.ok) throw new Error(config.errors.join('\n'))
  const { origins } = config.config
  const tokyoReader = { lat: 35.68, lon: 139.69, source: 'cf' as const }
  const rank = (health = new Map<string, OriginHealth>()) =>
    rankOrigins(origins, tokyoReader, health, 0)
  const book = (entries: Record<string, bigint>) => ({ latest: (id: string) => entries[id] })
  const ids = (list: readonly { id: string }[]) => list.map((o) => o.id)

  it('sends the read to the nearest origin at or past the position', () => {
    expect(ids(caughtUpOrder(rank(), 100n, book({ tokyo: 100n }), 'frankfurt'))).toEqual([
      'tokyo',
      'frankfurt',
      'virginia',
    ])
  })

  it('sends it to the primary when no replica is known to have caught up', () => {
    const order = caughtUpOrder(rank(), 100n, book({ tokyo: 99n, virginia: 50n }), 'frankfurt')
    expect(order[0]?.id).toBe('frankfurt')
  })

  it('treats an origin with no known position as behind', () => {
    expect(caughtUpOrder(rank(), 1n, book({}), 'frankfurt')[0]?.id).toBe('frankfurt')
  })

  it('prefers the primary when it is nearer than a caught-up replica', () => {
    const parisReader = { lat: 48.86, lon: 2.35, source: 'cf' as const }
    const ranked = rankOrigins(origins, parisReader, new Map(), 0)
    expect(caughtUpOrder(ranked, 100n, book({ virginia: 200n }), 'frankfurt')[0]?.id).toBe(
      'frankfurt',
    )
  })

  it('skips a caught-up replica that is down', () => {
    const health = new Map<string, OriginHealth>([['tokyo', { healthy: false }]])
    expect(caughtUpOrder(rank(health), 100n, book({ tokyo: 100n }), 'frankfurt')[0]?.id).toBe(
      'frankfurt',
    )
  })
})
