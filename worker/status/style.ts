import { HEALTH_LEGEND } from './view'

// One custom property per state, from the legend itself: map, legend and table cannot disagree.
const healthColours = Object.entries(HEALTH_LEGEND)
  .map(([health, { colour }]) => `.h-${health}{--c:${colour}}`)
  .join('')

/** The status page's whole stylesheet: inline, small, light and dark, phone first. */
export const STATUS_STYLE = `
:root{--bg:#f4f6f9;--card:#fff;--text:#0f172a;--muted:#5b6678;--line:#e2e8f0;--sea:#eef3f8;
--land:#cdd6e1;--mark:#0f172a;--you:#7c3aed;--ok:#15803d;--degraded:#b45309;--down:#b91c1c;
color-scheme:light dark}
@media (prefers-color-scheme:dark){:root{--bg:#0b1120;--card:#111827;--text:#e5e7eb;
--muted:#9aa4b2;--line:#243044;--sea:#0f1a2b;--land:#2b3a50;--mark:#e5e7eb;--you:#a78bfa}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--text);line-height:1.45;
font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1120px;margin:0 auto;padding:20px 16px 32px}
header{display:flex;flex-wrap:wrap;align-items:center;justify-content:space-between;gap:12px;
margin-bottom:16px}
h1{font-size:22px;margin:0;letter-spacing:-.01em}
h1 small{display:block;font-size:13px;font-weight:500;color:var(--muted);letter-spacing:0}
h2{font-size:16px;margin:0 0 12px}
.banner{display:inline-flex;align-items:center;gap:8px;padding:6px 14px;border-radius:999px;
font-weight:600;color:#fff;background:var(--ok)}
.banner.degraded{background:var(--degraded)}.banner.down{background:var(--down)}
.card{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:16px;
margin-bottom:16px}
.map{display:block;width:100%;height:auto;border-radius:8px;background:var(--sea)}
.land{fill:var(--land)}
${healthColours}
.origin circle{fill:var(--c);stroke:var(--card);stroke-width:3}
.glyph{fill:none;stroke:#fff;stroke-width:3;stroke-linecap:round;stroke-linejoin:round}
.tag{font-size:17px;font-weight:600;fill:var(--text);paint-order:stroke;stroke:var(--sea);
stroke-width:5px;stroke-linejoin:round}
.you path{fill:var(--you);stroke:var(--card);stroke-width:2.5}
.edge rect{fill:var(--mark);stroke:var(--card);stroke-width:2.5}
@media (max-width:640px){.mk{transform:scale(1.9)}}
.legend{display:flex;flex-wrap:wrap;gap:6px 18px;margin:12px 0 0;padding:0;list-style:none;
font-size:13px;color:var(--muted)}
.legend li{display:flex;align-items:center;gap:6px}
.legend b{color:var(--text);font-weight:600}
.dot{display:inline-block;width:12px;height:12px;border-radius:50%;background:var(--c);
flex:none}
.dot.you{background:var(--you);border-radius:2px;transform:rotate(45deg) scale(.85)}
.dot.edge{background:var(--mark);border-radius:2px}
.facts{display:flex;flex-wrap:wrap;gap:4px 24px;margin:0;font-size:13px}
.facts div{display:flex;gap:6px}.facts dt{color:var(--muted)}.facts dd{margin:0;font-weight:500}
.table-wrap{overflow-x:auto}
table{width:100%;border-collapse:collapse;font-size:14px}
th,td{text-align:left;padding:10px 12px;border-bottom:1px solid var(--line);vertical-align:top;
white-space:nowrap}
th{font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted);
font-weight:600}
tbody tr:last-child td{border-bottom:0}
td.num{font-variant-numeric:tabular-nums}
code{font:600 13px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.sub{display:block;color:var(--muted);font-size:12px;font-weight:400}
.badge{display:inline-block;margin-left:6px;padding:0 6px;border-radius:4px;font-size:11px;
font-weight:600;border:1px solid var(--line);color:var(--muted);vertical-align:1px}
.pill{display:inline-flex;align-items:center;gap:6px;font-weight:600;white-space:nowrap}
.none{color:var(--muted)}
.reason{min-width:180px;white-space:normal;overflow-wrap:anywhere}
footer{font-size:12px;color:var(--muted)}
footer p{margin:4px 0}
a{color:inherit}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
@media (max-width:640px){
main{padding:14px 10px 24px}.card{padding:12px}
thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
table,tbody,tr,td{display:block}
tr{padding:8px 0;border-bottom:1px solid var(--line)}tbody tr:last-child{border-bottom:0}
td{display:flex;gap:12px;padding:3px 0;border:0}
td::before{content:attr(data-label);flex:0 0 96px;color:var(--muted);font-size:12px;
padding-top:2px}
td{white-space:normal}td:first-child{padding-bottom:6px}td:first-child::before{display:none}
.sub{overflow-wrap:anywhere}}
`
