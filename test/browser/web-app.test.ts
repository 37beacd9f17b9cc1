// A web app in a real browser: the README's page, served from 127.0.0.1, loads the prebuilt
// dist/browser/nodevms-client.js, talks to a real `nodevms exec` child and signs its calls with a key it
// keeps; the host checks them, and `nodevms verify` proves the log afterwards. Any console error fails.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { connect, identityFromJson, signCall } from '../../client/node.js'
import { runCli, spawnCli, stopAll, tempDir, type ServingCli } from '../cli/helpers.js'
import { openRawSocket, req } from '../raw-socket.js'
import { screenshot, watchedPage, withChromium } from './chromium.js'
import { openClientPage, recordFrames, serveClientPages, type BrowserClient } from './client-page.js'
import type { StaticServer } from './static-server.js'

const ROOT = new URL('../../../', import.meta.url)

/** The complete page the README shows, verbatim, with the port of the host under test. */
function readmePage (port: number): string {
  const readme = readFileSync(new URL('README.md', ROOT), 'utf8')
  const block = /```html\n([\s\S]*?)```/.exec(readme)
  assert.ok(block !== null, 'the README shows a page')
  assert.match(block![1], "connect('localhost:5555'", 'the README page connects to localhost:5555')
  return block![1].replace("'localhost:5555'", `'localhost:${port}'`)
}

const SCRIPT = `// web-app.js: a counter kept in the files, who is calling, and a script error
exports.increment = async function () {
  let i = 0
  try { i = await System.files.readFile('/count', 'json') } catch (e) {}
  await System.files.writeFile('/count', ++i)
  return i
}
exports.whoami = function () { return System.caller.id }
class WidgetError extends Error { constructor (m) { super(m); this.name = 'WidgetError' } }
exports.fail = function (n) { throw new WidgetError('no widget number ' + n) }
`

interface PageGlobals { nodevms: BrowserClient }
const SAVED_IDENTITY = "localStorage.getItem('nodevms-identity')"
const countIs = (n: number) => `document.getElementById('count').value === '${n}'`

await withChromium('web app tests (need Chromium)', (browser) => {
  let host: ServingCli
  let pages: StaticServer
  let dir: string
  test.before(async () => {
    dir = await tempDir('nodevms-web-')
    await writeFile(join(dir, 'web-app.js'), SCRIPT)
    host = await spawnCli(['exec', join(dir, 'web-app.js'), '--port', '0', '--dir', join(dir, 'host')])
    pages = await serveClientPages()
  })
  test.after(async () => {
    await pages.close()
    await stopAll()
  })

  test("the README's page: counts 1, 2, 3 with signed calls, and keeps its identity across a reload", async () => {
    const readme = await serveClientPages({ '/': readmePage(host.port) })
    try {
      const { page, errors } = await openClientPageAt(readme.url)
      for (const expected of [1, 2, 3]) {
        await page.click('#increment')
        await page.waitForFunction(countIs(expected))
      }
      assert.is(await page.locator('#count').textContent(), '3', 'the page shows 3')
      const shot = await screenshot(page, join(dir, 'screenshots'), 'readme-counter')
      process.stdout.write(`screenshot: ${shot}\n`)
      const saved = await page.evaluate(SAVED_IDENTITY) as string | null
      assert.ok(saved !== null, 'the page kept its identity')
      const identity = identityFromJson(saved)
      await page.reload()
      await page.waitForSelector('#increment:not([disabled])')
      await page.click('#increment')
      await page.waitForFunction(countIs(4))
      assert.is(await page.evaluate(SAVED_IDENTITY), saved, 'the reloaded page signs with the same key')
      // The calls were signed by that key: the host logged them as its calls (verify checks each signature below).
      const node = await connect(`127.0.0.1:${host.port}`, { identity })
      assert.is(await node.whoami(), Buffer.from(identity.publicKey).toString('hex'), 'the page\'s key, exported as JSON, signs from Node too')
      await node.close()
      assert.equal(errors(), [], 'no console errors on the page')
      await page.context().close()
    } finally {
      await readme.close()
    }
  })

  test('a page signs calls with its own key: System.caller.id is its public key; script errors and events as in Node', async () => {
    const { page, errors } = await openClientPageAt(pages.url)
    const url = `ws://127.0.0.1:${host.port}`
    const out = await page.evaluate(async (url) => {
      const { nodevms } = globalThis as unknown as PageGlobals
      const identity = nodevms.generateIdentity()
      const events: string[] = []
      const client = new nodevms.RPCClient()
      client.on('open', () => events.push('open'))
      client.on('close', () => events.push('close'))
      await client.connect(url, { identity: nodevms.identityToJson(identity) })
      const caller = await client.call('whoami')
      let error: Record<string, unknown> = {}
      try {
        await client.call('fail', 7)
      } catch (err) {
        const e = err as Error & { code?: unknown }
        error = { isRpcError: err instanceof nodevms.RpcError, name: e.name, message: e.message, code: e.code }
      }
      const methods = client.methods
      await client.close()
      return { caller, id: nodevms.identityId(identity), error, events, methods, pubkey: client.pubkey }
    }, url)
    assert.is(out.caller, out.id, 'System.caller.id is the page\'s public key')
    assert.match(String(out.caller), /^[0-9a-f]{64}$/)
    assert.is(out.pubkey, out.id)
    assert.equal(out.error, { isRpcError: true, name: 'WidgetError', message: 'no widget number 7', code: -32000 }, 'a script error keeps its name and message')
    assert.equal(out.events, ['open', 'close'], 'open and close events')
    assert.equal(out.methods, ['increment', 'whoami', 'fail'])
    assert.equal(errors(), [], 'no console errors on the page')
    await page.context().close()
  })

  test('a stale counter is re-signed above the host\'s last one, in the page as in Node', async () => {
    const { page, errors } = await openClientPageAt(pages.url)
    const frames = recordFrames(page)
    const json = await page.evaluate(() => {
      const { nodevms } = globalThis as unknown as PageGlobals
      return JSON.stringify(nodevms.identityToJson(nodevms.generateIdentity()))
    })
    // Another client with the same key used a counter an hour ahead of the page's clock.
    const identity = identityFromJson(json)
    const ahead = Date.now() * 1000 + 3_600_000_000
    const auth = signCall(identity, host.logKey, 'whoami', [], ahead)
    const sock = await openRawSocket(`ws://127.0.0.1:${host.port}`)
    sock.send({ ...req(1, 'whoami', []), auth })
    assert.equal(((await sock.next()) as { result: unknown }).result, auth.pubkey, 'the signed call from elsewhere ran')
    await sock.close()

    const caller = await page.evaluate(async ({ url, json }) => {
      const { nodevms } = globalThis as unknown as PageGlobals
      const client = await nodevms.connect(url, { identity: JSON.parse(json) })
      const id = await client.call('whoami')
      await client.close()
      return id
    }, { url: `ws://127.0.0.1:${host.port}`, json })
    assert.is(caller, auth.pubkey, 'the page\'s call ran, signed by its key')
    const stale = frames.received.filter((f) => f.includes('-32002'))
    assert.is(stale.length, 1, `the host refused the page's first counter once (-32002): ${frames.received.join(' | ')}`)
    const counters = frames.sent.filter((f) => f.includes('"auth"')).map((f) => (JSON.parse(f) as { auth: { counter: number } }).auth.counter)
    assert.is(counters.length, 2, 'the page sent the call twice')
    assert.ok(counters[0] <= ahead && counters[1] > ahead, `re-signed above the host's last counter: ${counters.join(', ')} vs ${ahead}`)
    assert.equal(errors(), [], 'no console errors on the page')
    await page.context().close()
  })

  test('nodevms verify passes afterwards, every caller proven by its signature', async () => {
    const result = await runCli(['verify', `127.0.0.1:${host.port}`, '--json'], { timeoutMs: 60_000 })
    assert.is(result.code, 0, `verify passes: ${result.stdout} ${result.stderr}`)
    const report = JSON.parse(result.stdout) as { ok: boolean, calls: number, unsignedCallers: { calls: number } }
    assert.ok(report.ok)
    // README page 4 increments + Node 1, then whoami and fail, then 1 raw + 1 page whoami (the refused one is not logged).
    assert.is(report.calls, 9, 'every call that ran is in the log')
    assert.is(report.unsignedCallers.calls, 0, 'no caller is the host\'s word')
  })

  /** A watched page on `url`: the client test page, or the README page (which loads the client itself). */
  async function openClientPageAt (url: string) {
    if (url === pages.url) return await openClientPage(browser, url)
    const watched = await watchedPage(browser)
    await watched.page.goto(url)
    await watched.page.waitForSelector('#increment:not([disabled])')
    return watched
  }
})

test.run()
