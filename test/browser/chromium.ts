// One Chromium harness for the browser tests (web apps, explore): Debian's `chromium` package driven by
// playwright-core, never a downloaded browser. Without it, browser tests skip loudly, saying why.
// Every page records its console errors and uncaught exceptions: a test calls page.errors() and fails on any.
import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { test } from 'uvu'

const CANDIDATES = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter((p): p is string => typeof p === 'string' && p !== '')

// As root, with no network but loopback: no sandbox, no GPU, and none of Chromium's background traffic.
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage']

/** The Chromium binary, or null when none is installed. */
export function chromiumPath (): string | null {
  return CANDIDATES.find((p) => existsSync(p)) ?? null
}

/** Prints a reason a browser test cannot run, so that a skip is never silent. */
export function loudSkip (reason: string): void {
  const bar = '!'.repeat(78)
  process.stderr.write(`\n${bar}\n!! SKIPPED browser tests: ${reason}\n${bar}\n\n`)
}

/** Launches headless Chromium, or returns why it cannot (no binary, or it would not start). */
export async function launchChromium (): Promise<Browser | string> {
  const executablePath = chromiumPath()
  if (executablePath === null) return 'no Chromium found (apt-get install chromium, or set CHROMIUM_PATH); .ci/run installs it'
  try {
    return await chromium.launch({ executablePath, headless: true, args: ARGS })
  } catch (err) {
    return `Chromium at ${executablePath} would not start: ${(err as Error).message.split('\n')[0]}`
  }
}

/**
 * Launches Chromium for a test file and lets `register` add its tests (Chromium closes after them), or,
 * when it cannot run, says why loudly and registers one skipped test named `what`.
 */
export async function withChromium (what: string, register: (browser: Browser) => void): Promise<void> {
  const launched = await launchChromium()
  if (typeof launched === 'string') {
    loudSkip(launched)
    test.skip(what, () => {})
    return
  }
  test.after(async () => { await launched.close() })
  register(launched)
}

/** A page plus what went wrong in it: console errors and uncaught exceptions, as text. */
export interface WatchedPage { page: Page, errors (): string[] }

/** Opens a new page in its own context and records its console errors and uncaught exceptions. */
export async function watchedPage (browser: Browser): Promise<WatchedPage> {
  const context = await browser.newContext()
  const page = await context.newPage()
  const errors: string[] = []
  page.on('console', (msg) => { if (msg.type() === 'error') errors.push(`console.error: ${msg.text()}`) })
  page.on('pageerror', (err) => { errors.push(`uncaught: ${err.message}`) })
  return { page, errors: () => [...errors] }
}

/** Saves a full-page screenshot as DIR/NAME.png (kept under the test's temp dir) and returns its path. */
export async function screenshot (page: Page, dir: string, name: string): Promise<string> {
  await mkdir(dir, { recursive: true })
  const path = join(dir, `${name}.png`)
  await page.screenshot({ path, fullPage: true })
  return path
}
