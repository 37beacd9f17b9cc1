// Shared by the explorer's tests: a demo script that exercises every part of the page, a real host served
// in this process (for hosts that lie), and the page-side waits and reads (verdict, timeline statuses).
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { suite } from 'uvu'
import { Host } from '../../host/host.js'
import { hostService, RpcServer } from '../../host/rpc/index.js'
import { stopAll } from '../cli/helpers.js'
import { launchChromium, loudSkip, watchedPage, type WatchedPage } from './chromium.js'

/** Text notes (diffs), work (gas), oracles, binary files, a counter and failures. */
export const DEMO_SCRIPT = `const fs = System.files
exports.note = async (name, line) => {
  let old = ''
  try { old = await fs.readFile('/notes/' + name) } catch (e) {}
  await fs.writeFile('/notes/' + name, old + line + '\\n')
  return old.split('\\n').length
}
exports.work = (n) => { let s = 0; for (let i = 0; i < n; i++) s += i % 7; return s }
exports.roll = async () => await System.oracle(() => Math.random())
exports.upload = async (name, b64) => { await fs.writeFile('/bin/' + name, b64, 'base64'); return name }
exports.fail = (why) => { throw new Error(why) }
`

/** The k-th call of a varied workload: [method, args]. */
export function demoCall (k: number): [string, unknown[]] {
  switch (k % 5) {
    case 0: return ['note', ['diary', `line ${k}: the quick brown fox`]]
    case 1: return ['work', [2000 * (k % 23)]]
    case 2: return ['roll', []]
    case 3: return ['upload', [`blob${k % 3}`, Buffer.from([0, 1, 2, k % 256, 255]).toString('base64')]]
    default: return ['fail', [`refused ${k}`]]
  }
}

/** A real Host on dir, served on a free port in this process (so a test can make it lie). */
export class ServedHost {
  host!: Host
  server!: RpcServer

  static async start (dir: string, source: string, filename = 'script.js'): Promise<ServedHost> {
    const served = new ServedHost()
    served.host = new Host({ source, filename, dir, warn: () => {}, log: () => {} })
    await served.host.ready()
    served.server = new RpcServer({ service: hostService(served.host), port: 0, onError: () => {} })
    await served.server.open()
    return served
  }

  get address (): string { return `127.0.0.1:${this.server.port}` }

  async close (): Promise<void> {
    await this.server?.close()
    await this.host?.close()
  }
}

/** The in-process hosts a test started; closed after each test. */
export class Hosts {
  private readonly started: ServedHost[] = []

  async start (dir: string, source: string, filename?: string): Promise<ServedHost> {
    const served = await ServedHost.start(dir, source, filename)
    this.started.push(served)
    return served
  }

  async closeAll (): Promise<void> {
    for (const served of this.started.splice(0)) await served.close()
  }
}

export interface BrowserCase { name: string, run (browser: Browser, hosts: Hosts): Promise<void> }

/**
 * Runs browser tests in one Chromium; after each, the hosts it started and the children it spawned are
 * stopped. Without Chromium every case is skipped, loudly.
 */
export async function runBrowserSuite (title: string, cases: BrowserCase[]): Promise<void> {
  const test = suite(title)
  const launched = await launchChromium()
  if (typeof launched === 'string') {
    loudSkip(launched)
    for (const c of cases) test.skip(c.name, () => {})
  } else {
    const hosts = new Hosts()
    test.after.each(async () => {
      await hosts.closeAll()
      await stopAll()
    })
    test.after(async () => { await launched.close() })
    for (const c of cases) test(c.name, () => c.run(launched, hosts))
  }
  test.run()
}

/** Where a test keeps its screenshots: $NODEVMS_SCREENSHOTS (kept), else under its temp dir. */
export function screenshotDir (tempDir: string): string {
  return process.env.NODEVMS_SCREENSHOTS ?? join(tempDir, 'screenshots')
}

/** The explorer's page at url, in a window large enough for the whole layout. */
export async function explorerPage (browser: Browser, url: string): Promise<WatchedPage> {
  const watched = await watchedPage(browser)
  await watched.page.setViewportSize({ width: 1400, height: 900 })
  await watched.page.goto(url)
  return watched
}

/** Waits for the page's verdict hook to read `verdict`. */
export async function waitVerdict (page: Page, verdict: 'ok' | 'mismatch', timeout = 60_000): Promise<void> {
  await page.waitForSelector(`[data-verdict="${verdict}"]`, { timeout })
}

// Page-side code is given as text: these files are type-checked for Node, not for the DOM.
const SCROLL_THROUGH = `(async () => {
  const timeline = document.getElementById('timeline')
  const frame = () => new Promise((resolve) => requestAnimationFrame(() => resolve()))
  const out = {}
  for (let top = 0; ; top += Math.max(26, timeline.clientHeight - 3 * 26)) {
    timeline.scrollTop = top
    await frame() // the timeline renders in the frame after the scroll
    await frame()
    for (let k = 0; k < 500 && timeline.getAttribute('aria-busy') !== 'false'; k++) await frame()
    for (const el of document.querySelectorAll('[data-entry]')) out[el.dataset.entry] = el.dataset.status
    if (timeline.scrollTop + timeline.clientHeight >= timeline.scrollHeight - 1) return out
  }
})()`

/** Scrolls the whole timeline from the top and returns each entry's data-status as rendered. */
export async function timelineStatuses (page: Page): Promise<Map<number, string>> {
  const seen = await page.evaluate(SCROLL_THROUGH) as Record<string, string>
  return new Map(Object.entries(seen).map(([index, status]) => [Number(index), status]))
}

/** Opens entry `index` by its link (#entry=N): the timeline scrolls to it and its detail loads. */
export async function showEntry (page: Page, index: number): Promise<void> {
  await page.evaluate(`location.hash = 'entry=${index}'`)
  await page.waitForSelector(`[data-entry="${index}"].selected`, { timeout: 10_000 })
  await page.waitForSelector(`#entry-panel h2:text-matches("^Entry ${index}:")`, { timeout: 10_000 })
}
