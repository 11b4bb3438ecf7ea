import { CONTINENT_CENTROIDS, COUNTRY_CENTROIDS } from './geo-data.generated'

/** Where a reader is, and how we know. */
export interface ReaderLocation {
  lat: number
  lon: number
  source: 'cf' | 'override' | 'country' | 'continent'
}

/** The parts of `request.cf` that locate a reader. */
export interface CfLocation {
  latitude?: unknown
  longitude?: unknown
  country?: unknown
  continent?: unknown
}

const EARTH_RADIUS_KM = 6371.0088
const RADIANS = Math.PI / 180

/** Parses one coordinate; `undefined` for anything but a finite number within ±limit. */
function coordinate(value: unknown, limit: number): number | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined
  if (typeof value === 'string' && !/^\s*[-+]?\d{1,3}(\.\d{1,12})?\s*$/.test(value))
    return undefined
  const n = Number(value)
  return Number.isFinite(n) && Math.abs(n) <= limit ? n : undefined
}

/** `"48.86,2.35"` → a location, or `undefined` when malformed. */
export function parseLatLon(
  text: string | null | undefined,
): { lat: number; lon: number } | undefined {
  if (!text || text.length > 64) return undefined
  const parts = text.split(',')
  if (parts.length !== 2) return undefined
  const lat = coordinate(parts[0], 90)
  const lon = coordinate(parts[1], 180)
  return lat === undefined || lon === undefined ? undefined : { lat, lon }
}

/**
 * The reader's location: `cf.latitude/longitude`, else the centroid of `cf.country`, else of
 * `cf.continent`; `undefined` when none is usable (the caller falls back to a default order).
 * `override` is the `x-georoute-geo` header, passed only when GEO_OVERRIDE is on.
 */
export function locateReader(
  cf: CfLocation | undefined,
  override?: string | null,
): ReaderLocation | undefined {
  const forced = parseLatLon(override)
  if (forced) return { ...forced, source: 'override' }
  const lat = coordinate(cf?.latitude, 90)
  const lon = coordinate(cf?.longitude, 180)
  if (lat !== undefined && lon !== undefined) return { lat, lon, source: 'cf' }
  const country =
    typeof cf?.country === 'string' ? COUNTRY_CENTROIDS[cf.country.toUpperCase()] : undefined
  if (country) return { lat: country[0], lon: country[1], source: 'country' }
  const continent =
    typeof cf?.continent === 'string' ? CONTINENT_CENTROIDS[cf.continent.toUpperCase()] : undefined
  if (continent) return { lat: continent[0], lon: continent[1], source: 'continent' }
  return undefined
}

/** Great-circle distance in kilometres (haversine). */
export function distanceKm(aLat: number, aLon: number, bLat: number, bLon: number): number {
  return distanceBetween(pointAt(aLat, aLon), pointAt(bLat, bLon))
}

/** A place in radians, with the cosine of its latitude that the haversine needs. */
export interface Point {
  lat: number
  lon: number
  cosLat: number
}

/** `lat`, `lon` (degrees) as a `Point`. */
export function pointAt(lat: number, lon: number): Point {
  const latRad = lat * RADIANS
  return { lat: latRad, lon: lon * RADIANS, cosLat: Math.cos(latRad) }
}

/**
 * Great-circle distance in kilometres between two points (haversine): ranking works out the
 * reader's point once per request and each origin's once per configuration.
 */
export function distanceBetween(a: Point, b: Point): number {
  const sinLat = Math.sin((b.lat - a.lat) / 2)
  const sinLon = Math.sin((b.lon - a.lon) / 2)
  const h = sinLat * sinLat + a.cosLat * b.cosLat * sinLon * sinLon
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)))
}

/** An IATA code, as `cf.colo` gives it. */
const IATA = /^[A-Za-z]{3}$/

/**
 * The data center the request entered: `cf.colo`, or `override` (the `x-georoute-colo` header,
 * passed only when GEO_OVERRIDE is on). `unknown` when neither is a 3-letter code.
 */
export function readerColo(cf: { colo?: unknown } | undefined, override?: string | null): string {
  if (override && IATA.test(override)) return override.toUpperCase()
  const colo = cf?.colo
  return typeof colo === 'string' && IATA.test(colo) ? colo.toUpperCase() : 'unknown'
}
