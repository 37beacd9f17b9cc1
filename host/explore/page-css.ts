// The explorer page's style sheet (served as /explorer.css; the page's policy allows no inline style).
export const PAGE_CSS = `
:root { --ok: #17803d; --bad: #c62828; --bad-bg: #fdecea; --pending: #8a8f98; --line: #e3e6ea; --muted: #5f6670;
  --accent: #2456a6; --restart: #d48806; --upgrade: #7b3fb5; --row: 26px; font-family: system-ui, sans-serif; font-size: 13px; color: #1d2126 }
* { box-sizing: border-box }
[hidden] { display: none !important }
html, body { margin: 0; height: 100% }
body { display: flex; flex-direction: column; background: #f7f8fa }
code, pre, .mono { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, monospace; font-size: 12px }
header { padding: 10px 16px 8px; background: #fff; border-bottom: 1px solid var(--line) }
.title-row { display: flex; align-items: center; gap: 12px }
h1 { font-size: 17px; margin: 0 }
.verdict { padding: 2px 10px; border-radius: 12px; font-weight: 600; background: #eef0f3; color: var(--muted) }
.verdict[data-verdict="ok"] { background: #e3f4e8; color: var(--ok) }
.verdict[data-verdict="mismatch"] { background: var(--bad); color: #fff }
.phase { color: var(--muted) }
.progress { position: relative; height: 6px; background: #eef0f3; border-radius: 3px; margin: 8px 0 4px; overflow: hidden }
.progress .bar { position: absolute; left: 0; top: 0; bottom: 0; width: 0 }
.progress .fetched { background: #b9cdf0 }
.progress .replayed { background: var(--accent) }
.progress-text { color: var(--muted); font-size: 12px }
.facts { display: grid; grid-template-columns: max-content 1fr max-content 1fr; gap: 2px 10px; margin: 8px 0 0 }
.facts dt { color: var(--muted) }
.facts dd { margin: 0; overflow: hidden; text-overflow: ellipsis; white-space: nowrap }
.mismatch { margin-top: 8px; border: 1px solid var(--bad); background: var(--bad-bg); border-radius: 6px; padding: 8px 12px }
.mismatch h2 { margin: 0 0 6px; font-size: 14px; color: var(--bad) }
.mismatch dl, .kv { display: grid; grid-template-columns: max-content 1fr; gap: 2px 10px; margin: 0 }
.mismatch dt, .kv dt { color: var(--muted) }
.mismatch dd, .kv dd { margin: 0; overflow-wrap: anywhere }
.problem { margin-top: 6px; color: #8a5a00; background: #fff7e0; padding: 4px 8px; border-radius: 4px }
button.link { border: 0; background: none; color: var(--accent); cursor: pointer; padding: 0; font: inherit; text-decoration: underline }
main { flex: 1; min-height: 0; display: flex }
.left { flex: 1 1 58%; min-width: 0; display: flex; flex-direction: column; padding: 8px 8px 8px 16px }
.right { flex: 1 1 42%; min-width: 0; display: flex; flex-direction: column; border-left: 1px solid var(--line); background: #fff }
.chart-box { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 6px 8px; margin-bottom: 8px }
.chart-head { display: flex; justify-content: space-between; color: var(--muted); font-size: 12px }
#chart { display: block; width: 100%; height: 96px; cursor: pointer }
.legend { color: var(--muted); font-size: 11px; display: flex; align-items: center; gap: 4px; flex-wrap: wrap }
.legend .key { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-left: 8px }
.key-call { background: #7fb28f } .key-pending { background: #c9ced6 } .key-failed { background: #e39a5b }
.key-restart { background: var(--restart) } .key-upgrade { background: var(--upgrade) } .key-mismatch { background: var(--bad) }
.row { display: grid; grid-template-columns: 64px 62px minmax(80px, 1fr) 170px minmax(100px, 1.6fr) 64px 78px; gap: 8px;
  align-items: center; height: var(--row); padding: 0 8px; white-space: nowrap }
.row > span { overflow: hidden; text-overflow: ellipsis }
.timeline-head { color: var(--muted); font-size: 12px; border-bottom: 1px solid var(--line); background: #fff; border-radius: 6px 6px 0 0 }
.timeline { flex: 1; min-height: 120px; overflow-y: auto; position: relative; background: #fff; border: 1px solid var(--line); border-top: 0; outline: none }
.timeline-rows { position: sticky; top: 0; height: 0; overflow: visible }
.timeline .row { position: absolute; left: 0; right: 0; border-bottom: 1px solid #f0f2f4; cursor: pointer }
.timeline .row:hover { background: #f3f6fb }
.timeline .row.selected { background: #e6eefb }
.timeline .row[data-status="mismatch"] { background: var(--bad-bg); box-shadow: inset 3px 0 var(--bad); color: var(--bad) }
.c-index, .c-gas { text-align: right; font-variant-numeric: tabular-nums }
.c-kind { color: var(--muted) }
.kind-restart .c-kind { color: var(--restart); font-weight: 600 } .kind-upgrade .c-kind { color: var(--upgrade); font-weight: 600 }
.kind-init .c-kind { color: var(--accent); font-weight: 600 }
.outcome-error { color: #b3261e }
.badge { display: inline-block; padding: 0 6px; border-radius: 9px; font-size: 11px; line-height: 17px; border: 1px solid currentColor; margin-right: 4px }
.status-ok { color: var(--ok) } .status-pending { color: var(--pending) } .status-mismatch { color: #fff; background: var(--bad); border-color: var(--bad) }
.caller-signed { color: var(--ok) } .caller-debug { color: #a15c00 } .caller-anonymous { color: var(--pending); font-style: italic }
.follow { color: var(--muted); font-size: 12px; margin-top: 4px }
.tabs { display: flex; border-bottom: 1px solid var(--line) }
.tab { border: 0; background: none; padding: 8px 14px; cursor: pointer; font: inherit; color: var(--muted); border-bottom: 2px solid transparent }
.tab.active { color: #1d2126; border-bottom-color: var(--accent); font-weight: 600 }
.panel { flex: 1; overflow: auto; padding: 10px 14px }
.panel h2 { font-size: 15px; margin: 0 0 8px; display: flex; gap: 8px; align-items: center; flex-wrap: wrap }
.panel h3 { font-size: 13px; margin: 14px 0 4px; color: #3a4048 }
.hint { color: var(--muted) }
pre { margin: 0; padding: 6px 8px; background: #f6f7f9; border: 1px solid var(--line); border-radius: 4px; overflow: auto; max-height: 320px; white-space: pre-wrap; overflow-wrap: anywhere }
.diverged { border: 1px solid var(--bad); background: var(--bad-bg); border-radius: 6px; padding: 8px 10px; margin-bottom: 10px }
.diverged h3 { color: var(--bad); margin-top: 0 }
.file-change { border: 1px solid var(--line); border-radius: 6px; margin: 6px 0; overflow: hidden }
.file-change .path { padding: 4px 8px; background: #f3f5f8; display: flex; gap: 8px; align-items: baseline; flex-wrap: wrap }
.file-change .sides { padding: 4px 8px; color: var(--muted); font-size: 12px }
.diff { border: 0; border-radius: 0; max-height: 360px; padding: 0 }
.diff div { padding: 0 8px; white-space: pre-wrap; overflow-wrap: anywhere; min-height: 16px }
.diff .add { background: #e6f6ea } .diff .del { background: #fdecea } .diff .fold { color: var(--muted); background: #f3f5f8; font-style: italic }
.crumbs { margin-bottom: 6px }
.crumbs button { margin-right: 2px }
.listing { list-style: none; padding: 0; margin: 0 0 10px; border: 1px solid var(--line); border-radius: 6px }
.listing li { display: flex; justify-content: space-between; padding: 3px 8px; border-bottom: 1px solid #f0f2f4 }
.listing li:last-child { border-bottom: 0 }
.listing .folder::before { content: "▸ "; color: var(--muted) }
.version-row { display: flex; gap: 8px; align-items: center; margin-bottom: 8px; color: var(--muted) }
.version-row input { width: 90px }
`
