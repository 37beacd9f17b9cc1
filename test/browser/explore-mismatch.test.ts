// nodevms explore against a host that lies, in a real browser: files changed outside the log make the
// verdict mismatch, with the entry (or the end of the log) and the path shown as verify reports them.
import * as assert from 'uvu/assert'
import { join } from 'node:path'
import { spawnExplore, tempDir } from '../cli/helpers.js'
import { PERSISTENT_COUNTER } from '../helpers.js'
import { screenshot } from './chromium.js'
import { explorerPage, runBrowserSuite, screenshotDir, showEntry, waitVerdict } from './explore-fixture.js'

await runBrowserSuite('nodevms explore shows a lying host', [
  {
    name: 'files changed outside the log after the last call: the verdict is mismatch, after the last entry, naming the path',
    run: async (browser, hosts) => {
      const dir = await tempDir('nodevms-explore-lying-')
      const served = await hosts.start(join(dir, 'host'), PERSISTENT_COUNTER)
      for (let n = 0; n < 5; n++) await served.host.call('increment')
      await served.host.drive.put('/backdoor', Buffer.from('let me in'))
      const explore = await spawnExplore([served.address])
      const { page, errors } = await explorerPage(browser, explore.url)
      await waitVerdict(page, 'mismatch')
      const banner = await page.textContent('#mismatch') ?? ''
      assert.match(banner, 'MISMATCH at the files archive, after the last entry (6 entries replayed)')
      assert.match(banner, 'files.unlogged', 'the field, as verify names it')
      assert.match(banner, '/backdoor', 'the path')
      assert.match(banner, '"let me in"', 'what the archive holds there')
      assert.is(await page.locator('[data-status="mismatch"]').count(), 0, 'no entry is wrong: the archive is')
      console.log(`screenshot: ${await screenshot(page, screenshotDir(dir), 'explore-mismatch-end')}`)
      assert.equal(errors(), [], 'no console errors or uncaught exceptions')
      await page.context().close()
      assert.is((await explore.stop()).code, 1, 'explore stopped after a mismatch exits 1, as verify would')
    }
  },
  {
    name: 'files changed outside the log, then a restart: the restart entry is red, with the field, expected, found and the path',
    run: async (browser, hosts) => {
      const dir = await tempDir('nodevms-explore-lying-')
      const hostDir = join(dir, 'host')
      let served = await hosts.start(hostDir, PERSISTENT_COUNTER)
      for (let n = 0; n < 5; n++) await served.host.call('increment')
      await served.host.drive.put('/backdoor', Buffer.from('let me in'))
      await served.close()
      served = await hosts.start(hostDir, PERSISTENT_COUNTER) // logs a restart over the changed files
      for (let n = 0; n < 3; n++) await served.host.call('increment')
      const explore = await spawnExplore([served.address])
      const { page, errors } = await explorerPage(browser, explore.url)
      await waitVerdict(page, 'mismatch')
      const banner = await page.textContent('#mismatch') ?? ''
      assert.match(banner, 'MISMATCH at entry 6 (restart)')
      assert.match(banner, '/backdoor')
      await page.click('#mismatch button:text("show entry 6")')
      await page.waitForSelector('[data-entry="6"][data-status="mismatch"].selected')
      await page.waitForSelector('#entry-panel .diverged')
      const detail = await page.textContent('#entry-panel') ?? ''
      assert.match(detail, 'Mismatch at this entry')
      assert.match(detail, 'fieldfiles.unlogged')
      assert.match(detail, 'expectedfiles version 6, where the log leaves the archive')
      assert.match(detail, 'foundfiles version 7: 1 change(s) not in the log')
      assert.match(detail, 'paths/backdoor')
      const colour = await page.evaluate('getComputedStyle(document.querySelector(\'[data-entry="6"]\')).color')
      assert.is(colour, 'rgb(198, 40, 40)', 'the entry is in red')
      for (const later of [7, 9]) {
        await showEntry(page, later)
        assert.is(await page.getAttribute(`[data-entry="${later}"]`, 'data-status'), 'pending', `entry ${later}, after the mismatch, is not verified`)
      }
      await showEntry(page, 6)
      console.log(`screenshot: ${await screenshot(page, screenshotDir(dir), 'explore-mismatch-entry')}`)
      assert.equal(errors(), [], 'no console errors or uncaught exceptions')
      await page.context().close()
      await explore.stop()
    }
  }
])
