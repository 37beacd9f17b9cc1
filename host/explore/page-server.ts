// The explorer's HTTP server: the page (HTML, CSS and its script modules, all shipped in the package) and
// the JSON API, on one origin. Everything it serves is public data, but the data comes from a log nobody
// trusts: the page renders it as text only, and a strict Content-Security-Policy (no inline script, no
// other origin) backs that up.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { HostError } from '../index.js'
import type { ApiAnswer } from './api.js'
import type { PageAssets } from './assets.js'

export interface PageServerOptions {
  /** Address to listen on (default 127.0.0.1; 'localhost' is 127.0.0.1). */
  host?: string
  /** Port (default 0: a free port). */
  port?: number
  assets: PageAssets
  api (path: string, query: URLSearchParams): Promise<ApiAnswer>
  /** Unexpected failures (default: stderr). */
  onError?: (err: unknown) => void
}

const API_TIMEOUT_MS = 15_000
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin'
}

export class PageServer {
  private readonly http: Server
  private readonly host: string
  private readonly requestedPort: number
  private boundPort: number | null = null

  constructor (private readonly options: PageServerOptions) {
    this.host = options.host === undefined || options.host === 'localhost' ? '127.0.0.1' : options.host
    this.requestedPort = options.port ?? 0
    this.http = createServer((req, res) => { this.serve(req, res).catch((err) => this.fail(res, err)) })
  }

  /** http://ADDRESS:PORT/, with a loopback address for a server listening on every interface. */
  get url (): string {
    const shown = this.host === '0.0.0.0' ? '127.0.0.1' : this.host === '::' ? '::1' : this.host
    return `http://${shown.includes(':') ? `[${shown}]` : shown}:${this.boundPort ?? this.requestedPort}/`
  }

  listen (): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: unknown) => reject(HostError.LISTEN_FAILED(this.host, this.requestedPort, err))
      this.http.once('error', onError)
      this.http.listen(this.requestedPort, this.host, () => {
        this.http.off('error', onError)
        const address = this.http.address()
        this.boundPort = address !== null && typeof address === 'object' ? address.port : this.requestedPort
        resolve()
      })
    })
  }

  close (): Promise<void> {
    if (!this.http.listening) return Promise.resolve()
    const closed = new Promise<void>((resolve) => this.http.close(() => resolve()))
    this.http.closeAllConnections()
    return closed
  }

  private async serve (req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') return this.send(res, 405, 'text/plain; charset=utf-8', 'The explorer only answers GET.\n', { allow: 'GET, HEAD' })
    const url = new URL(req.url ?? '/', 'http://explorer')
    const { assets } = this.options
    if (url.pathname === '/') return this.send(res, 200, 'text/html; charset=utf-8', assets.html)
    if (url.pathname === '/explorer.css') return this.send(res, 200, 'text/css; charset=utf-8', assets.css)
    if (url.pathname === '/favicon.svg' || url.pathname === '/favicon.ico') return this.send(res, 200, 'image/svg+xml', assets.icon)
    const script = url.pathname.startsWith('/page/') ? assets.scripts.get(url.pathname.slice('/page/'.length)) : undefined
    if (script !== undefined) return this.send(res, 200, 'text/javascript; charset=utf-8', script)
    if (url.pathname.startsWith('/api/')) {
      const { status, body } = await withDeadline(this.options.api(url.pathname, url.searchParams))
      return this.send(res, status, 'application/json; charset=utf-8', JSON.stringify(body), { 'cache-control': 'no-store' })
    }
    this.send(res, 404, 'text/plain; charset=utf-8', `Nothing at ${url.pathname}: the explorer page is at /.\n`)
  }

  private send (res: ServerResponse, status: number, type: string, body: string, headers: Record<string, string> = {}): void {
    res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-cache', ...SECURITY_HEADERS, ...headers })
    res.end(res.req.method === 'HEAD' ? undefined : body)
  }

  private fail (res: ServerResponse, err: unknown): void {
    (this.options.onError ?? ((e) => process.stderr.write(`nodevms explore: ${(e as Error)?.stack ?? e}\n`)))(err)
    if (res.headersSent) return void res.destroy()
    this.send(res, 500, 'application/json; charset=utf-8', JSON.stringify({ error: `the explorer failed to answer: ${(err as Error)?.message ?? err}` }))
  }
}

/** The API's answer, or a 504 when the data it needs does not arrive in time (a host that left, say). */
async function withDeadline (pending: Promise<ApiAnswer>): Promise<ApiAnswer> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<ApiAnswer>((resolve) => {
    timer = setTimeout(() => resolve({ status: 504, body: { error: 'the data for this answer did not arrive in time: the host may be unreachable' } }), API_TIMEOUT_MS)
  })
  try {
    return await Promise.race([pending, late])
  } finally {
    clearTimeout(timer)
  }
}
