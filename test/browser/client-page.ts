// Pages that load the prebuilt browser client (dist/browser/nodevms-client.js, as `npm run build` makes
// it), for the web-app tests: served from 127.0.0.1, with `nodevms` on the page's globalThis.
import { fileURLToPath } from 'node:url'
import type { Browser, Page } from 'playwright-core'
import { watchedPage, type WatchedPage } from './chromium.js'
import { serveStatic, type StaticServer } from './static-server.js'

/** dist/browser/, where the build puts nodevms-client.js and its source map. */
export const DIST_BROWSER = fileURLToPath(new URL('../../browser/', import.meta.url))

/** The client module as a page sees it (its types are the browser entry's). */
export type BrowserClient = typeof import('../../client/browser.js')

/** A page that imports the prebuilt client and puts it on globalThis.nodevms. */
export const CLIENT_PAGE = `<!doctype html><meta charset="utf-8"><title>nodevms client test page</title>
<h1 id="status">loading</h1><pre id="log"></pre>
<script type="module">
import * as nodevms from './nodevms-client.js'
globalThis.nodevms = nodevms
document.getElementById('status').textContent = 'client loaded'
</script>`

/** A static server on 127.0.0.1: dist/browser/ at /, with CLIENT_PAGE at / (or the routes given), and a favicon. */
export function serveClientPages (routes: Record<string, string> = { '/': CLIENT_PAGE }): Promise<StaticServer> {
  // Without a favicon, Chromium's request for one is a 404, which it reports as a console error.
  return serveStatic({ root: DIST_BROWSER, routes: { '/favicon.ico': '', ...routes } })
}

/** Opens `url` in a new watched page and waits until the client module has loaded. */
export async function openClientPage (browser: Browser, url: string): Promise<WatchedPage> {
  const watched = await watchedPage(browser)
  await watched.page.goto(url)
  await watched.page.waitForFunction('typeof globalThis.nodevms?.connect === "function"')
  return watched
}

/** The page's frames on its WebSockets, as text, for tests that check what went over the wire. */
export function recordFrames (page: Page): { sent: string[], received: string[] } {
  const frames = { sent: [] as string[], received: [] as string[] }
  page.on('websocket', (ws) => {
    ws.on('framesent', (f) => { frames.sent.push(String(f.payload)) })
    ws.on('framereceived', (f) => { frames.received.push(String(f.payload)) })
  })
  return frames
}
