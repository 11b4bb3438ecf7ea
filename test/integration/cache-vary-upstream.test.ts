/**
 * `Vary` on fields the edge sets, drops or withholds on the way to the origin: matched on what
 * the origin saw for the stored page and would see for the reader, never on the reader's own
 * values (a forged one would otherwise be handed someone else's page).
 */
import { describe, expect, it } from 'vitest'
import { answer, fetchThrough, installOrigins } from './cache-origins'

installOrigins()

/** The origin names the value of `field` it received, and varies on it. */
const echoing = (field: string) =>
  answer((r) => ({
    body: `${field}=${r.headers[field] ?? '(none)'}`,
    headers: { 'cache-control': 'max-age=60', vary: field },
  }))

const from = (ip: string, headers: Record<string, string> = {}) => ({
  headers: { 'cf-connecting-ip': ip, ...headers },
})

describe('Vary on a field the edge rewrites', () => {
  it('keeps a Vary: X-Forwarded-For page for the client address the origin saw', async () => {
    echoing('x-forwarded-for')
    const a = await fetchThrough('/by-ip', from('1.1.1.1'))
    const again = await fetchThrough('/by-ip', from('1.1.1.1'))
    expect([a.cache, a.body, again.cache, again.body]).toEqual([
      'MISS',
      'x-forwarded-for=1.1.1.1',
      'HIT',
      'x-forwarded-for=1.1.1.1',
    ])
  })

  it('gives each client address its own Vary: X-Forwarded-For page', async () => {
    echoing('x-forwarded-for')
    await fetchThrough('/by-ip-each', from('1.1.1.1'))
    const b = await fetchThrough('/by-ip-each', from('2.2.2.2'))
    expect([b.cache, b.body]).toEqual(['MISS', 'x-forwarded-for=2.2.2.2'])
  })

  it("never serves a Vary: X-Forwarded-For page to a reader forging its client's address", async () => {
    echoing('x-forwarded-for')
    await fetchThrough('/by-ip-forged', from('1.1.1.1'))
    const b = await fetchThrough('/by-ip-forged', from('2.2.2.2', { 'x-forwarded-for': '1.1.1.1' }))
    expect([b.cache, b.body]).toEqual(['MISS', 'x-forwarded-for=2.2.2.2'])
  })

  it('matches Vary: X-Forwarded-Host on the public host, whatever host a reader forges', async () => {
    echoing('x-forwarded-host')
    await fetchThrough('/by-host', from('1.1.1.1'))
    const b = await fetchThrough(
      '/by-host',
      from('2.2.2.2', { 'x-forwarded-host': 'evil.example' }),
    )
    // The origin would see the public host for B too: A's page is B's page.
    expect([b.cache, b.body]).toEqual(['HIT', 'x-forwarded-host=blog.example'])
  })

  it('serves a Vary: True-Client-IP page to every reader: no fill carries that field', async () => {
    echoing('true-client-ip')
    await fetchThrough('/by-true-ip', from('1.1.1.1'))
    // B's own True-Client-IP never reaches the origin: it would answer B as it answered A.
    const b = await fetchThrough('/by-true-ip', from('2.2.2.2', { 'true-client-ip': '2.2.2.2' }))
    expect([b.cache, b.body]).toEqual(['HIT', 'true-client-ip=(none)'])
  })

  it('never serves the page made without a field its reader named in Connection to one who sends it', async () => {
    echoing('x-theme')
    const a = await fetchThrough(
      '/by-theme',
      from('1.1.1.1', { connection: 'x-theme', 'x-theme': 'dark' }),
    )
    const b = await fetchThrough('/by-theme', from('2.2.2.2', { 'x-theme': 'dark' }))
    expect([a.body, b.cache, b.body]).toEqual(['x-theme=(none)', 'MISS', 'x-theme=dark'])
  })

  it('serves a Vary: Cookie page, made without cookies, to readers whatever their cookies', async () => {
    echoing('cookie')
    await fetchThrough('/by-cookie', from('1.1.1.1', { cookie: 'theme=dark' }))
    const b = await fetchThrough('/by-cookie', from('2.2.2.2', { cookie: 'theme=light' }))
    expect([b.cache, b.body]).toEqual(['HIT', 'cookie=(none)'])
  })
})
