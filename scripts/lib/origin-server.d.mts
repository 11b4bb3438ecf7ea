/**
 * Types of `origin-server.mjs`, for TypeScript callers (the e2e tests) and the checkJs scripts.
 * `origin-server.mjs` annotates `startOrigin` with `OriginServer`, so the two cannot drift apart.
 */

/**
 * How an origin answers: `ok` normally, `reset` destroys the connection on arrival, `hang` never
 * answers, `error503` answers 503, `slow` answers normally after `setSlowMs` milliseconds.
 */
export type Mode = 'ok' | 'reset' | 'hang' | 'error503' | 'slow'

export interface OriginOptions {
  /** Origin id, sent back in `x-origin-id`. */
  id: string
  /** Place named on the blog page ("Served from Frankfurt"); defaults to the id. */
  region?: string
  /** 0 (default) lets the OS pick a free port. */
  port?: number
  /** Defaults to 127.0.0.1. */
  host?: string
  /** Pads blog pages to about this many bytes (benchmarks). */
  pageBytes?: number
}

/** One request as the origin received it. */
export interface LoggedRequest {
  method: string
  /** Path and query, as received. */
  url: string
  /** Lowercase names. */
  headers: Record<string, string | string[] | undefined>
  body: string
  /** Arrival time, `Date.now()`. */
  at: number
}

/** Where an origin is, for the `ORIGINS` list (DEMO_ORIGINS, or a test's own). */
export interface DemoOrigin {
  id: string
  region?: string
  label?: string
  lat: number
  lon: number
  primary?: boolean
  weight?: number
}

/** A running origin, as `startOrigin` resolves it. */
export interface OriginServer {
  readonly id: string
  readonly region: string
  /** `http://127.0.0.1:PORT`, no trailing slash. */
  readonly url: string
  readonly port: number
  /** Every request received since start or the last `clearLog`, in arrival order. */
  readonly requests: LoggedRequest[]
  /** Switches behaviour for the requests that arrive from now on; drops connections held by 'hang'. */
  setMode(next: Mode): void
  readonly mode: Mode
  /** Delay of the 'slow' mode (default 2000, at most 30000). */
  setSlowMs(ms: number): void
  /** Random extra delay of the 'slow' mode, 0 to `ms` per answer (default 0). */
  setJitterMs(ms: number): void
  /**
   * Resets every request that entered one of `colos` (its `x-georoute-colo` header), whatever
   * the mode: one data center that cannot reach this origin. `[]` ends it.
   */
  cutColos(colos: readonly string[]): void
  clearLog(): void
  /** Requests received per `METHOD /path` (query string left out). */
  counts(): Record<string, number>
  /** Stops listening, drops every open connection and pending answer. */
  close(): Promise<void>
}

/** One entry of the `ORIGINS` variable, as `originsList` builds it. */
export interface OriginEntry {
  id: string
  url: string
  lat: number
  lon: number
  label: string
  primary?: true
  weight?: number
  probe: { path: string }
}

/** The modes `setMode` accepts. */
export declare const MODES: readonly Mode[]

/** The three origins of the local demo; the coordinates are their cloud regions' cities. */
export declare const DEMO_ORIGINS: readonly DemoOrigin[]

/** Starts one origin and resolves once it listens. */
export declare function startOrigin(options: OriginOptions): Promise<OriginServer>

/** Starts several origins in parallel; if one fails, the others are closed and the error rethrown. */
export declare function startOrigins(specs: readonly OriginOptions[]): Promise<OriginServer[]>

/** The origin list for the `ORIGINS` variable: each running server with its spec's place. */
export declare function originsList(
  servers: readonly { id: string; url: string }[],
  specs: readonly DemoOrigin[],
): OriginEntry[]

/** `originsList` as the JSON string the `ORIGINS` variable takes. */
export declare function originsJson(
  servers: readonly { id: string; url: string }[],
  specs: readonly DemoOrigin[],
): string
