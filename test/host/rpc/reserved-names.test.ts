// Export names no script may use (README "Method names"): each would be unreachable over the protocol or
// would turn a client object into something else. The host refuses such a script at load, naming every
// such export and why, before anything is logged: on a new directory, and as an upgrade of a running one.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { connect } from '../../../client/node.js'
import { Host, HostError } from '../../../host/index.js'
import { runCli, spawnCli, stopAll, tempDir } from '../../cli/helpers.js'

const fn = 'function () { return 1 }'
/** A script exporting `name` (an own, enumerable export however odd the name), beside a normal method. */
const exporting = (name: string) => `Object.defineProperty(exports, ${JSON.stringify(name)}, { value: ${fn}, enumerable: true })\nexports.ok = ${fn}\n`

const RESERVED: Array<[string, RegExp]> = [
  ['then', /thenable: `await connect\(url\)` would call it/],
  ['handshake', /the protocol's own method/],
  ['rpc.discover', /JSON-RPC 2.0 reserves/],
  ['rpc.', /JSON-RPC 2.0 reserves/],
  ['', /empty name/],
  ['__proto__', /replace the client's prototype/],
  ['constructor', /Object.prototype/],
  ['toString', /Object.prototype/],
  ['valueOf', /Object.prototype/],
  ['hasOwnProperty', /Object.prototype/],
  ['__lookupGetter__', /Object.prototype/]
]

async function refusal (dir: string, source: string, upgrade = false): Promise<HostError> {
  const host = new Host({ source, filename: 'script.js', dir, upgrade })
  try {
    await host.ready()
  } catch (err) {
    return err as HostError
  } finally {
    await host.close()
  }
  throw new Error('the host started')
}

async function logLength (dir: string, source: string): Promise<number> {
  const host = new Host({ source, filename: 'script.js', dir })
  await host.ready()
  const length = host.log.length
  await host.close()
  return length
}

test.after(stopAll)

test('each reserved name is refused at load with RESERVED_METHODS, naming the export and why; nothing is logged', async () => {
  for (const [name, why] of RESERVED) {
    const dir = await tempDir('nodevms-reserved-')
    const err = await refusal(dir, exporting(name))
    assert.instance(err, HostError, `${JSON.stringify(name)}: ${String(err)}`)
    assert.is(err.code, 'RESERVED_METHODS', JSON.stringify(name))
    assert.match(err.message, `${JSON.stringify(name)}: `, `names the export ${JSON.stringify(name)}`)
    assert.match(err.message, why, `${JSON.stringify(name)}: says why (${err.message})`)
    assert.match(err.message, 'Rename the export; nothing was logged')
    if (name === 'then') assert.is(await logLength(dir, exporting('fine')), 1, 'the log was left empty (a good script then starts it)')
  }
})

test('every reserved export is named at once; names the client uses itself are allowed and listed', async () => {
  const dir = await tempDir('nodevms-reserved-')
  const err = await refusal(dir, 'exports.then = () => 1\nexports.handshake = () => 2\nexports["rpc.x"] = () => 3\nexports.ok = () => 4\n')
  assert.match(err.message, 'exports method names no script may export')
  for (const name of ['then', 'handshake', 'rpc.x']) assert.match(err.message, `"${name}": `)
  assert.not.match(err.message, '"ok"')

  const host = new Host({ source: 'for (const n of ["close", "call", "on", "emit", "info", "methods", "catch"]) exports[n] = () => n\n', filename: 's.js', dir: await tempDir('nodevms-reserved-') })
  await host.ready()
  assert.equal(host.methods, ['close', 'call', 'on', 'emit', 'info', 'methods', 'catch'])
  await host.close()
})

test('an upgrade to a script with a reserved export is refused and leaves the log as it was', async () => {
  const dir = await tempDir('nodevms-reserved-')
  assert.is(await logLength(dir, exporting('fine')), 1)
  const err = await refusal(dir, exporting('then'), true) // --upgrade: without it, any other script is refused (SCRIPT_CHANGED)
  assert.is(err.code, 'RESERVED_METHODS')
  const host = new Host({ source: exporting('fine'), filename: 'script.js', dir })
  await host.ready()
  assert.is(host.log.length, 2, 'init, then the restart of the good script: no upgrade entry was written')
  assert.is((await host.log.get(1)).type, 'restart')
  await host.close()
})

test('exec refuses a script exporting then (exit 1, saying why) instead of serving one that hangs every client', async () => {
  const dir = await tempDir('nodevms-reserved-')
  await writeFile(join(dir, 'thenable.js'), 'exports.then = function (resolve) { return 42 }\nexports.ok = function () { return 1 }\n')
  const result = await runCli(['exec', join(dir, 'thenable.js'), '--port', '0', '--dir', join(dir, 'host')])
  assert.is(result.code, 1, `exit 1: ${result.stderr}`)
  assert.match(result.stderr, 'thenable.js exports a method name no script may export ("then": ')
  assert.match(result.stderr, 'would call it instead of settling, and hang')
  assert.is(result.stdout, '', 'nothing served')

  // The same directory then serves a fixed script, and a client connects at once.
  await writeFile(join(dir, 'thenable.js'), 'exports.andThen = function () { return 42 }\n')
  const host = await spawnCli(['exec', join(dir, 'thenable.js'), '--port', '0', '--dir', join(dir, 'host')])
  const client = await connect(`127.0.0.1:${host.port}`)
  assert.is(await client.andThen(), 42)
  assert.is(client.info.callLogLength, 1, 'only the init entry: connecting called nothing')
  assert.is(((await client.call('handshake')) as { callLogLength: number }).callLogLength, 2, 'init and the one call')
  await client.close()
  await host.stop()
})

test.run()
