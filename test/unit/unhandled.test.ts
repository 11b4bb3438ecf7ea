import { afterEach, describe, expect, it, vi } from 'vitest'
import { unhandled } from '../../worker/pipeline'

afterEach(() => vi.restoreAllMocks())

describe('the page for a bug at the edge', () => {
  it('asks a reader to try again', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {})
    const response = unhandled(new Error('bug'), 'GET')
    expect(response.status).toBe(502)
    expect(await response.text()).toContain('Please try again in a moment.')
  })

  it.each(['POST', 'PUT', 'DELETE', 'PROPPATCH'])(
    'never invites a writer (%s) to send again: the change may have been saved',
    async (method) => {
      vi.spyOn(console, 'error').mockImplementation(() => {})
      const text = await unhandled(new Error('bug'), method).text()
      expect(text).toContain('may not have been saved')
      expect(text).not.toContain('try again')
    },
  )
})
