/** The values the cache steps hand each other, and what the request path gets back. */
import type { Settings } from '../config'
import type { Env } from '../env'
import type { ProxyOutcome, UpstreamRequest } from '../proxy'
import type { PolicyRequest } from './policy'
import type { CacheRules } from './rules'

/** The `x-georoute-cache` values. */
export type CacheStatus = 'HIT' | 'MISS' | 'STALE' | 'BYPASS' | 'EXPIRED' | 'REVALIDATED'

/** Asks the ranked origins for `request` at `publicUrl`; never called for a fresh hit. */
export type FetchOrigin = (request: UpstreamRequest, publicUrl: URL) => Promise<ProxyOutcome>

export interface CacheContext {
  env: Env
  ctx: ExecutionContext
  settings: Settings
  publicUrl: URL
}

/** The reader's method and headers, read from the Request once (each read is a runtime call). */
export interface Reader {
  method: string
  headers: Headers
}

/** A body to answer with: streamed from the Cache API, or held in memory. */
export type Body = ReadableStream | Uint8Array | null

/** What the cache step answers, with what the trace headers need. */
export interface Served {
  response: Response
  cache: CacheStatus
  /** The origin that produced the response, or filled the entry it came from. */
  origin?: string
  /** The proxy step, when origins were asked in the reader's time. */
  outcome?: ProxyOutcome
  /** Time spent reading the cache, ms. */
  cacheMs: number
}

/** A GET/HEAD that may use the cache, past its lookup: what the steps after it share. */
export interface CacheableRequest {
  request: Request
  context: CacheContext
  rules: CacheRules
  /** The normalized public URL: what the origin is asked for. */
  url: URL
  key: string
  /** The request as the stored policies judge it. */
  view: PolicyRequest
  fetchOrigin: FetchOrigin
}
