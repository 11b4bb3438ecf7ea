import { env, fetchMock } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { OVERRIDES_KEY } from '../../worker/overrides'
import { fetchThrough, installOrigins } from './cache-origins'

installOrigins()

const ZONE = '0123456789abcdef0123456789abcdef'
const API = 'https://api.cloudflare.com'
const ADMIN = { authorization: `Bearer ${env.ADMIN_TOKEN}`, 'content-type': 'application/json' }

async function purge(body: unknown, vars: Record<string, string> = {}, headers = ADMIN) {
  const answer = await fetchThrough(
    '/__georoute/purge',
    { method: 'POST', headers, body: JSON.stringify(body) },
    vars,
  )
  return { status: answer.status, json: JSON.parse(answer.body) as Record<string, unknown> }
}

/** Cloudflare's purge API, faked for `times` calls: answers `success`, records each call. */
function cloudflareApi(success = true, times = 1): { calls: { files: string[]; auth: string }[] } {
  const log = { calls: [] as { files: string[]; auth: string }[] }
  fetchMock
    .get(API)
    .intercept({ path: `/client/v4/zones/${ZONE}/purge_cache`, method: 'POST' })
    .reply((options) => {
      const headers = options.headers as Record<string, string>
      const files = (JSON.parse(String(options.body)) as { files: string[] }).files
      log.calls.push({ files, auth: headers.authorization ?? headers.Authorization ?? '' })
      return {
        statusCode: success ? 200 : 403,
        data: JSON.stringify({
          success,
          errors: success ? [] : [{ message: 'Authentication error' }],
        }),
      }
    })
    .times(times)
  return log
}

describe('POST /__georoute/purge', () => {
  it('needs the admin token', async () => {
    const { status } = await purge({ all: true }, {}, {
      'content-type': 'application/json',
    } as never)
    expect(status).toBe(401)
  })

  it('deletes the listed URLs in this data center, by path or absolute URL', async () => {
    await fetchThrough('/posts/a')
    await fetchThrough('/posts/b')
    const { status, json } = await purge({
      urls: ['/posts/a', 'https://blog.example/posts/b?utm_source=mail'],
    })
    expect(status).toBe(200)
    expect(json).toMatchObject({
      urls: ['https://blog.example/posts/a', 'https://blog.example/posts/b'],
      deletedHere: 2,
    })
    expect((await fetchThrough('/posts/a')).cache).toBe('MISS')
    expect((await fetchThrough('/posts/b')).cache).toBe('MISS')
  })

  it('leaves the other entries alone', async () => {
    await fetchThrough('/posts/c')
    await purge({ urls: ['/posts/other'] })
    expect((await fetchThrough('/posts/c')).cache).toBe('HIT')
  })

  it('turns the whole cache over with { all: true } by bumping the generation in KV', async () => {
    await fetchThrough('/posts/d')
    const { json } = await purge({ all: true })
    expect(json).toEqual({ purged: 'all', generation: expect.any(Number) })
    const { generation } = json as { generation: number }
    expect(generation).toBeGreaterThan(0)
    expect(await env.HEALTH.get(OVERRIDES_KEY, 'json')).toMatchObject({
      purgeGeneration: generation,
    })
    expect((await fetchThrough('/posts/d')).cache).toBe('MISS')
  })

  it('purges every data center through the Cloudflare API when configured', async () => {
    const api = cloudflareApi()
    const vars = { CF_ZONE_ID: ZONE, CF_API_TOKEN: 'cf-token' }
    const { status, json } = await purge({ urls: ['/posts/e'] }, vars)
    expect([status, json.everywhere]).toEqual([200, 'purged'])
    expect(api.calls).toEqual([
      {
        auth: 'Bearer cf-token',
        files: [
          'https://blog.example/__georoute/cache/0/posts/e',
          'http://blog.example/__georoute/cache/0/posts/e',
        ],
      },
    ])
  })

  it('sends at most 30 URLs per API call', async () => {
    const api = cloudflareApi(true, 2)
    const urls = Array.from({ length: 16 }, (_, i) => `/posts/${i}`)
    await purge({ urls }, { CF_ZONE_ID: ZONE, CF_API_TOKEN: 'cf-token' })
    expect(api.calls.map((c) => c.files.length)).toEqual([30, 2])
  })

  it('answers 502 with the reason when the Cloudflare API refuses', async () => {
    cloudflareApi(false)
    const { status, json } = await purge(
      { urls: ['/posts/f'] },
      { CF_ZONE_ID: ZONE, CF_API_TOKEN: 'bad' },
    )
    expect(status).toBe(502)
    expect(json.everywhere).toEqual({ error: 'Cloudflare purge API: Authentication error' })
  })

  it.each([
    [{}, 'urls: must be a non-empty array of paths or URLs'],
    [{ urls: [] }, 'urls: must be a non-empty array of paths or URLs'],
    [{ urls: ['posts/a'] }, 'urls[0]: must be a path starting with / or an http(s) URL'],
    [{ urls: ['https://evil.example/x'] }, "urls[0]: not on this blog's host (blog.example)"],
    [{ all: 'yes' }, 'all: must be true'],
    [{ all: true, urls: ['/'] }, 'give either "urls" or "all", not both'],
    [{ everything: true }, 'unknown field "everything"'],
  ])('refuses %j with 400', async (body, error) => {
    const { status, json } = await purge(body)
    expect([status, json.error]).toEqual([400, error])
  })
})
