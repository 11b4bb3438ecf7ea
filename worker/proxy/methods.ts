/**
 * Methods that only ever serve an attack from the public internet: TRACE and TRACK echo the
 * request back (cross-site tracing reads cookies and credentials), PURGE and BAN empty an
 * origin's own cache (Varnish, Nginx, Fastly conventions), CONNECT opens a tunnel. Refused
 * unless `settings.proxy.allowMethods` lists them; every other method is forwarded.
 */
export const REFUSED_METHODS = ['TRACE', 'TRACK', 'PURGE', 'BAN', 'CONNECT'] as const

const REFUSED: ReadonlySet<string> = new Set(REFUSED_METHODS)

/**
 * True when georoute refuses `method` itself. Compared case-insensitively although methods are
 * case-sensitive (RFC 9110 §9.1): some origins treat `trace` as TRACE.
 */
export function isRefusedMethod(method: string, allowed: readonly string[]): boolean {
  const upper = method.toUpperCase()
  return REFUSED.has(upper) && !allowed.includes(upper)
}
