import { describe, expect, it } from 'vitest'
import { fetchThrough, installOrigins, received } from './cache-origins'

installOrigins()

// What a reader may send to shape what a CGI-style origin believes about the client or the host.
const FORGED = {
  x_forwarded_host: 'evil.example',
  x_forwarded_for: '6.6.6.6',
  'true-client-ip': '6.6.6.6',
  'x-client-ip': '6.6.6.6',
  'client-ip': '6.6.6.6',
  'x-cluster-client-ip': '6.6.6.6',
  'fastly-client-ip': '6.6.6.6',
  'x-originating-ip': '6.6.6.6',
  'x-remote-ip': '6.6.6.6',
  'x-remote-addr': '6.6.6.6',
  'x-proxyuser-ip': '6.6.6.6',
  'x-forwarded': 'for=6.6.6.6',
  'forwarded-for': '6.6.6.6',
  'x-forwarded-server': 'evil.example',
  'x-backend-host': 'evil.example',
  'x-host': 'evil.example',
  'x-original-host': 'evil.example',
  'x-http-host-override': 'evil.example',
}

function forwarded(): Record<string, string> {
  const headers = received[0]?.headers ?? {}
  return Object.fromEntries(
    Object.keys(FORGED).flatMap((name) => (name in headers ? [[name, headers[name]!]] : [])),
  )
}

describe('client-address and host headers from the reader', () => {
  it('never reach the origin on a cache fill', async () => {
    const fill = await fetchThrough('/posts/forged', { headers: FORGED })
    expect(fill.cache).toBe('MISS')
    expect(forwarded()).toEqual({})
    expect(received[0]?.headers['x-forwarded-host']).toBe('blog.example')
  })

  it('never reach the origin on a request that bypasses the cache', async () => {
    await fetchThrough('/comments', { method: 'POST', body: 'hi', headers: FORGED })
    expect(received[0]?.method).toBe('POST')
    expect(forwarded()).toEqual({})
  })
})
