import type { OriginStatus } from './model'
import { MAP_FRAME } from './world-map.generated'

/** One word for an origin's state on the page: the map colour, the legend and the table agree. */
export type Health = 'up' | 'down' | 'drained' | 'unknown'

/** The legend: colour, shape and words for each state, so colour is never the only cue. */
export const HEALTH_LEGEND: Readonly<
  Record<Health, { colour: string; label: string; meaning: string }>
> = {
  up: { colour: '#16a34a', label: 'Healthy', meaning: 'probes pass; serving readers' },
  down: { colour: '#dc2626', label: 'Down', meaning: 'probes fail or this edge ejected it' },
  drained: { colour: '#64748b', label: 'Drained', meaning: 'taken out of rotation by an admin' },
  unknown: { colour: '#2563eb', label: 'Not probed yet', meaning: 'no probe result; still served' },
}

/** An origin's state: drained wins (an admin decision), then down, then what the probes know. */
export function healthOf(origin: Pick<OriginStatus, 'drained' | 'healthy' | 'probe'>): Health {
  if (origin.drained) return 'drained'
  if (!origin.healthy) return 'down'
  return origin.probe === 'unknown' ? 'unknown' : 'up'
}

/**
 * Where a place lands on the generated map (equirectangular, so plain arithmetic). Latitudes
 * beyond the crop are pinned to its edge so the marker stays visible.
 */
export function mapPoint(lat: number, lon: number): { x: number; y: number } {
  const unit = MAP_FRAME.width / 360
  const top = Math.min(Math.max(lat, MAP_FRAME.latBottom), MAP_FRAME.latTop)
  return {
    x: Math.round((lon + 180) * unit * 10) / 10,
    y: Math.round((MAP_FRAME.latTop - top) * unit * 10) / 10,
  }
}

/** `"42 s ago"`, `"5 min ago"`, `"3 h ago"`, `"2 d ago"`; `null` for no or a bad time. */
export function ago(iso: string | null, now: number): string | null {
  if (!iso) return null
  const ms = Date.parse(iso)
  if (!Number.isFinite(ms)) return null
  const seconds = Math.max(0, Math.round((now - ms) / 1000))
  if (seconds < 5) return 'just now'
  if (seconds < 60) return `${seconds} s ago`
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ago`
  return `${Math.floor(seconds / 86_400)} d ago`
}

/** The headline: how many origins serve readers right now, and how worried to look. */
export function summary(origins: readonly OriginStatus[]): {
  text: string
  level: 'ok' | 'degraded' | 'down'
} {
  const serving = origins.filter((o) => !o.drained && o.healthy).length
  const total = origins.length
  if (serving === 0) return { text: 'No origin is serving readers', level: 'down' }
  if (serving === total) {
    return { text: `All ${total} origin${total === 1 ? '' : 's'} serving`, level: 'ok' }
  }
  return { text: `${serving} of ${total} origins serving`, level: 'degraded' }
}
