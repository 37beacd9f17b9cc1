// nodevms explore from the command line: the page's address on stdout, verify's exit codes for a host that
// cannot be reached, a key it does not serve, a port in use and bad usage, and a clean close on a signal.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { PERSISTENT_COUNTER } from '../helpers.js'
import { ServedHost } from '../browser/explore-fixture.js'
import { runCli, spawnExplore, stopAll, tempDir } from './helpers.js'

const test = suite('nodevms explore')
let served: ServedHost | null = null

test.after.each(async () => {
  await served?.close()
  served = null
  await stopAll()
})

async function statusOf (url: string): Promise<{ verdict: string, verified: number, length: number }> {
  const res = await fetch(`${url}api/status`)
  return await res.json() as { verdict: string, verified: number, length: number }
}

async function until<T> (read: () => Promise<T>, ok: (value: T) => boolean, what: string, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await read()
    if (ok(value)) return value
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(value)} after ${ms} ms`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

test('an unreachable host exits 2 with verify\'s error, and no page address is printed', async () => {
  const r = await runCli(['explore', 'localhost:1'])
  assert.is(r.code, 2, r.stderr)
  assert.match(r.stderr, /Cannot connect to .*localhost:1/)
  assert.not.match(r.stdout, 'Explorer at')
})

test('a --log key the host does not serve exits 1 naming both keys; a malformed key exits 2', async () => {
  served = await ServedHost.start(join(await tempDir(), 'host'), PERSISTENT_COUNTER)
  const other = 'ab'.repeat(32)
  const [wrong, malformed] = await Promise.all([
    runCli(['explore', served.address, '--log', `dat://${other}`]),
    runCli(['explore', served.address, '--files', 'dat://nope'])
  ])
  assert.is(wrong.code, 1, wrong.stderr)
  assert.match(wrong.stderr, other)
  assert.match(wrong.stderr, served.host.callLogKey)
  assert.not.match(wrong.stdout, 'Explorer at')
  assert.is(malformed.code, 2, malformed.stderr)
  assert.match(malformed.stderr, 'nope')
})

test('a port in use exits 2, saying so and what to do', async () => {
  served = await ServedHost.start(join(await tempDir(), 'host'), PERSISTENT_COUNTER)
  const blocker = createServer()
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
  try {
    const port = (blocker.address() as { port: number }).port
    const r = await runCli(['explore', served.address, '--port', String(port)])
    assert.is(r.code, 2, r.stderr)
    assert.match(r.stderr, /port is already in use\. Choose another --port \(0 picks a free one\)/)
  } finally {
    blocker.close()
  }
})

test('bad usage exits 2: no target, a target and --dir, a port that is no port', async () => {
  const [none, both, port] = await Promise.all([
    runCli(['explore']),
    runCli(['explore', 'localhost:5555', '--dir', '/tmp']),
    runCli(['explore', 'localhost:5555', '--port', 'http'])
  ])
  assert.is(none.code, 2)
  assert.match(none.stderr, 'give a host <url>')
  assert.is(both.code, 2)
  assert.match(both.stderr, 'not both')
  assert.is(port.code, 2)
  assert.match(port.stderr, '--port needs a port number')
})

test('explore --dir verifies a stopped host offline; a directory a running host holds exits 2', async () => {
  const dir = join(await tempDir(), 'host')
  served = await ServedHost.start(dir, PERSISTENT_COUNTER)
  for (let n = 0; n < 3; n++) await served.host.call('increment')
  const busy = await runCli(['explore', '--dir', dir])
  assert.is(busy.code, 2, busy.stderr)
  assert.match(busy.stderr, 'running nodevms host holds')
  await served.close()
  served = null
  const explore = await spawnExplore(['--dir', dir])
  const status = await until(() => statusOf(explore.url), (s) => s.verdict !== 'pending', 'the verdict')
  assert.is(status.verdict, 'ok')
  assert.is(status.verified, 4)
  assert.is((await explore.stop('SIGTERM')).code, 0, 'SIGTERM closes it, exit 0')
})

test('explore follows a live host as it grows, and SIGINT closes it cleanly (exit 0)', async () => {
  served = await ServedHost.start(join(await tempDir(), 'host'), PERSISTENT_COUNTER)
  await served.host.call('increment')
  const explore = await spawnExplore([served.address, '--port', '0', '--host', 'localhost'])
  assert.match(explore.url, /^http:\/\/127\.0\.0\.1:\d+\/$/)
  await until(() => statusOf(explore.url), (s) => s.verdict === 'ok' && s.verified === 2, 'the first verdict')
  for (let n = 0; n < 5; n++) await served.host.call('increment')
  await until(() => statusOf(explore.url), (s) => s.verdict === 'ok' && s.verified === 7, 'the verdict after 5 more calls')
  const exit = await explore.stop('SIGINT')
  assert.is(exit.code, 0, explore.stderr())
  assert.match(explore.stderr(), 'SIGINT: closing nodevms explore...')
})

test.run()
