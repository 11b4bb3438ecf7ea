import { describe, expect, it } from 'vitest'
import { validateConfig } from '../../worker/config'
import { upstreamUrl } from '../../worker/proxy'
import {
  downstreamHeaders,
  type EdgeFacts,
  isLoop,
  rewriteLocation,
  stripHopByHop,
  upstreamHeaders,
} from '../../worker/proxy/headers'

const PUBLIC = new URL('https://blog.example/posts/1?ref=home')
const EDGE: EdgeFacts = { clientIp: '203.0.113.7', publicUrl: PUBLIC }
const ORIGIN_HOSTS = new Map([
  ['fra.origin.example', ['']],
  ['iad.origin.example:8443', ['/blog']],
  // Two origins on one host, under different base paths.
  ['shared.origin.example', ['/blog/us', '/eu']],
])

function origin(url: string) {
  const result = validateConfig([{ id: 'fra', url, lat: 50, lon: 8 }])
  if (!result.ok) throw new Error(result.errors.join('\n'))
  return result.config.origins[0]!
}

const upstream = (init: HeadersInit, edge: EdgeFacts = EDGE) =>
  upstreamHeaders(new Headers(init), edge)

describe('stripHopByHop', () => {
  it.each([
    'connection',
    'keep-alive',
    'proxy-connection',
    'proxy-authenticate',
    'proxy-authorization',
    'te',
    'trailer',
    'transfer-encoding',
    'upgrade',
  ])('removes %s', (name) => {
    const headers = new Headers({ [name]: 'x', accept: 'text/html' })
    stripHopByHop(headers)
    expect([...headers.keys()]).toEqual(['accept'])
  })

  it('removes every field named in Connection, whatever the case and spacing', () => {
    const headers = new Headers({
      connection: 'close,  X-Secret , x-other',
      'x-secret': '1',
      'x-other': '2',
      accept: 'text/html',
    })
    stripHopByHop(headers)
    expect([...headers.keys()]).toEqual(['accept'])
  })

  it('ignores a Connection token that is not a field name', () => {
    const headers = new Headers({ connection: 'a b, (x)', accept: 'text/html' })
    stripHopByHop(headers)
    expect([...headers.keys()]).toEqual(['accept'])
  })
})

describe('isLoop', () => {
  it.each([
    'georoute',
    'GeoRoute',
    'other, georoute',
    'other, georoute; v=1',
    'cloudflare,georoute;x="y"',
  ])('recognises our token in CDN-Loop: %s', (value) => {
    expect(isLoop(new Headers({ 'cdn-loop': value }))).toBe(true)
  })

  it.each(['', 'cloudflare', 'georoute2', 'not-georoute', 'other; v="georoute"'])(
    'does not take CDN-Loop: %j for ours',
    (value) => {
      expect(isLoop(new Headers({ 'cdn-loop': value }))).toBe(false)
    },
  )

  it('finds our token in the second of two CDN-Loop fields', () => {
    const headers = new Headers()
    headers.append('cdn-loop', 'cloudflare')
    headers.append('cdn-loop', 'georoute')
    expect(isLoop(headers)).toBe(true)
  })

  it('is false without CDN-Loop', () => {
    expect(isLoop(new Headers())).toBe(false)
  })
})

describe('upstreamHeaders', () => {
  it('replaces forwarding headers from the reader with what the edge saw', () => {
    const headers = upstream({
      'x-forwarded-for': '6.6.6.6',
      'x-forwarded-host': 'evil.example',
      'x-forwarded-proto': 'http',
      forwarded: 'for=6.6.6.6;host=evil.example',
      'x-real-ip': '6.6.6.6',
    })
    expect(headers.get('x-forwarded-for')).toBe('203.0.113.7')
    expect(headers.get('x-forwarded-host')).toBe('blog.example')
    expect(headers.get('x-forwarded-proto')).toBe('https')
    expect(headers.has('forwarded')).toBe(false)
    expect(headers.has('x-real-ip')).toBe(false)
  })

  it.each([
    'x-forwarded-port',
    'x-forwarded-prefix',
    'x-forwarded-scheme',
    'x-forwarded-ssl',
    'x-original-url',
    'x-rewrite-url',
  ])('drops %s from the reader, which origin frameworks trust to build URLs', (name) => {
    expect(upstream({ [name]: 'evil' }).has(name)).toBe(false)
  })

  it.each([
    'true-client-ip',
    'x-client-ip',
    'client-ip',
    'x-cluster-client-ip',
    'fastly-client-ip',
    'x-originating-ip',
    'x-remote-ip',
    'x-remote-addr',
    'x-proxyuser-ip',
    'x-forwarded',
    'forwarded-for',
    'x-original-forwarded-for',
    'x-forwarded-server',
    'x-forwarded-client-cert',
    'x-forwarded-anything',
    'x-host',
    'x-backend-host',
    'x-original-host',
    'x-http-host-override',
    'incap-client-ip',
    'x-sucuri-clientip',
  ])('drops %s from the reader, which origins trust for the client address or the host', (name) => {
    expect(upstream({ [name]: '6.6.6.6' }).has(name)).toBe(false)
  })

  it.each(['x_forwarded_host', 'x_forwarded_for', 'x-real_ip', 'client_ip', 'my_header'])(
    'drops %s: a CGI origin reads underscores as dashes (HTTP_X_FORWARDED_HOST), as nginx drops them',
    (name) => {
      expect(upstream({ [name]: 'evil.example' }).has(name)).toBe(false)
    },
  )

  it('keeps the X-Forwarded-* it sets itself over a reader value with underscores', () => {
    const headers = upstream({ x_forwarded_host: 'evil.example', x_forwarded_for: '6.6.6.6' })
    expect([...headers.keys()].filter((name) => name.includes('forwarded'))).toEqual([
      'x-forwarded-for',
      'x-forwarded-host',
      'x-forwarded-proto',
    ])
  })

  it('drops Expect: the edge holds the body already, and a 100 from the origin would end the fetch', () => {
    expect(upstream({ expect: '100-continue' }).has('expect')).toBe(false)
  })

  it('sends no X-Forwarded-For when the edge does not know the client', () => {
    const headers = upstream({ 'x-forwarded-for': '6.6.6.6' }, { ...EDGE, clientIp: null })
    expect(headers.has('x-forwarded-for')).toBe(false)
  })

  it('keeps the public host with its port in X-Forwarded-Host', () => {
    const headers = upstream({}, { ...EDGE, publicUrl: new URL('http://blog.example:8787/') })
    expect(headers.get('x-forwarded-host')).toBe('blog.example:8787')
    expect(headers.get('x-forwarded-proto')).toBe('http')
  })

  it.each(['host', 'x-georoute-geo', 'cf-connecting-ip', 'cf-worker', 'cf-ew-via'])(
    'does not forward %s',
    (name) => {
      expect(upstream({ [name]: 'x' }).has(name)).toBe(false)
    },
  )

  it('removes hop-by-hop fields and those named in Connection', () => {
    const headers = upstream({
      connection: 'x-secret',
      'x-secret': '1',
      'keep-alive': 'timeout=5',
      te: 'trailers',
      upgrade: 'websocket',
      'proxy-authorization': 'Basic eDp5',
    })
    for (const name of ['connection', 'x-secret', 'keep-alive', 'te', 'upgrade']) {
      expect(headers.has(name), name).toBe(false)
    }
    expect(headers.has('proxy-authorization')).toBe(false)
  })

  it('keeps end-to-end headers intact', () => {
    const headers = upstream({
      accept: 'text/html',
      authorization: 'Bearer abc',
      cookie: 'a=1; b=2',
      'if-none-match': '"v1"',
      'content-type': 'application/json',
      'user-agent': 'reader/1.0',
    })
    expect(headers.get('accept')).toBe('text/html')
    expect(headers.get('authorization')).toBe('Bearer abc')
    expect(headers.get('cookie')).toBe('a=1; b=2')
    expect(headers.get('if-none-match')).toBe('"v1"')
    expect(headers.get('content-type')).toBe('application/json')
    expect(headers.get('user-agent')).toBe('reader/1.0')
  })

  it('marks the request with our CDN-Loop token', () => {
    expect(upstream({}).get('cdn-loop')).toBe('georoute')
  })

  it('appends our CDN-Loop token to the one of another CDN', () => {
    expect(upstream({ 'cdn-loop': 'cloudflare' }).get('cdn-loop')).toBe('cloudflare, georoute')
  })

  it('does not change the headers it was given', () => {
    const incoming = new Headers({ 'x-forwarded-for': '6.6.6.6', connection: 'x-a', 'x-a': '1' })
    upstreamHeaders(incoming, EDGE)
    expect(incoming.get('x-forwarded-for')).toBe('6.6.6.6')
    expect(incoming.get('x-a')).toBe('1')
  })
})

describe('rewriteLocation', () => {
  it.each([
    ['http://fra.origin.example/landing', 'https://blog.example/landing'],
    ['https://fra.origin.example/a/b?x=1#top', 'https://blog.example/a/b?x=1#top'],
    ['//fra.origin.example/landing', 'https://blog.example/landing'],
    ['HTTP://FRA.ORIGIN.EXAMPLE/landing', 'https://blog.example/landing'],
    ['https://iad.origin.example:8443/blog/landing', 'https://blog.example/landing'],
    ['https://iad.origin.example:8443/blog', 'https://blog.example/'],
    ['https://iad.origin.example:8443/blogroll', 'https://blog.example/blogroll'],
    ['https://shared.origin.example/blog/us/landing', 'https://blog.example/landing'],
    ['https://shared.origin.example/eu/landing?x=1', 'https://blog.example/landing?x=1'],
    ['https://shared.origin.example/blog/landing', 'https://blog.example/blog/landing'],
  ])('points %s at the public host', (location, expected) => {
    expect(rewriteLocation(location, ORIGIN_HOSTS, PUBLIC)).toBe(expected)
  })

  it.each([
    'https://example.org/elsewhere',
    'https://iad.origin.example/blog/landing',
    'https://fra.origin.example.evil.example/',
    '/landing',
    'landing?x=1',
    '../up',
    '?page=2',
    'mailto:editor@fra.origin.example',
    'https://[invalid/',
  ])('leaves %s unchanged', (location) => {
    expect(rewriteLocation(location, ORIGIN_HOSTS, PUBLIC)).toBe(location)
  })
})

describe('downstreamHeaders', () => {
  it('removes hop-by-hop fields and those named in Connection from a response', () => {
    const headers = downstreamHeaders(
      new Headers({
        connection: 'keep-alive, x-internal',
        'keep-alive': 'timeout=5',
        'x-internal': 'secret',
        'transfer-encoding': 'chunked',
        'content-type': 'text/html',
      }),
      ORIGIN_HOSTS,
      PUBLIC,
    )
    expect([...headers.keys()]).toEqual(['content-type'])
  })

  it('rewrites a redirect to the own host of an origin', () => {
    const headers = downstreamHeaders(
      new Headers({ location: 'http://fra.origin.example/landing' }),
      ORIGIN_HOSTS,
      PUBLIC,
    )
    expect(headers.get('location')).toBe('https://blog.example/landing')
  })

  it('keeps every Set-Cookie', () => {
    const upstreamResponse = new Headers()
    upstreamResponse.append('set-cookie', 'a=1; Path=/')
    upstreamResponse.append('set-cookie', 'b=2; Path=/')
    const headers = downstreamHeaders(upstreamResponse, ORIGIN_HOSTS, PUBLIC)
    expect(headers.getSetCookie()).toEqual(['a=1; Path=/', 'b=2; Path=/'])
  })
})

describe('upstreamUrl', () => {
  it('appends the path and query of the reader to the origin', () => {
    expect(upstreamUrl(origin('https://fra.origin.example'), PUBLIC)).toBe(
      'https://fra.origin.example/posts/1?ref=home',
    )
  })

  it('keeps the base path and port of the origin', () => {
    expect(upstreamUrl(origin('http://127.0.0.1:8080/blog/'), PUBLIC)).toBe(
      'http://127.0.0.1:8080/blog/posts/1?ref=home',
    )
  })

  it.each([
    ['https://blog.example//evil.example/x', 'https://fra.origin.example//evil.example/x'],
    ['https://blog.example/@evil.example/', 'https://fra.origin.example/@evil.example/'],
    ['https://blog.example/%2F%2Fevil.example', 'https://fra.origin.example/%2F%2Fevil.example'],
    ['https://blog.example/\\\\evil.example/', 'https://fra.origin.example///evil.example/'],
    ['https://blog.example/%E0%A4%A?q=%zz', 'https://fra.origin.example/%E0%A4%A?q=%zz'],
  ])('keeps %s on the origin', (publicUrl, expected) => {
    const url = upstreamUrl(origin('https://fra.origin.example'), new URL(publicUrl))
    expect(new URL(url).host).toBe('fra.origin.example')
    expect(url).toBe(expected)
  })

  it('never escapes the base path of the origin through dot segments', () => {
    const url = upstreamUrl(
      origin('https://fra.origin.example/blog'),
      new URL('https://blog.example/%2e%2e/%2E%2E/admin'),
    )
    expect(url).toBe('https://fra.origin.example/blog/admin')
  })

  it('is the text fetch parses back to itself', () => {
    for (const publicUrl of [
      'https://b.example/é?q=ü',
      'https://b.example/a%20b?',
      'https://b.example/',
    ]) {
      const url = upstreamUrl(origin('https://fra.origin.example/blog/'), new URL(publicUrl))
      expect(new URL(url).href).toBe(url)
    }
  })

  it('drops the fragment', () => {
    const url = upstreamUrl(origin('https://fra.origin.example'), new URL('https://b.example/a#x'))
    expect(url).toBe('https://fra.origin.example/a')
  })
})
