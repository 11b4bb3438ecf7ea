import { describe, expect, it } from 'vitest'
import { isRefusedMethod } from '../../worker/proxy/methods'

describe('isRefusedMethod', () => {
  it.each(['TRACE', 'TRACK', 'PURGE', 'BAN', 'CONNECT', 'trace', 'Purge'])(
    'refuses %s by default',
    (method) => {
      expect(isRefusedMethod(method, [])).toBe(true)
    },
  )

  it.each([
    'GET',
    'HEAD',
    'OPTIONS',
    'POST',
    'PUT',
    'PATCH',
    'DELETE',
    'PROPFIND',
    'QUERY',
    'M-SEARCH',
  ])('forwards %s', (method) => {
    expect(isRefusedMethod(method, [])).toBe(false)
  })

  it('forwards a refused method that the settings allow, and only that one', () => {
    expect(isRefusedMethod('PURGE', ['PURGE'])).toBe(false)
    expect(isRefusedMethod('purge', ['PURGE'])).toBe(false)
    expect(isRefusedMethod('BAN', ['PURGE'])).toBe(true)
  })
})
