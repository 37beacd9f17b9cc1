// What a running `nodevms exec` says on stderr: one line per call (index, method, caller kind, outcome, time),
// which --quiet turns off, and a line for each lifecycle event (start, restart, upgrade, a limit hit, shutdown).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { connect, generateIdentity, identityId, type Client } from '../../client/node.js'
import { spawnCli, stopAll, tempDir, type ServingCli } from './helpers.js'

const SCRIPT = `var n = 0
exports.inc = function () { return ++n }
exports.fail = function () { throw new TypeError('nope') }
exports.loop = function () { n += 100; for (;;) {} }
exports.bomb = function () { n += 1000; var a = []; for (;;) a.push(new Array(100000).fill(n)) }
`

test.after.each(stopAll)

async function calls (host: ServingCli, fn: (client: Client) => Promise<void>, opts: Parameters<typeof connect>[1] = {}): Promise<void> {
  const client = await connect(`127.0.0.1:${host.port}`, opts)
  try {
    await fn(client)
  } finally {
    await client.close()
  }
}

const failed = (p: Promise<unknown>) => p.then(() => { throw new Error('expected the call to fail') }, () => {})

/** The stderr lines that match, in order. */
const linesOf = (host: ServingCli, pattern: RegExp) => host.stderr().split('\n').filter((l) => pattern.test(l))

async function waitForLine (host: ServingCli, pattern: RegExp): Promise<void> {
  const until = Date.now() + 10_000
  while (!pattern.test(host.stderr())) {
    if (Date.now() > until) throw new Error(`no ${pattern} on stderr:\n${host.stderr()}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

test('one line per call: log index, method, caller kind, ok or the error name, time; lifecycle lines around them', async () => {
  const dir = await tempDir()
  const script = join(dir, 'lines.js')
  await writeFile(script, SCRIPT)
  const args = ['exec', script, '--port', '0', '--dir', join(dir, 'host'), '--debug', '--gas', '2000', '--memory', '8']
  const host = await spawnCli(args, { cwd: dir })
  await waitForLine(host, /^Started a new call log: entry #0 \(init\) holds lines\.js\.$/m)
  const identity = generateIdentity()
  await calls(host, async (c) => { await c.inc(); await failed(c.fail()); await failed(c.loop()); await failed(c.bomb()) })
  await calls(host, async (c) => { assert.is(await c.inc(), 2, 'what the limit lines say is so: loop and bomb left n as it was') }, { user: 'bob' })
  await calls(host, async (c) => { await c.inc() }, { identity })
  await waitForLine(host, /call #6 /)
  const callLines = linesOf(host, /^(call|limit:) /)
  assert.equal(callLines.map((l) => l.replace(/ in \d+ ms$/, ' in N ms')), [
    'call #1 inc() by anonymous: ok in N ms',
    'call #2 fail() by anonymous: TypeError in N ms',
    'limit: call #3 loop() by anonymous ran out of gas (GasExhaustedError); the script\'s memory is as it was before the call',
    'limit: call #4 bomb() by anonymous ran out of memory (OutOfMemoryError); the script\'s memory is as it was before the call',
    'call #5 inc() by debug user "bob": ok in N ms',
    `call #6 inc() by key ${identityId(identity).slice(0, 8)}…: ok in N ms`
  ], host.stderr())
  await calls(host, async (c) => { assert.is(c.info?.callLogLength, 7, 'the indices printed are the log\'s: 7 entries, #0 to #6') })
  assert.equal(await host.stop(), { code: 0, signal: null })
  assert.match(host.stderr(), /^Closed: 6 calls logged in this run; the call log has 7 entries\.$/m)
  assert.is(host.stdout(), host.lines.join('\n') + '\n', 'stdout still carries only the four start-up lines')

  const again = await spawnCli(args, { cwd: dir })
  await waitForLine(again, /^Restarted on the existing call log: entry #7 \(restart\)\.$/m)
  await calls(again, async (c) => { await c.inc() })
  await waitForLine(again, /^call #8 inc\(\) by anonymous: ok in \d+ ms$/m)
  await again.stop()

  await writeFile(script, SCRIPT + 'exports.extra = () => 1\n')
  const upgraded = await spawnCli(args, { cwd: dir })
  await waitForLine(upgraded, /^Upgraded: lines\.js differs from the script in the log; entry #9 \(upgrade\) holds the new source\.$/m)
  await upgraded.stop()
})

test('--quiet: no call lines, but a limit hit and the lifecycle are still announced', async () => {
  const dir = await tempDir()
  const script = join(dir, 'lines.js')
  await writeFile(script, SCRIPT)
  const host = await spawnCli(['exec', script, '--port', '0', '--dir', join(dir, 'host'), '--gas', '2000', '--quiet'], { cwd: dir })
  await calls(host, async (c) => { await c.inc(); await failed(c.fail()); await failed(c.loop()); await c.inc() })
  await waitForLine(host, /^limit: call #3 loop\(\)/m)
  await host.stop()
  assert.equal(linesOf(host, /^call /), [], `no call lines under --quiet:\n${host.stderr()}`)
  assert.match(host.stderr(), /^Started a new call log/m)
  assert.match(host.stderr(), /^Closed: 4 calls logged in this run; the call log has 5 entries\.$/m)
})

test('a call the host refuses before running it gets a line too, and is not counted as logged', async () => {
  const dir = await tempDir()
  const script = join(dir, 'lines.js')
  await writeFile(script, SCRIPT)
  const host = await spawnCli(['exec', script, '--port', '0', '--dir', join(dir, 'host'), '--no-anonymous'], { cwd: dir })
  await calls(host, async (c) => { await failed(c.inc()) })
  await waitForLine(host, /^call inc\(\) not run: ANONYMOUS_REFUSED: Refused an unsigned call/m)
  await host.stop()
  assert.match(host.stderr(), /^Closed: 0 calls logged in this run; the call log has 1 entry\.$/m)
})

test.run()
