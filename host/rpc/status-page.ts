// The host's status page: what a browser gets for a plain `GET /` (CONTRACT §8). The keys, the methods,
// the log's length and the files version, and the exact commands that verify and explore this host.
// Method names come from the script, so every value is HTML-escaped; the page has no script, loads
// nothing, and its policy allows only its own style sheet.
import { createHash } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'

export interface StatusPageInput {
  /** The handshake's answer: methods, callLogUrl, filesArchiveUrl, callLogLength, filesVersion, mode, engine. */
  info: Record<string, unknown>
  /** The address clients use for this host (`host:port`), for the commands. */
  address: string
}

const STYLE = `body{font:15px/1.5 system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#1d2126}
h1{font-size:1.4rem;margin-bottom:.2rem}h2{font-size:1.05rem;margin:1.6rem 0 .4rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dt{color:#5f6670}dd{margin:0;overflow-wrap:anywhere}
code{font:13px ui-monospace,"DejaVu Sans Mono",monospace}
pre{font:13px ui-monospace,"DejaVu Sans Mono",monospace;background:#f4f6f8;border:1px solid #dde1e6;border-radius:6px;padding:.6rem .8rem;white-space:pre-wrap;overflow-wrap:anywhere;user-select:all;-webkit-user-select:all}
.muted{color:#5f6670}ul{padding-left:1.2rem}`

/** The Content-Security-Policy of the page: nothing but its own inline style sheet. */
export const STATUS_PAGE_POLICY = `default-src 'none'; style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

export function escapeHtml (value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ENTITIES[c])
}

/** True for a request a browser makes for a page: GET or HEAD of / that accepts text/html. */
export function wantsStatusPage (req: IncomingMessage): boolean {
  const path = (req.url ?? '/').split('?')[0]
  return (req.method === 'GET' || req.method === 'HEAD') && path === '/' && /\btext\/html\b/i.test(req.headers.accept ?? '')
}

/** The address in a request's Host header when it is a plain host[:port], else the fallback. */
export function clientAddress (hostHeader: string | undefined, fallback: string): string {
  return hostHeader !== undefined && hostHeader.length <= 255 && /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/.test(hostHeader) ? hostHeader : fallback
}

/** Answers with the status page, or 503 while the host cannot say (it is closing, say). */
export function sendStatusPage (req: IncomingMessage, res: ServerResponse, handshakeInfo: () => Record<string, unknown>, ownAddress: string): void {
  let body: string
  try {
    body = statusPage({ info: handshakeInfo(), address: clientAddress(req.headers.host, ownAddress) })
  } catch {
    res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' })
    return void res.end('This nodevms host cannot report its status right now: try again shortly.\n')
  }
  res.writeHead(200, {
    'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store',
    'content-security-policy': STATUS_PAGE_POLICY, 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer'
  })
  res.end(req.method === 'HEAD' ? undefined : body)
}

export function statusPage ({ info, address }: StatusPageInput): string {
  const methods = Array.isArray(info.methods) ? info.methods.map(String) : []
  const logUrl = typeof info.callLogUrl === 'string' ? info.callLogUrl : null
  const filesUrl = typeof info.filesArchiveUrl === 'string' ? info.filesArchiveUrl : null
  const engine = info.engine as { name?: unknown, version?: unknown } | undefined
  const known = (value: unknown) => value === undefined || value === null ? '<span class="muted">unknown</span>' : escapeHtml(value)
  const pin = logUrl === null ? '' : ` --log ${logUrl}`
  const verify = `nodevms verify ${address}${pin}`
  const explore = `nodevms explore ${address}${pin}`
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>nodevms host at ${escapeHtml(address)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>nodevms host</h1>
<p class="muted">A backend script whose every call is written to a signed log. Anyone can replay the log and check the files: you do not have to trust this host.</p>
<dl>
<dt>Call log</dt><dd><code>${known(logUrl)}</code></dd>
<dt>Files</dt><dd><code>${known(filesUrl)}</code></dd>
<dt>Log length</dt><dd>${known(info.callLogLength)} ${info.callLogLength === 1 ? 'entry' : 'entries'}</dd>
<dt>Files version</dt><dd>${known(info.filesVersion)}</dd>
<dt>Mode</dt><dd>${known(info.mode)}</dd>
<dt>Engine</dt><dd>${engine === undefined ? known(undefined) : `${known(engine.name)} ${known(engine.version)}`}</dd>
</dl>
<h2>Methods (${methods.length})</h2>
${methods.length === 0 ? '<p class="muted">This script exports no methods.</p>' : `<ul>\n${methods.map((m) => `<li><code>${escapeHtml(m)}</code></li>`).join('\n')}\n</ul>`}
<h2>Verify this host</h2>
<p>Replay every call on your own machine and check the files (click to select, then copy):</p>
<pre>${escapeHtml(verify)}</pre>
<p>Or watch it being verified, live, in your browser:</p>
<pre>${escapeHtml(explore)}</pre>
<h2>Call it</h2>
<p>JSON-RPC 2.0 over WebSocket at <code>ws://${escapeHtml(address)}/</code>, or <code>nodevms call ${escapeHtml(address)} &lt;method&gt; [json-args...]</code>.</p>
</body>
</html>
`
}
