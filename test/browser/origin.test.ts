// The origin policy (CONTRACT §8) as a browser meets it: a page from an origin the host does not allow is
// refused (403, so the page's connect fails and nothing runs), an allowed one calls; under --debug, only
// pages on localhost and 127.0.0.1 may connect, so a web site cannot log in as a debug user.
// The "other site" is a page on 127.0.0.2: another origin, still on loopback. (A page on a public origin,
// served inside Chromium, never reaches the host at all: Chromium 156's Local Network Access checks block
// it first, with net::ERR_BLOCKED_BY_LOCAL_NETWORK_ACCESS_CHECKS. Other browsers, and hosts on a LAN
// address a user has allowed, rely on the host's policy; test/host/rpc covers any Origin header.)
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { connect } from '../../client/node.js'
import { spawnCli, stopAll, tempDir, type ServingCli } from '../cli/helpers.js'
import { screenshot, withChromium } from './chromium.js'
import { CLIENT_PAGE, DIST_BROWSER, openClientPage, serveClientPages, type BrowserClient } from './client-page.js'
import { serveStatic, type StaticServer } from './static-server.js'

const SCRIPT = 'var i = 0\nexports.increment = function () { return ++i }\nexports.whoami = function () { return System.caller.id }\n'

interface Outcome { ok: boolean, value?: unknown, code?: string, message?: string }

/** Connects from the page (as `user`, if given) and calls `method`; the page's view of what happened. */
function callFromPage (page: Page, url: string, method: string, user?: string): Promise<Outcome> {
  return page.evaluate(async ({ url, method, user }) => {
    const { nodevms } = globalThis as unknown as { nodevms: BrowserClient }
    try {
      const client = await nodevms.connect(url, user === undefined ? {} : { user })
      const value = await client.call(method)
      await client.close()
      return { ok: true, value }
    } catch (e) {
      const err = e as Error & { code?: string }
      return { ok: false, code: err.code, message: err.message }
    }
  }, { url, method, user })
}

/** The host's log length, asked by a program (no Origin header, so never refused). */
async function logLength (host: ServingCli): Promise<unknown> {
  const client = await connect(`127.0.0.1:${host.port}`)
  const length = client.info.callLogLength
  await client.close()
  return length
}

await withChromium('origin policy in a browser (needs Chromium)', (browser) => {
  let pages: StaticServer   // http://127.0.0.1:P
  let other: StaticServer   // http://127.0.0.2:Q, another origin
  let dir: string
  let listed: ServingCli    // --allow-origin http://127.0.0.2:Q
  let debug: ServingCli     // --debug, the default policy
  test.before(async () => {
    dir = await tempDir('nodevms-web-origin-')
    const script = join(dir, 'app.js')
    await writeFile(script, SCRIPT)
    pages = await serveClientPages()
    other = await serveStatic({ root: DIST_BROWSER, routes: { '/': CLIENT_PAGE, '/favicon.ico': '' }, host: '127.0.0.2' })
    listed = await spawnCli(['exec', script, '--port', '0', '--dir', join(dir, 'listed'), '--allow-origin', other.origin])
    debug = await spawnCli(['exec', script, '--port', '0', '--dir', join(dir, 'debug'), '--debug'])
  })
  test.after(async () => {
    await pages.close()
    await other.close()
    await stopAll()
  })

  test('--allow-origin: a page from another origin is refused with 403 and runs nothing; a listed one calls', async () => {
    const before = await logLength(listed)
    const { page, errors } = await openClientPage(browser, pages.url)
    const refused = await callFromPage(page, `ws://127.0.0.1:${listed.port}`, 'increment')
    assert.is(refused.ok, false, 'the page on 127.0.0.1 is not listed')
    assert.is(refused.code, 'CONNECTION_FAILED')
    assert.match(refused.message!, '--allow-origin', 'the page is told where to look')
    await screenshot(page, join(dir, 'screenshots'), 'refused-origin')
    const seen = errors()
    assert.is(seen.length, 1, `one console error, the refused upgrade: ${seen.join(' | ')}`)
    assert.match(seen[0], /WebSocket connection to 'ws:\/\/127\.0\.0\.1:\d+\/' failed: .*403/, 'the browser shows the 403')
    assert.is(await logLength(listed), before, 'nothing was logged')
    await page.context().close()

    const app = await openClientPage(browser, other.url)
    const allowed = await callFromPage(app.page, `ws://127.0.0.1:${listed.port}`, 'increment')
    assert.equal(allowed, { ok: true, value: 1 }, `the listed origin ${other.origin} calls`)
    assert.equal(app.errors(), [], 'no console errors on the listed page')
    await app.page.context().close()
  })

  test('--debug: pages on 127.0.0.1 and localhost may log in by name; another site may not', async () => {
    const local = await openClientPage(browser, pages.url)
    assert.equal(await callFromPage(local.page, `ws://127.0.0.1:${debug.port}`, 'whoami', 'alice'), { ok: true, value: 'alice' })
    assert.equal(local.errors(), [])
    await local.page.context().close()

    const named = await openClientPage(browser, pages.url.replace('127.0.0.1', 'localhost'))
    assert.equal(await callFromPage(named.page, `ws://127.0.0.1:${debug.port}`, 'whoami', 'bob'), { ok: true, value: 'bob' })
    assert.equal(named.errors(), [])
    await named.page.context().close()

    const before = await logLength(debug)
    const evil = await openClientPage(browser, other.url)
    const refused = await callFromPage(evil.page, `ws://localhost:${debug.port}`, 'whoami', 'admin')
    assert.is(refused.ok, false, 'a web site cannot call as the debug user admin')
    assert.is(refused.code, 'CONNECTION_FAILED')
    const seen = evil.errors()
    assert.ok(seen.length >= 1 && seen.every((e) => /WebSocket connection to .* failed: .*403/.test(e)), `only the refused upgrade: ${seen.join(' | ')}`)
    assert.is(await logLength(debug), before, 'nothing ran as admin')
    await evil.page.context().close()
  })

  test('--debug: a page naming itself with a public key\'s shape is refused (400), so it cannot pass for that key', async () => {
    const { page, errors } = await openClientPage(browser, pages.url)
    const key = 'AB'.repeat(32)
    const refused = await callFromPage(page, `ws://127.0.0.1:${debug.port}`, 'whoami', key)
    assert.is(refused.ok, false)
    const seen = errors()
    assert.is(seen.length, 1, `one console error: ${seen.join(' | ')}`)
    assert.match(seen[0], /failed: .*400/, 'the browser shows the 400')
    await page.context().close()
  })
})

test.run()
