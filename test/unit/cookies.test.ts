import { describe, expect, it } from 'vitest'
import { pinnedUntil, sign, verify } from '../../worker/cookies'

const SECRET = 'cookie-secret-for-tests'

describe('signed cookies', () => {
  it('verify what they signed', async () => {
    const signed = await sign(SECRET, 'pin', '123')
    expect(await verify(SECRET, 'pin', signed)).toBe('123')
  })

  it.each(['1.A', '1.AAAAA', '.', '1.', 'x.=', '1.A.A'])(
    'ignore the malformed value %s without throwing',
    async (value) => {
      expect(await verify(SECRET, 'pin', value)).toBeUndefined()
      expect(await pinnedUntil(SECRET, `__georoute_pin=${value}`, 0)).toBeUndefined()
    },
  )
})
