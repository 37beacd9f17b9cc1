import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { RpcServer, type CallOutcome, type Service } from '../../host/rpc/index.js'
import { ClientError, RPCClient, RpcError, connect, normaliseUrl, type Client } from '../../client/node.js'

/** A fake counter service with a FIFO lock, like the Host's script-wide lock. */
function counterService (): Service {
  let count = 0
  let queue: Promise<unknown> = Promise.resolve()
  const methods = ['increment', 'add', 'fail', 'hang', 'whoami', 'close', 'on', 'methods']
  return {
    methods,
    handshakeInfo: () => ({ methods, callLogUrl: 'dat://' + 'c'.repeat(64), filesArchiveUrl: 'dat://' + 'f'.repeat(64) }),
    call (method, params, ctx): Promise<CallOutcome> {
      const run = async (): Promise<CallOutcome> => {
        switch (method) {
          case 'increment': { const v = count; await new Promise((resolve) => setImmediate(resolve)); count = v + 1; return { result: count } }
          case 'add': return { result: (params as number[]).reduce((a, b) => a + b, 0) }
          case 'fail': return { error: { name: 'RangeError', message: 'too big: ' + String(params[0]) } }
          case 'whoami': return { result: ctx.caller }
          case 'close': return { result: 'remote close' }
          default: return { result: method }
        }
      }
      if (method === 'hang') return new Promise(() => {}) // never settles
      const p = queue.then(run)
      queue = p.catch(() => {})
      return p
    }
  }
}

async function start (debug = false): Promise<RpcServer> {
  const server = new RpcServer({ service: counterService(), host: '127.0.0.1', port: 0, debug })
  await server.open()
  return server
}

test('urls are normalised: host:port gets ws://, ws and wss are kept, others are refused', () => {
  assert.is(normaliseUrl('localhost:5555'), 'ws://localhost:5555/')
  assert.is(normaliseUrl('ws://10.0.0.1:80'), 'ws://10.0.0.1/')
  assert.is(normaliseUrl('wss://example.org'), 'wss://example.org/')
  assert.is(normaliseUrl('http://h:1'), 'ws://h:1/')
  assert.throws(() => normaliseUrl('ftp://h:1'), (err: ClientError) => err.code === 'BAD_URL')
})

test('connect: handshake info, methods as async functions, calls with arguments', async () => {
  const server = await start()
  const client = await connect(`127.0.0.1:${server.port}`)
  assert.equal(client.methods, ['increment', 'add', 'fail', 'hang', 'whoami', 'close', 'on', 'methods'])
  assert.ok(client.info?.callLogUrl?.startsWith('dat://'), 'info holds the handshake')
  assert.is(await client.add(1, 2, 39), 42)
  assert.is(await client.increment(), 1)
  assert.is(await client.call('increment'), 2)
  await client.close()
  await server.close()
})

test('localhost works although the host listens on 127.0.0.1', async () => {
  const server = await start()
  const client = await connect(`localhost:${server.port}`)
  assert.is(await client.increment(), 1)
  assert.is(client.url, `ws://localhost:${server.port}`)
  await client.close()
  await server.close()
})

test('localhost falls back to ::1 when nothing listens on 127.0.0.1', async () => {
  const server = new RpcServer({ service: counterService(), host: '::1', port: 0 })
  try {
    await server.open()
  } catch {
    return // no IPv6 loopback on this machine: nothing to check
  }
  assert.is(server.url, `ws://[::1]:${server.port}`)
  const client = await connect(`localhost:${server.port}`)
  assert.is(await client.increment(), 1)
  await client.close()
  await server.close()
})

test('a script error rejects with the script error name, message and code -32000', async () => {
  const server = await start()
  const client = await connect(`ws://127.0.0.1:${server.port}`)
  try {
    await client.fail(7)
    assert.unreachable('fail() should reject')
  } catch (err) {
    assert.instance(err, RpcError)
    assert.is((err as RpcError).name, 'RangeError')
    assert.is((err as RpcError).message, 'too big: 7')
    assert.is((err as RpcError).code, -32000)
  }
  try {
    await client.call('nosuch')
    assert.unreachable('nosuch() should reject')
  } catch (err) {
    assert.is((err as RpcError).code, -32601)
    assert.match((err as Error).message, 'nosuch')
  }
  await client.close()
  await server.close()
})

test('remote names that collide with the client (close, on, methods) stay callable via call()', async () => {
  const server = await start()
  const client = await connect(`127.0.0.1:${server.port}`)
  assert.is(client.close, RPCClient.prototype.close, 'close is still the client close')
  assert.is(client.on, RPCClient.prototype.on, 'on is still the EventEmitter on')
  assert.ok(Array.isArray(client.methods))
  assert.is(await client.call('close'), 'remote close')
  assert.is(await client.call('methods'), 'methods')
  await client.close()
  await server.close()
})

test('a call with no reply rejects after the timeout, naming the method and the timeout', async () => {
  const server = await start()
  const client = await connect(`127.0.0.1:${server.port}`, { timeout: 100 })
  const started = Date.now()
  try {
    await client.hang()
    assert.unreachable('hang() should time out')
  } catch (err) {
    assert.instance(err, ClientError)
    assert.is((err as ClientError).code, 'CALL_TIMEOUT')
    assert.match((err as Error).message, 'hang()')
    assert.match((err as Error).message, '100 ms')
    assert.ok(Date.now() - started < 2000)
  }
  assert.is(await client.add(1, 1), 2, 'the connection is still usable')
  await client.close()
  await server.close()
})

test('pending calls reject at once when the host goes away, and later calls reject too', async () => {
  const server = await start()
  const client = await connect(`127.0.0.1:${server.port}`)
  const closed = new Promise<void>((resolve) => client.once('close', () => resolve()))
  const pending = [client.hang(), client.hang()].map((p) => p.then(() => null, (err: unknown) => err))
  await new Promise((resolve) => setTimeout(resolve, 20))
  await server.close()
  const errors = await Promise.all(pending) as ClientError[]
  for (const err of errors) {
    assert.is(err.code, 'CONNECTION_CLOSED')
    assert.match(err.message, `ws://127.0.0.1:${server.port}`)
    assert.match(err.message, 'hang()')
    assert.match(err.message, 'may or may not have run')
  }
  await closed
  const later = await client.add(1).then(() => null, (err: unknown) => err) as ClientError
  assert.is(later.code, 'CONNECTION_CLOSED')
  await client.close()
})

test('no host listening: CONNECTION_FAILED names the url and asks whether nodevms exec runs there', async () => {
  const server = await start()
  const port = server.port
  await server.close()
  try {
    await connect(`localhost:${port}`, { timeout: 2000 })
    assert.unreachable('connect should fail')
  } catch (err) {
    assert.is((err as ClientError).code, 'CONNECTION_FAILED')
    assert.match((err as Error).message, `localhost:${port}`)
    assert.match((err as Error).message, 'nodevms exec')
  }
})

test('debug user names: refused without --debug (with the reason), used as caller with it', async () => {
  const plain = await start(false)
  try {
    await connect(`127.0.0.1:${plain.port}`, { user: 'bob' })
    assert.unreachable('a user claim without --debug must be refused')
  } catch (err) {
    assert.is((err as ClientError).code, 'CONNECTION_REFUSED', 'the host answered: a refusal, not an unreachable host')
    assert.match((err as Error).message, '401')
    assert.match((err as Error).message, '--debug')
  }
  const anon = await connect(`127.0.0.1:${plain.port}`)
  assert.is(await anon.whoami(), null)
  await anon.close()
  await plain.close()
  const debug = await start(true)
  const bob = await connect(`127.0.0.1:${debug.port}`, { user: 'bob' })
  assert.is(await bob.whoami(), 'bob')
  const basic = await connect(`127.0.0.1:${debug.port}`, { headers: { authorization: 'Basic ' + Buffer.from('carol:x').toString('base64') } })
  assert.is(await basic.whoami(), 'carol')
  await bob.close(); await basic.close()
  await debug.close()
})

test('the README example runs verbatim with RPCClient', async () => {
  const server = await start()
  const lines: unknown[] = []
  const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (...args: string[]) => (...a: unknown[]) => Promise<unknown>
  const readme = `var client = new RPCClient()
await client.connect('localhost:5555')
console.log(await client.increment())
await client.close()`.replace('5555', String(server.port))
  await new AsyncFunction('RPCClient', 'console', readme)(RPCClient, { log: (v: unknown) => lines.push(v) })
  assert.equal(lines, [1])
  await server.close()
})

test('50 clients x 20 concurrent calls to a counter give exactly 1..1000', async () => {
  const server = await start()
  const clients: Client[] = await Promise.all(Array.from({ length: 50 }, () => connect(`127.0.0.1:${server.port}`)))
  const results = (await Promise.all(clients.map((c) => Promise.all(Array.from({ length: 20 }, () => c.increment()))))).flat() as number[]
  assert.equal(results.sort((a, b) => a - b), Array.from({ length: 1000 }, (_, i) => i + 1))
  await Promise.all(clients.map((c) => c.close()))
  await server.close()
})

test('errors emitted with no listener do not crash; close() twice is fine', async () => {
  const server = await start()
  const client = await connect(`127.0.0.1:${server.port}`)
  await client.close()
  await client.close()
  try {
    await client.connect('ftp://x')
    assert.unreachable('bad url')
  } catch (err) {
    assert.is((err as ClientError).code, 'BAD_URL')
  }
  await server.close()
})

test.run()
