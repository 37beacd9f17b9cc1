// A static HTTP server on 127.0.0.1 (a free port) for test pages: files from a directory, plus fixed routes.
import { createServer, type Server, type ServerResponse } from 'node:http'
import { readFile } from 'node:fs/promises'
import { extname, join, normalize } from 'node:path'

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json', '.json': 'application/json', '.css': 'text/css', '.png': 'image/png'
}

export interface StaticServer { url: string, origin: string, close (): Promise<void> }

/** Serves `routes` (path → body) first, then files under `root` (if given); everything else is 404. */
export async function serveStatic (opts: { root?: string, routes?: Record<string, string>, host?: string }): Promise<StaticServer> {
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname
    const routed = opts.routes?.[path]
    if (routed !== undefined) {
      res.writeHead(200, { 'content-type': TYPES[extname(path)] ?? TYPES['.html'] })
      res.end(routed)
      return
    }
    if (opts.root === undefined || path.includes('\0')) return notFound(res)
    const file = join(opts.root, normalize(path).replace(/^(\.\.[/\\])+/, ''))
    readFile(file).then((body) => {
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' })
      res.end(body)
    }, () => notFound(res))
  })
  const host = opts.host ?? '127.0.0.1'
  await new Promise<void>((resolve) => server.listen(0, host, resolve))
  const port = (server.address() as { port: number }).port
  const origin = `http://${host}:${port}`
  return {
    url: `${origin}/`,
    origin,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()) })
  }
}

function notFound (res: ServerResponse): void {
  res.writeHead(404, { 'content-type': 'text/plain' })
  res.end('not found\n')
}
