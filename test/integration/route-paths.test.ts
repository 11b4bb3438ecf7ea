import { describe, expect, it } from 'vitest'
import { fetchThrough, installOrigins, received } from './cache-origins'

installOrigins()

// A reader nearer the replica ("far") than the primary ("near").
const TOKYO = { latitude: '35.68', longitude: '139.69', country: 'JP', continent: 'AS' }

describe('spellings of an admin path', () => {
  it.each([
    '/wp%2Dadmin/',
    '//wp-admin/',
    '/wp-admin;/',
    '/index.php/wp-admin/',
    '/wp-admin%2Fpost.php',
    '/WP-ADMIN/',
  ])('%s goes to the primary, unchanged, and is never cached', async (path) => {
    const first = await fetchThrough(path, { cf: TOKYO } as RequestInit)
    const second = await fetchThrough(path, { cf: TOKYO } as RequestInit)
    expect([first.cache, second.cache]).toEqual(['BYPASS', 'BYPASS'])
    expect(received.map((r) => `${r.origin} ${r.path}`)).toEqual([`near ${path}`, `near ${path}`])
  })

  it('a post is still read from the nearest origin and cached', async () => {
    const first = await fetchThrough('/posts/index.php', { cf: TOKYO } as RequestInit)
    const second = await fetchThrough('/posts/index.php', { cf: TOKYO } as RequestInit)
    expect([first.cache, second.cache]).toEqual(['MISS', 'HIT'])
    expect(received.map((r) => r.origin)).toEqual(['far'])
  })
})
