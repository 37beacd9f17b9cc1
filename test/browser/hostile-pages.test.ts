// A hostile script cannot run code in the auditor's browser: method names, arguments, results, errors,
// debug caller names, file names and file contents full of markup show as text, in the explorer's page and
// in the host's status page, and nothing of it runs (no injected element, no CSP violation, no flag set).
import * as assert from 'uvu/assert'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { spawnCli, spawnExplore, tempDir } from '../cli/helpers.js'
import { screenshot, watchedPage } from './chromium.js'
import { explorerPage, runBrowserSuite, screenshotDir, showEntry, waitVerdict } from './explore-fixture.js'

const EVIL_METHOD = '<img src=x onerror="window.__pwned=1">'
const EVIL_THROW = '<svg onload="window.__pwned=2">'
const EVIL_CALLER = '<img src=y onerror="window.__pwned=3">'
const EVIL_ARG = '<iframe src="javascript:window.__pwned=4"></iframe>'
const EVIL_FOLDER = '<script>window.__pwned=5<'
const EVIL_FILE = 'script>.txt'
const EVIL_TEXT = '<img src=z onerror="window.__pwned=6">\n</pre><script>window.__pwned=7</script>\n'
const HOSTILE = `const fs = System.files
exports[${JSON.stringify(EVIL_METHOD)}] = async (arg) => {
  await fs.writeFile(${JSON.stringify(`/${EVIL_FOLDER}/${EVIL_FILE}`)}, ${JSON.stringify(EVIL_TEXT)} + arg)
  return { '<b onmouseover="window.__pwned=8">key</b>': arg }
}
exports[${JSON.stringify(EVIL_THROW)}] = () => { const e = new Error('<img src=w onerror="window.__pwned=9">'); e.name = '<i>Evil</i>'; throw e }
`

/** Nothing the log injected exists or ran. */
async function assertClean (page: Page, errors: () => string[]): Promise<void> {
  assert.is(await page.evaluate('window.__pwned'), undefined, 'no injected script ran')
  assert.is(await page.locator('img, iframe, svg, b, i, body script:not([src])').count(), 0, 'no injected element exists')
  assert.equal(errors(), [], 'no console errors (a CSP violation would be one) and no uncaught exceptions')
}

await runBrowserSuite('hostile logs in the browser', [
  {
    name: 'the explorer shows a hostile log as text and runs none of it',
    run: async (browser, hosts) => {
      const dir = await tempDir('nodevms-explore-hostile-')
      const served = await hosts.start(join(dir, 'host'), HOSTILE, '<script>window.__pwned=10</script>.js')
      await served.host.call(EVIL_METHOD, [EVIL_ARG])
      await served.host.call(EVIL_METHOD, [EVIL_ARG], { caller: EVIL_CALLER, auth: { debug: true } })
      await served.host.call(EVIL_THROW, [])
      const explore = await spawnExplore([served.address])
      const { page, errors } = await explorerPage(browser, explore.url)
      await waitVerdict(page, 'ok')
      assert.is(await page.textContent('[data-entry="1"] .c-method'), EVIL_METHOD, 'the method name, as text')
      assert.is(await page.getAttribute('[data-entry="2"] .c-caller', 'title'), EVIL_CALLER, 'the debug caller name, as text')
      assert.match(await page.textContent('[data-entry="3"] .c-outcome') ?? '', '<i>Evil</i>: <img src=w', 'the error, as text')
      assert.match(await page.textContent('#facts') ?? '', '<script>window.__pwned=10</script>.js', 'the script file name, as text')
      for (let i = 3; i >= 1; i--) await showEntry(page, i)
      const detail = await page.textContent('#entry-panel') ?? ''
      assert.match(detail, JSON.stringify(EVIL_ARG), 'the argument, as text (in JSON)')
      assert.match(detail, '<b onmouseover=', 'the result, as text')
      assert.match(detail, `/${EVIL_FOLDER}/${EVIL_FILE}`, 'the file name, as text')
      assert.match(await page.textContent('.diff') ?? '', '+ </pre><script>window.__pwned=7</script>', 'the file content, as text')
      await page.click('text=Browse the files as this entry left them')
      await page.waitForSelector('#files-panel .version-row:has-text("as entry 1 left them") ~ .listing')
      await page.click(`#files-panel button.folder:text-is(${JSON.stringify(EVIL_FOLDER)})`)
      await page.click(`#files-panel button.file:text-is(${JSON.stringify(EVIL_FILE)})`) // waits for the folder's listing
      await page.waitForSelector('#files-panel .file-view pre')
      assert.match(await page.textContent('#files-panel .file-view pre') ?? '', '<img src=z onerror=', 'the file, as text')
      await showEntry(page, 2)
      console.log(`screenshot: ${await screenshot(page, screenshotDir(dir), 'explore-hostile')}`)
      await assertClean(page, errors)
      await page.context().close()
      await explore.stop()
    }
  },
  {
    name: 'the host\'s status page shows hostile method names as text, with the exact verify and explore commands',
    run: async (browser) => {
      const dir = await tempDir('nodevms-status-hostile-')
      const script = join(dir, 'hostile.js')
      await writeFile(script, HOSTILE)
      const exec = await spawnCli(['exec', script, '--port', '0', '--dir', join(dir, 'host')])
      const { page, errors } = await watchedPage(browser)
      await page.goto(`http://127.0.0.1:${exec.port}/`)
      assert.is(await page.textContent('h1'), 'nodevms host')
      assert.equal((await page.locator('li code').allTextContents()).sort(), [EVIL_METHOD, EVIL_THROW].sort(), 'the methods, as text')
      const commands = await page.locator('pre').allTextContents()
      assert.equal(commands, [
        `nodevms verify 127.0.0.1:${exec.port} --log dat://${exec.logKey}`,
        `nodevms explore 127.0.0.1:${exec.port} --log dat://${exec.logKey}`
      ], 'the exact commands for this host')
      const text = await page.textContent('body') ?? ''
      assert.match(text, `dat://${exec.filesKey}`, 'the files key')
      assert.match(text, /Log length\s*1 entry\b/, 'the log length')
      assert.match(text, /Files version\s*1\b/, 'the files version')
      console.log(`screenshot: ${await screenshot(page, screenshotDir(dir), 'status-page')}`)
      await assertClean(page, errors)
      await page.context().close()
      assert.is((await exec.stop()).code, 0)
    }
  }
])
