// What goes wrong in a page goes wrong as in Node: a host that stops answering gives CALL_TIMEOUT, a host
// that dies gives CONNECTION_CLOSED for the calls pending on it (and a 'close' event), and a malformed
// identity is refused with a ClientError before the page opens any socket. Real Chromium, real host.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { connect } from '../../client/node.js'
import { spawnCli, stopAll, tempDir, type ServingCli } from '../cli/helpers.js'
import { screenshot, withChromium } from './chromium.js'
import { openClientPage, serveClientPages, type BrowserClient } from './client-page.js'
import type { StaticServer } from './static-server.js'

interface PageGlobals { nodevms: BrowserClient, pending?: Promise<unknown>, closes?: number }

const SCRIPT = 'var i = 0\nexports.increment = function () { return ++i }\n'

await withChromium('bad input in a page (needs Chromium)', (browser) => {
  let pages: StaticServer
  let dir: string
  let host: ServingCli // the last test kills it
  test.before(async () => {
    dir = await tempDir('nodevms-web-bad-')
    await writeFile(join(dir, 'counter.js'), SCRIPT)
    host = await spawnCli(['exec', join(dir, 'counter.js'), '--port', '0', '--dir', join(dir, 'host')])
    pages = await serveClientPages()
  })
  test.after(async () => {
    await pages.close()
    await stopAll()
  })

  test('a malformed identity is refused with IDENTITY_CORRUPT before the page opens any socket', async () => {
    const { page, errors } = await openClientPage(browser, pages.url)
    const results = await page.evaluate(async (url) => {
      const g = globalThis as unknown as PageGlobals & { WebSocket: new (url: string) => object }
      let sockets = 0
      const Real = g.WebSocket
      g.WebSocket = class extends (Real as new (url: string) => object) { constructor (u: string) { super(u); sockets++ } }
      const { nodevms } = g
      const good = nodevms.identityToJson(nodevms.generateIdentity())
      const other = nodevms.identityToJson(nodevms.generateIdentity())
      const bad: Record<string, unknown> = {
        'short publicKey': { ...good, publicKey: good.publicKey.slice(2) },
        'long secretKey': { ...good, secretKey: good.secretKey + '00' },
        'not hex': { ...good, publicKey: 'zz' + good.publicKey.slice(2) },
        'uppercase hex': { ...good, publicKey: good.publicKey.toUpperCase() },
        'mismatched pair': { publicKey: good.publicKey, secretKey: other.secretKey },
        'bytes of the wrong length': { publicKey: new Uint8Array(31), secretKey: new Uint8Array(64) },
        'not an identity': 'alice',
        'missing secretKey': { publicKey: good.publicKey }
      }
      const out: Record<string, { connect: unknown, fromJson: unknown }> = {}
      const describe = (e: unknown) => {
        const err = e as Error & { code?: string }
        return { isClientError: err instanceof nodevms.ClientError, code: err.code, message: err.message }
      }
      for (const [what, identity] of Object.entries(bad)) {
        const viaConnect = await nodevms.connect(url, { identity: identity as never }).then(() => 'connected', describe)
        let viaJson: unknown = 'accepted'
        try { nodevms.identityFromJson(identity) } catch (e) { viaJson = describe(e) }
        out[what] = { connect: viaConnect, fromJson: what === 'bytes of the wrong length' ? null : viaJson }
      }
      return { out, sockets, secret: good.secretKey }
    }, `ws://127.0.0.1:${host.port}`)
    for (const [what, r] of Object.entries(results.out)) {
      for (const [how, e] of Object.entries(r)) {
        if (e === null) continue
        const err = e as { isClientError: boolean, code: string, message: string }
        assert.ok(err.isClientError, `${what} via ${how}: a ClientError (${JSON.stringify(err)})`)
        assert.is(err.code, 'IDENTITY_CORRUPT', `${what} via ${how}`)
        assert.match(err.message, 'is not a nodevms identity', `${what} via ${how} says so`)
        assert.not.match(err.message, results.secret.slice(0, 64), `${what} via ${how} never echoes the secret key`)
      }
    }
    const messages = Object.fromEntries(Object.entries(results.out).map(([what, r]) => [what, (r.connect as { message: string }).message]))
    assert.match(messages['short publicKey'], '"publicKey" must be 64 hex characters (32 bytes), got 62')
    assert.match(messages['long secretKey'], '"secretKey" must be 128 hex characters (64 bytes), got 130')
    assert.match(messages['not hex'], '"publicKey" must be lowercase hex')
    assert.match(messages['uppercase hex'], '"publicKey" must be lowercase hex')
    assert.match(messages['mismatched pair'], 'its secret key does not match its public key')
    assert.match(messages['bytes of the wrong length'], '"publicKey" must be 32 bytes, got 31')
    assert.is(results.sockets, 0, 'no socket was opened, so no call was sent')
    const node = await connect(`127.0.0.1:${host.port}`)
    assert.is(node.info.callLogLength, 1, 'the log holds its init entry only: nothing was called')
    await node.close()
    await screenshot(page, join(dir, 'screenshots'), 'bad-identity')
    assert.equal(errors(), [], 'no console errors on the page')
    await page.context().close()
  })

  test('a host that stops answering: CALL_TIMEOUT; a host that dies: CONNECTION_CLOSED for the pending call, and close', async () => {
    const { page, errors } = await openClientPage(browser, pages.url)
    const url = `ws://127.0.0.1:${host.port}`
    assert.is(await page.evaluate(async (url) => {
      const g = globalThis as unknown as PageGlobals
      const client = await g.nodevms.connect(url, { timeout: 1500 })
      ;(g as unknown as { client: unknown }).client = client
      g.closes = 0
      client.on('close', () => { g.closes!++ })
      return await client.call('increment')
    }, url), 1, 'the page called the host (the identity test before called nothing)')

    host.child.kill('SIGSTOP') // the host is still there, but says nothing
    try {
      const timedOut = await page.evaluate(async () => {
        const client = (globalThis as unknown as { client: { call (m: string): Promise<unknown> } }).client
        const started = Date.now()
        const err = await client.call('increment').then(() => null, (e: Error & { code?: string }) => ({ name: e.name, code: e.code, message: e.message }))
        return { err, ms: Date.now() - started }
      })
      assert.is(timedOut.err?.code, 'CALL_TIMEOUT', `a call with no reply times out: ${JSON.stringify(timedOut.err)}`)
      assert.is(timedOut.err?.name, 'ClientError')
      assert.match(timedOut.err!.message, 'increment() on ws://127.0.0.1')
      assert.match(timedOut.err!.message, '1500 ms')
      assert.ok(timedOut.ms >= 1400, `after the timeout (${timedOut.ms} ms)`)

      await page.evaluate(() => {
        const g = globalThis as unknown as PageGlobals & { client: { call (m: string): Promise<unknown> } }
        g.pending = g.client.call('increment').then(() => null, (e: Error & { code?: string }) => ({ name: e.name, code: e.code, message: e.message }))
      })
    } finally {
      host.child.kill('SIGKILL') // the socket drops while the second call is pending
    }
    await host.exited
    const closed = await page.evaluate(async () => {
      const g = globalThis as unknown as PageGlobals
      return { err: await g.pending as { name: string, code: string, message: string }, closes: g.closes }
    })
    assert.is(closed.err.code, 'CONNECTION_CLOSED', `the pending call fails as the socket drops: ${JSON.stringify(closed.err)}`)
    assert.match(closed.err.message, 'increment()')
    assert.match(closed.err.message, 'may or may not have run')
    assert.is(closed.closes, 1, 'the client emitted close once')
    const later = await page.evaluate(async () => {
      const client = (globalThis as unknown as { client: { call (m: string): Promise<unknown> } }).client
      return await client.call('increment').then(() => null, (e: { code?: string }) => e.code)
    })
    assert.is(later, 'CONNECTION_CLOSED', 'a later call is refused at once')
    assert.equal(errors(), [], 'no console errors on the page')
    await page.context().close()
  })
})

test.run()
