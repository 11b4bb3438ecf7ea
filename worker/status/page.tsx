import { raw } from 'hono/html'
import type { OriginStatus, StatusReport } from './model'
import { STATUS_STYLE } from './style'
import { ago, HEALTH_LEGEND, type Health, healthOf, mapPoint, summary } from './view'
import { LAND_PATH, MAP_FRAME } from './world-map.generated'

/** Seconds between reloads: a `<meta http-equiv=refresh>`, so the page needs no script. */
export const REFRESH_SECONDS = 15

// A shape inside each marker, so health does not hang on colour alone.
const GLYPHS: Record<Health, string> = {
  up: 'M-4.5 0.5l3 3 6-6.5',
  down: 'M-4-4l8 8M4-4l-8 8',
  drained: 'M-5 0h10',
  unknown: 'M-3-3.5a3.2 3.2 0 1 1 4 3c-1 .4-1 1-1 2M0 5v.1',
}

const place = (lat: number, lon: number) =>
  `${Math.abs(lat).toFixed(2)}°${lat < 0 ? 'S' : 'N'} ${Math.abs(lon).toFixed(2)}°${lon < 0 ? 'W' : 'E'}`

const READER_SOURCE = {
  cf: 'located by Cloudflare',
  override: 'set by x-georoute-geo',
  country: 'your country’s centre',
  continent: 'your continent’s centre',
} as const

/** A time as words ("5 min ago"), with the exact instant for hover and machines. */
function When(props: { iso: string | null; now: number }) {
  const words = ago(props.iso, props.now)
  if (!props.iso || !words) return <span class="none">—</span>
  return (
    <time datetime={props.iso} title={props.iso}>
      {words}
    </time>
  )
}

/** A map label to the right of its marker, or to the left near the map's east edge. */
function Tag(props: { x: number; text: string }) {
  const left = props.x > MAP_FRAME.width - 120
  return (
    <text class="tag" x={left ? -16 : 16} y="6" text-anchor={left ? 'end' : 'start'}>
      {props.text}
    </text>
  )
}

function OriginMarker(props: { origin: OriginStatus }) {
  const { origin } = props
  const health = healthOf(origin)
  const { x, y } = mapPoint(origin.lat, origin.lon)
  return (
    <g class={`origin h-${health}`} transform={`translate(${x} ${y})`}>
      <g class="mk">
        <circle r="12" data-origin={origin.id} data-health={health}>
          <title>{`${origin.id}${origin.label ? ` — ${origin.label}` : ''}: ${HEALTH_LEGEND[health].label}`}</title>
        </circle>
        <path class="glyph" d={GLYPHS[health]} />
        <Tag x={x} text={origin.id} />
      </g>
    </g>
  )
}

function WorldMap(props: { report: StatusReport }) {
  const { origins, reader, edge } = props.report
  const you = reader ? mapPoint(reader.lat, reader.lon) : null
  const edgeAt = edge.lat !== null && edge.lon !== null ? mapPoint(edge.lat, edge.lon) : null
  // The edge and the reader usually share a city: one marker says enough then.
  const showEdge = edgeAt && !(you && Math.hypot(you.x - edgeAt.x, you.y - edgeAt.y) < 8)
  const description = origins
    .map((o) => `${o.label ?? o.id}: ${HEALTH_LEGEND[healthOf(o)].label}`)
    .join('; ')
  return (
    <svg
      class="map"
      viewBox={`0 0 ${MAP_FRAME.width} ${MAP_FRAME.height}`}
      role="img"
      aria-labelledby="map-title map-desc"
    >
      <title id="map-title">World map of the origins</title>
      <desc id="map-desc">{description}</desc>
      <path class="land" d={LAND_PATH} />
      {origins.map((origin) => (
        <OriginMarker origin={origin} />
      ))}
      {/* Unlabelled (the legend names them) and on top, so a reader beside an origin sees both. */}
      {showEdge && edgeAt && (
        <g class="edge" transform={`translate(${edgeAt.x} ${edgeAt.y})`}>
          <g class="mk">
            <rect x="-6" y="-6" width="12" height="12" rx="2">
              <title>{`This edge${edge.colo ? ` (${edge.colo})` : ''}`}</title>
            </rect>
          </g>
        </g>
      )}
      {you && reader && (
        <g class="you" transform={`translate(${you.x} ${you.y})`}>
          <g class="mk">
            <path d="M0-8l8 8-8 8-8-8z">
              <title>{`You: ${place(reader.lat, reader.lon)} (${READER_SOURCE[reader.source]})`}</title>
            </path>
          </g>
        </g>
      )}
    </svg>
  )
}

function Legend() {
  return (
    <ul class="legend" aria-label="Legend">
      {(Object.keys(HEALTH_LEGEND) as Health[]).map((health) => (
        <li class={`h-${health}`}>
          <span class="dot" aria-hidden="true" />
          <b>{HEALTH_LEGEND[health].label}</b> {HEALTH_LEGEND[health].meaning}
        </li>
      ))}
      <li>
        <span class="dot you" aria-hidden="true" />
        <b>You</b>
      </li>
      <li>
        <span class="dot edge" aria-hidden="true" />
        <b>This edge</b>
      </li>
    </ul>
  )
}

function OriginRow(props: { origin: OriginStatus; now: number; detail: boolean }) {
  const { origin, now, detail } = props
  const health = healthOf(origin)
  return (
    <tr data-origin={origin.id} data-health={health}>
      <td data-label="Origin">
        <code>{origin.id}</code>
        {origin.primary && <span class="badge">primary</span>}
        {detail && origin.url && <span class="sub">{origin.url}</span>}
      </td>
      <td data-label="Region">{origin.label ?? <span class="none">—</span>}</td>
      <td data-label="State">
        <span>
          <span class={`pill h-${health}`}>
            <span class="dot" aria-hidden="true" />
            {HEALTH_LEGEND[health].label}
          </span>
          {origin.drained && <span class="sub">{`probes: ${origin.probe}`}</span>}
          {origin.here.probeOverruled && (
            <span class="sub">probes say down; requests from here succeed</span>
          )}
          {origin.build !== null && (
            <span class="sub" data-build={origin.build}>
              {`build ${origin.build}${origin.offBuild ? ' (not the expected build)' : ''}`}
            </span>
          )}
          {origin.ejectedUntil && (
            <span class="sub">
              {'skipped by this edge until '}
              <time datetime={origin.ejectedUntil}>{origin.ejectedUntil.slice(11, 19)} UTC</time>
            </span>
          )}
        </span>
      </td>
      <td data-label="Since">
        <When iso={origin.since} now={now} />
      </td>
      <td data-label="Last probe">
        <When iso={origin.lastCheck} now={now} />
      </td>
      <td data-label="Latency" class="num">
        {origin.latencyMs === null ? (
          <span class="none">—</span>
        ) : (
          `${Math.round(origin.latencyMs)} ms`
        )}
      </td>
      <td data-label="From here" class="num">
        <FromHere here={origin.here} />
      </td>
      {detail && (
        <td data-label="Reason" class="reason">
          {origin.reason ?? <span class="none">—</span>}
        </td>
      )}
    </tr>
  )
}

/** This data center's view of an origin: its latency from here and its recent success rate. */
function FromHere(props: { here: OriginStatus['here'] }) {
  const { latencyMs, requests, successRate } = props.here
  if (latencyMs === null && successRate === null) return <span class="none">—</span>
  const parts: string[] = []
  if (latencyMs !== null) parts.push(`${latencyMs} ms`)
  if (successRate !== null) parts.push(`${Math.round(successRate * 100)}% of ${requests}`)
  return <span>{parts.join(' · ')}</span>
}

/** The memory tier of the isolate that drew the page, in words. */
function memoryText({ entries, bytes, maxBytes }: StatusReport['edge']['memory']): string {
  if (maxBytes === 0) return 'off'
  const size = (n: number) =>
    n < 1024 * 1024
      ? `${Math.ceil(n / 1024)} KiB`
      : `${Number((n / (1024 * 1024)).toFixed(1)).toLocaleString('en-US')} MiB`
  return `${entries.toLocaleString('en-US')} (${size(bytes)} of ${size(maxBytes)})`
}

/** The human status page (`GET /__georoute/`): map, legend and table, server-rendered. */
export function StatusPage(props: { report: StatusReport }) {
  const { report } = props
  const now = Date.parse(report.generatedAt)
  const headline = summary(report.origins)
  const edgeName = [report.edge.colo, report.edge.country].filter(Boolean).join(' · ')
  return (
    <>
      {raw('<!doctype html>')}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <meta http-equiv="refresh" content={String(REFRESH_SECONDS)} />
          <meta name="robots" content="noindex" />
          <title>{`${headline.text} · georoute status`}</title>
          <style dangerouslySetInnerHTML={{ __html: STATUS_STYLE }} />
        </head>
        <body>
          <main>
            <header>
              <h1>
                georoute <small>Origin status</small>
              </h1>
              <p class={`banner ${headline.level}`} role="status">
                {headline.text}
              </p>
              {report.builds?.skew && (
                <p class={`banner ${report.builds.skew.alert ? 'down' : 'degraded'}`} data-skew>
                  {`Origins run different builds (for ${report.builds.skew.minutes} min${report.builds.skew.alert ? ', longer than expected' : ''})`}
                </p>
              )}
              {report.builds?.expected && (
                <p class="sub" data-expected-build={report.builds.expected}>
                  {`Expected build: ${report.builds.expected}`}
                </p>
              )}
            </header>
            <section class="card" aria-labelledby="map-heading">
              <h2 id="map-heading">Origins on the map</h2>
              <WorldMap report={report} />
              <Legend />
            </section>
            <section class="card" aria-labelledby="table-heading">
              <h2 id="table-heading">Origins</h2>
              <div class="table-wrap">
                <table>
                  <thead>
                    <tr>
                      <th scope="col">Origin</th>
                      <th scope="col">Region</th>
                      <th scope="col">State</th>
                      <th scope="col">Since</th>
                      <th scope="col">Last probe</th>
                      <th scope="col">Latency</th>
                      <th scope="col">From here</th>
                      {report.detail && <th scope="col">Reason</th>}
                    </tr>
                  </thead>
                  <tbody>
                    {report.origins.map((origin) => (
                      <OriginRow origin={origin} now={now} detail={report.detail} />
                    ))}
                  </tbody>
                </table>
              </div>
            </section>
            <section class="card" aria-labelledby="facts-heading">
              <h2 id="facts-heading" class="sr">
                This request
              </h2>
              <dl class="facts">
                <div>
                  <dt>This edge</dt>
                  <dd>{edgeName || 'unknown'}</dd>
                </div>
                <div>
                  <dt>Readers here go to</dt>
                  <dd>
                    {report.edge.sentTo ? <code>{report.edge.sentTo}</code> : 'no origin is ready'}
                  </dd>
                </div>
                <div>
                  <dt>You</dt>
                  <dd>
                    {report.reader
                      ? `${place(report.reader.lat, report.reader.lon)} (${READER_SOURCE[report.reader.source]})`
                      : 'location unknown'}
                  </dd>
                </div>
                <div>
                  <dt>Pages in memory here</dt>
                  <dd>{memoryText(report.edge.memory)}</dd>
                </div>
                <div>
                  <dt>Probes updated</dt>
                  <dd>{ago(report.updatedAt, now) ?? 'not yet'}</dd>
                </div>
              </dl>
            </section>
            <footer>
              <p>
                {`Generated ${report.generatedAt.replace('T', ' ').slice(0, 19)} UTC · refreshes every ${REFRESH_SECONDS} s · `}
                <a href="/__georoute/status">JSON</a>
              </p>
              {!report.detail && (
                <p>Probe reasons and origin URLs are shown with the admin token.</p>
              )}
            </footer>
          </main>
        </body>
      </html>
    </>
  )
}
