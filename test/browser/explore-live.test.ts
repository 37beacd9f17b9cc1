// nodevms explore against a real `nodevms exec` child, in a real browser: a few hundred entries from three
// kinds of caller, a restart, every entry verified, a call made afterwards shown within seconds, an entry's
// file diff, and the files archive browsed at that entry's version.
import * as assert from 'uvu/assert'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { connect, generateIdentity, type Client } from '../../client/node.js'
import { spawnCli, spawnExplore, tempDir } from '../cli/helpers.js'
import { screenshot } from './chromium.js'
import { DEMO_SCRIPT, demoCall, explorerPage, runBrowserSuite, screenshotDir, showEntry, timelineStatuses, waitVerdict } from './explore-fixture.js'

/** Makes `n` calls, round-robin over the clients, from call number `from` on. */
async function workload (clients: Client[], from: number, n: number): Promise<void> {
  for (let k = from; k < from + n; k++) {
    const [method, args] = demoCall(k)
    await clients[k % clients.length].call(method, ...args).catch(() => {}) // 'fail' is meant to fail
  }
}

async function connectAll (port: number): Promise<Client[]> {
  const url = `127.0.0.1:${port}`
  return [await connect(url), await connect(url, { user: 'alice' }), await connect(url, { identity: generateIdentity() })]
}

await runBrowserSuite('nodevms explore in a browser', [{
  name: 'explore follows a real host: every entry ok, a new call appears, an entry shows its diff, the files browse',
  run: async (browser) => {
    const dir = await tempDir('nodevms-explore-live-')
    const shots = screenshotDir(dir)
    const script = join(dir, 'demo.js')
    await writeFile(script, DEMO_SCRIPT)
    const hostDir = join(dir, 'host')
    // 150 calls, a restart, 150 more: anonymous, debug-named and signed callers.
    let exec = await spawnCli(['exec', script, '--port', '0', '--dir', hostDir, '--debug'])
    let clients = await connectAll(exec.port)
    await workload(clients, 0, 150)
    for (const c of clients) await c.close()
    assert.is((await exec.stop()).code, 0, 'the host stops cleanly')
    exec = await spawnCli(['exec', script, '--port', '0', '--dir', hostDir, '--debug'])
    clients = await connectAll(exec.port)
    await workload(clients, 150, 150)
    const entries = 1 + 150 + 1 + 150

    const explore = await spawnExplore([`127.0.0.1:${exec.port}`])
    assert.match(explore.url, /^http:\/\/127\.0\.0\.1:\d+\/$/, 'the page is on 127.0.0.1')
    const { page, errors } = await explorerPage(browser, explore.url)
    await waitVerdict(page, 'ok')
    const statuses = await timelineStatuses(page)
    assert.is(statuses.size, entries, `one row per entry (${statuses.size} of ${entries})`)
    const notOk = [...statuses].filter(([, s]) => s !== 'ok')
    assert.equal(notOk, [], 'every entry shows data-status="ok"')
    for (let i = 0; i < entries; i++) assert.ok(statuses.has(i), `entry ${i} was rendered`)
    assert.match(await page.textContent('#facts') ?? '', 'demo.js', 'the header names the script')
    assert.match(await page.textContent('#facts') ?? '', exec.logKey, 'and the log key')
    console.log(`screenshot: ${await screenshot(page, shots, 'explore-verified')}`)

    // A call made now appears within seconds, verified (the timeline follows the newest entry).
    const madeAt = Date.now()
    await clients[0].call('note', 'diary', 'written after the page opened')
    await page.waitForSelector(`[data-entry="${entries}"][data-status="ok"]`, { timeout: 10_000 })
    console.log(`the new call showed as ok after ${Date.now() - madeAt} ms`)
    await waitVerdict(page, 'ok')

    // Its detail: the file diff of /notes/diary, the line added, the lines before it kept.
    await page.click(`[data-entry="${entries}"]`)
    const diff = `.file-change[data-path="/notes/diary"] .diff`
    await page.waitForSelector(`${diff} .add`, { timeout: 10_000 })
    assert.is((await page.textContent(`${diff} .add`))?.trim(), '+ written after the page opened', 'the added line')
    assert.ok(await page.$(`${diff} .ctx`) !== null, 'with unchanged lines around it')
    assert.match(await page.textContent('#entry-panel') ?? '', /state root[0-9a-f]{64}/, 'and the state root')
    console.log(`screenshot: ${await screenshot(page, shots, 'explore-diff')}`)

    // A binary change shows sizes and hashes; a signed caller is marked as one.
    await showEntry(page, 9) // demoCall(8): the first upload of blob2, by the signed client (8 % 3 === 2)
    assert.match(await page.textContent('#entry-panel') ?? '', /binary: before no file; after 5 bytes, sha256 [0-9a-f]{8}/)
    assert.ok(await page.$('#entry-panel .caller-signed') !== null, 'a signed caller')
    await showEntry(page, 152) // the first call after the restart: anonymous
    await showEntry(page, 151)
    assert.match(await page.textContent('#entry-panel h2') ?? '', 'restart', 'the restart entry')

    // The files archive as entry 151 left it, then a file in it.
    await page.click('text=Browse the files as this entry left them')
    await page.waitForSelector('#files-panel .version-row:has-text("as entry 151 left them") ~ .listing')
    await page.click('#files-panel button.folder:text("notes")')
    await page.waitForSelector('#files-panel .crumbs:has-text("notes")')
    await page.click('#files-panel button.file:text("diary")')
    await page.waitForSelector('#files-panel .file-view pre')
    const diary = await page.textContent('#files-panel .file-view pre') ?? ''
    assert.match(diary, 'line 145: the quick brown fox', 'the notes as they were at the restart')
    assert.not.match(diary, 'line 150:', 'not the later ones')
    console.log(`screenshot: ${await screenshot(page, shots, 'explore-files')}`)

    assert.equal(errors(), [], 'no console errors or uncaught exceptions')
    await page.context().close()
    for (const c of clients) await c.close()
    assert.is((await explore.stop('SIGINT')).code, 0, 'explore closes cleanly on SIGINT')
    assert.is((await exec.stop()).code, 0)
  }
}])
