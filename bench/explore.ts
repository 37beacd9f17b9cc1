// The explorer's page with a long log, in Debian's Chromium (playwright-core), after the log is verified:
//   explore.first_paint     ms from navigation to the timeline's first rows on screen     target ≤ 1 s
//   explore.scroll_to_end   ms from a scroll to the end to the last row on screen         target ≤ 200 ms
// baseline: the same rows as one static page of the same size (every row in the DOM, no script), served
// from the same process and measured the same way, interleaved with the explorer round by round.
// The log: 100,000 entries (--quick: 20,000) written by a real Host (64 callers in flight, group commits),
// then explored from its directory, as `nodevms explore --dir` does.
import { createServer, type Server } from 'node:http'
import { readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser, type Page } from 'playwright-core'
import { Explorer } from '../host/explore/index.js'
import { Host } from '../host/index.js'
import { openHostDir } from '../host/verify/index.js'
import { benchDir } from './interrupt.js'
import { formatTable, round, type BenchResult } from './report.js'

const fixtures = fileURLToPath(new URL('../../fixtures/', import.meta.url))
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const CALLERS = 64

interface Row { index: number, kind: string, method: string | null, caller: { kind: string } | null, outcome: { text: string } | null, gas: number | null, note: string | null, status: string }
interface Timing { firstPaint: number, scrollToEnd: number }

/** A host directory with `calls` increments logged, then closed. */
async function writeLog (root: string, calls: number): Promise<string> {
  const dir = join(root, 'host')
  const host = new Host({ source: await readFile(join(fixtures, 'counter.js'), 'utf8'), filename: 'counter.js', dir, warn: () => {} })
  await host.ready()
  let made = 0
  await Promise.all(Array.from({ length: CALLERS }, async () => {
    while (made < calls) { made++; await host.call('increment') }
  }))
  await host.close()
  return dir
}

async function verified (explorer: Explorer): Promise<void> {
  while (explorer.verdict !== 'ok') {
    if (explorer.verdict === 'mismatch') throw new Error('the bench log did not verify')
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

/** The explorer's rows, every one of them, as one static HTML page. */
async function staticPage (explorer: Explorer, length: number): Promise<string> {
  const parts: string[] = ['<!doctype html><html><head><meta charset="utf-8"><title>static</title><style>',
    '.row{display:grid;grid-template-columns:64px 62px 1fr 170px 1.6fr 64px 78px;gap:8px;height:26px;white-space:nowrap;font:13px sans-serif}',
    '</style></head><body>']
  for (let from = 0; from < length; from += 500) {
    const res = await fetch(new URL(`/api/entries?from=${from}&count=500`, explorer.url))
    for (const r of (await res.json() as { rows: Row[] }).rows) {
      parts.push(`<div class="row" data-entry="${r.index}" data-status="${r.status}"><span>${r.index}</span><span>${r.kind}</span>` +
        `<span>${escape(r.method ?? '')}</span><span>${r.caller?.kind ?? ''}</span><span>${escape(r.outcome?.text ?? r.note ?? '')}</span>` +
        `<span>${r.gas ?? ''}</span><span>${r.status}</span></div>`)
    }
  }
  parts.push('</body></html>')
  return parts.join('\n')
}

async function serveHtml (html: string): Promise<{ server: Server, url: string }> {
  const server = createServer((_req, res) => { res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }); res.end(html) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}/` }
}

// In the page: the time (since navigation) at which rows are first on screen, and how long a scroll to the
// end takes until the last row is painted. `scroller` is the timeline, or the document for the static page.
// (Page-side code runs through evaluate, which the explorer's Content-Security-Policy allows; a polling
// waitForFunction would need 'unsafe-eval'.)
const FIRST_PAINT = `(async () => {
  const timeline = () => document.getElementById('timeline')
  const ready = () => document.querySelector('[data-entry]') !== null && (timeline() === null || timeline().getAttribute('aria-busy') === 'false')
  while (!ready()) await new Promise((resolve) => requestAnimationFrame(resolve))
  const rows = performance.now()
  const fcp = performance.getEntriesByName('first-contentful-paint')[0]
  return Math.max(rows, fcp === undefined ? 0 : fcp.startTime)
})()`
const scrollToEnd = (last: number) => `(async () => {
  const timeline = document.getElementById('timeline')
  const scroller = timeline ?? document.scrollingElement
  const frame = () => new Promise((resolve) => requestAnimationFrame(resolve))
  const settled = () => timeline === null || timeline.getAttribute('aria-busy') === 'false'
  scroller.scrollTop = 0 // the explorer opens at the newest entry: start from the first
  while (document.querySelector('[data-entry="0"]') === null || !settled()) await frame()
  await frame()
  const started = performance.now()
  scroller.scrollTop = scroller.scrollHeight
  for (;;) {
    await frame()
    const row = document.querySelector('[data-entry="${last}"]')
    if (row !== null && row.getBoundingClientRect().bottom <= innerHeight + 1 && settled()) break
  }
  await frame() // painted
  return performance.now() - started
})()`

/** Chromium for one measure: a fresh browser each time, so that one page's teardown never slows the next. */
async function launch (): Promise<Browser> {
  return await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] })
}

async function measure (url: string, length: number): Promise<Timing> {
  const browser = await launch()
  const page: Page = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage()
  try {
    await page.goto('about:blank') // a running browser, as the auditor's is
    await page.goto(url, { waitUntil: 'commit', timeout: 120_000 })
    const firstPaint = await page.evaluate(FIRST_PAINT) as number
    await page.waitForLoadState('load', { timeout: 120_000 })
    const scrollMs = await page.evaluate(scrollToEnd(length - 1)) as number
    return { firstPaint, scrollToEnd: scrollMs }
  } finally {
    await browser.close()
  }
}

export async function benchExplore (quick: boolean): Promise<BenchResult[]> {
  const calls = quick ? 20_000 : 100_000
  // The static page takes over a minute to load at 100,000 rows: it is measured twice, the explorer three
  // times, alternating (explorer, static, explorer, static, explorer); each reports its median.
  const rounds = 3
  try {
    await (await launch()).close()
  } catch (err) {
    process.stderr.write(`explore bench skipped: Chromium at ${CHROMIUM} would not start: ${(err as Error).message.split('\n')[0]}\n`)
    return []
  }
  const root = await benchDir('explore')
  let explorer: Explorer | null = null
  let baseline: { server: Server, url: string } | null = null
  try {
    const dir = await writeLog(root, calls)
    explorer = new Explorer({ target: dir })
    await explorer.listen()
    explorer.follow(await openHostDir(dir))
    await verified(explorer)
    const length = explorer.status().length
    baseline = await serveHtml(await staticPage(explorer, length))
    const mine: Timing[] = []
    const theirs: Timing[] = []
    for (let r = 0; r < rounds; r++) { // interleaved, so drift hits both
      mine.push(await measure(explorer.url, length))
      if (r < rounds - 1) theirs.push(await measure(baseline.url, length))
    }
    const median = (values: number[]) => {
      const sorted = [...values].sort((a, b) => a - b)
      const mid = sorted.length / 2
      return Number.isInteger(mid) ? (sorted[mid - 1] + sorted[mid]) / 2 : sorted[Math.floor(mid)]
    }
    const paint = median(mine.map((t) => t.firstPaint))
    const paintBase = median(theirs.map((t) => t.firstPaint))
    const scroll = median(mine.map((t) => t.scrollToEnd))
    const scrollBase = median(theirs.map((t) => t.scrollToEnd))
    return [
      { name: 'explore.first_paint', value: round(paint, 0), unit: 'ms', baseline: round(paintBase, 0), ratio: round(paint / paintBase, 3), target: `≤ 1000 ms (${length} entries; baseline: a static page of the same rows)`, met: paint <= 1000 },
      { name: 'explore.scroll_to_end', value: round(scroll, 1), unit: 'ms', baseline: round(scrollBase, 1), ratio: round(scroll / scrollBase, 3), target: `≤ 200 ms (${length} entries; baseline: the static page)`, met: scroll <= 200 }
    ]
  } finally {
    baseline?.server.close()
    await explorer?.close()
    await rm(root, { recursive: true, force: true })
  }
}

// Run on its own: node dist/bench/explore.js [--quick]
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(formatTable(await benchExplore(process.argv.includes('--quick'))))
}
