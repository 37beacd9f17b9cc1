// The browser harness itself: Debian's Chromium starts, loads a page from 127.0.0.1, runs its script, and
// the harness records console errors and uncaught exceptions (which every browser test fails on).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { screenshot, watchedPage, withChromium } from './chromium.js'
import { serveStatic } from './static-server.js'

const PAGE = `<!doctype html><title>harness</title><h1 id="out">loading</h1>
<script type="module">
document.getElementById('out').textContent = 'ran ' + (6 * 7)
console.error('a console error the harness must see')
setTimeout(() => { throw new Error('an uncaught error the harness must see') })
</script>`

await withChromium('Chromium loads a page, runs it, and the harness sees its errors', (browser) => {
  test('Chromium loads a page, runs it, and the harness sees its errors', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nodevms-browser-'))
    const server = await serveStatic({ routes: { '/': PAGE } })
    try {
      const { page, errors } = await watchedPage(browser)
      await page.goto(server.url)
      await page.waitForFunction("document.getElementById('out')?.textContent === 'ran 42'")
      await new Promise((resolve) => setTimeout(resolve, 100))
      const seen = errors()
      assert.ok(seen.some((e) => e.includes('a console error the harness must see')), `console error recorded: ${seen.join(' | ')}`)
      assert.ok(seen.some((e) => e.includes('an uncaught error the harness must see')), `uncaught error recorded: ${seen.join(' | ')}`)
      const shot = await screenshot(page, dir, 'harness')
      assert.ok((await stat(shot)).size > 1000, 'a real screenshot was written')
      await page.context().close()
    } finally {
      await server.close()
      await rm(dir, { recursive: true, force: true })
    }
  })
})
test.run()
