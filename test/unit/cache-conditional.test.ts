import { describe, expect, it } from 'vitest'
import { notModified, notModifiedResponse } from '../../worker/cache/conditional'

const LAST_MODIFIED = 'Tue, 01 Jan 2030 00:00:00 GMT'
const response = new Headers({ etag: '"v1"', 'last-modified': LAST_MODIFIED })
const check = (request: Record<string, string>, status = 200) =>
  notModified(new Headers(request), status, response)

describe('notModified', () => {
  it('is true when If-None-Match lists the ETag', () => {
    expect(check({ 'if-none-match': '"v0", "v1"' })).toBe(true)
  })

  it('compares weakly, as If-None-Match requires', () => {
    expect(check({ 'if-none-match': 'W/"v1"' })).toBe(true)
  })

  it('takes only entity-tags from If-None-Match: a lowercase w/ or an unquoted tag matches nothing', () => {
    expect(check({ 'if-none-match': 'w/"v1"' })).toBe(false)
    expect(check({ 'if-none-match': 'v1' })).toBe(false)
    expect(check({ 'if-none-match': 'x"v1"' })).toBe(false)
  })

  it('reads entity-tags that contain commas', () => {
    const listed = new Headers({ etag: '"a,b"' })
    expect(notModified(new Headers({ 'if-none-match': '"c", "a,b"' }), 200, listed)).toBe(true)
  })

  it('is true for If-None-Match: *', () => {
    expect(check({ 'if-none-match': '*' })).toBe(true)
  })

  it('is false for another ETag', () => {
    expect(check({ 'if-none-match': '"v2"' })).toBe(false)
  })

  it('ignores If-Modified-Since when If-None-Match is present', () => {
    expect(check({ 'if-none-match': '"v2"', 'if-modified-since': LAST_MODIFIED })).toBe(false)
  })

  it('is true when the resource has not changed since If-Modified-Since', () => {
    expect(check({ 'if-modified-since': LAST_MODIFIED })).toBe(true)
  })

  it('is false when it changed after If-Modified-Since', () => {
    expect(check({ 'if-modified-since': 'Mon, 31 Dec 2029 00:00:00 GMT' })).toBe(false)
  })

  it('evaluates If-Modified-Since against the Date of a response without Last-Modified', () => {
    const dated = new Headers({ date: LAST_MODIFIED })
    const since = (value: string) =>
      notModified(new Headers({ 'if-modified-since': value }), 200, dated)
    expect(since(LAST_MODIFIED)).toBe(true)
    expect(since('Mon, 31 Dec 2029 00:00:00 GMT')).toBe(false)
  })

  it('is false for a status other than 200', () => {
    expect(check({ 'if-none-match': '"v1"' }, 404)).toBe(false)
  })
})

describe('notModifiedResponse', () => {
  it('carries the validators and caching fields, and no body', async () => {
    const headers = new Headers({
      etag: '"v1"',
      'cache-control': 'max-age=60',
      'content-type': 'text/html',
      'content-length': '10',
    })
    const answer = notModifiedResponse(headers)
    expect(answer.status).toBe(304)
    expect(answer.headers.get('etag')).toBe('"v1"')
    expect(answer.headers.get('cache-control')).toBe('max-age=60')
    expect(answer.headers.has('content-length')).toBe(false)
    expect(await answer.text()).toBe('')
  })
})
