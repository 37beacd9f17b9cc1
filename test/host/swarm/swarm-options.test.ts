// Parsing the Dat network options. Starts no swarm, so it runs in any namespace.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import idEncoding from 'hypercore-id-encoding'
import { CliError } from '../../../cli/output.js'
import { hyperLines, hyperUrl, isDatTarget, parseBootstrap, parseDatKey, parseSeconds } from '../../../cli/swarm-options.js'
import { isLoopback, startSwarm } from '../../../host/swarm/index.js'

const HEX = 'ab'.repeat(32)

function usageError (fn: () => unknown): CliError {
  try {
    fn()
  } catch (err) {
    assert.instance(err, CliError, 'a CliError')
    assert.is((err as CliError).exitCode, 2, 'a usage error exits 2')
    return err as CliError
  }
  assert.unreachable('expected a usage error')
  throw new Error('unreachable')
}

test('--bootstrap is required and says the public DHT is not used by default', () => {
  for (const missing of [undefined, true, '', []]) {
    const err = usageError(() => parseBootstrap(missing, 'seed'))
    assert.match(err.message, /--bootstrap/, 'names the option')
    assert.match(err.message, /public DHT/, 'says why')
  }
})

test('--bootstrap takes HOST:PORT lists, repeated or comma-separated, IPv6 in brackets', () => {
  assert.equal(parseBootstrap('127.0.0.1:49737', 'x'), [{ host: '127.0.0.1', port: 49737 }])
  assert.equal(parseBootstrap(['127.0.0.1:1,localhost:2', '[::1]:3'], 'x'),
    [{ host: '127.0.0.1', port: 1 }, { host: 'localhost', port: 2 }, { host: '::1', port: 3 }])
  for (const bad of ['127.0.0.1', ':80', 'host:0', 'host:70000', 'a b:1']) usageError(() => parseBootstrap(bad, 'x'))
})

test('a loopback bootstrap list is recognised (the DHT then binds to 127.0.0.1)', () => {
  assert.ok(isLoopback([{ host: '127.0.0.1', port: 1 }, { host: 'localhost', port: 2 }]))
  assert.not.ok(isLoopback([{ host: '127.0.0.1', port: 1 }, { host: '10.0.0.1', port: 2 }]))
  assert.not.ok(isLoopback([]))
})

test('startSwarm refuses an empty bootstrap list before touching the network', async () => {
  const err = await startSwarm(null as never, { bootstrap: [] }).then(() => null, (e: unknown) => e as { code?: string })
  assert.is(err?.code, 'SWARM_NO_BOOTSTRAP')
})

test('keys: dat://hex, hyper://z32, bare hex and z32 all give the same 64 hex', () => {
  const z32 = idEncoding.encode(Buffer.from(HEX, 'hex'))
  for (const form of [`dat://${HEX}`, `hyper://${z32}`, `hyper://${HEX}/`, HEX.toUpperCase(), z32]) {
    assert.ok(isDatTarget(form), `${form} is a key target`)
    assert.is(parseDatKey(form), HEX, form)
  }
  for (const url of ['localhost:5555', 'ws://127.0.0.1:5555', 'wss://example.org']) assert.not.ok(isDatTarget(url), `${url} is a host URL`)
  usageError(() => parseDatKey('dat://1234'))
})

test('hyper:// lines for exec --swarm', () => {
  const z32 = idEncoding.encode(Buffer.from(HEX, 'hex'))
  assert.is(hyperUrl(HEX), `hyper://${z32}`)
  assert.equal(hyperLines({ filesKey: HEX, callLogKey: HEX }), [`Files:    hyper://${z32}`, `Call log: hyper://${z32}`])
})

test('--timeout is seconds', () => {
  assert.is(parseSeconds(undefined, '--timeout'), undefined)
  assert.is(parseSeconds('2.5', '--timeout'), 2500)
  usageError(() => parseSeconds('0', '--timeout'))
})

test.run()
