// Whatever a host lists in its handshake (an older host, or one that is not nodevms), no name can hang or
// reshape the client: `await connect()` settles, the client never becomes a thenable or changes its
// prototype, and every listed name stays callable with client.call(name).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { RpcServer, type CallOutcome, type Service } from '../../host/rpc/index.js'
import { RPCClient, connect } from '../../client/node.js'

const LISTED = ['then', 'handshake', '__proto__', 'constructor', 'toString', 'valueOf', 'hasOwnProperty', 'rpc.discover', '', 'close', 'on', 'increment', 'timeout', 'socket']

function hostListing (methods: string[]): Service & { calls: string[] } {
  const calls: string[] = []
  return {
    calls,
    methods,
    handshakeInfo: () => ({ methods, callLogUrl: 'dat://' + 'c'.repeat(64), filesArchiveUrl: 'dat://' + 'f'.repeat(64) }),
    call: async (method): Promise<CallOutcome> => { calls.push(method); return { result: `remote ${method}` } }
  }
}

/** Resolves with what `p` gave, or rejects after ms: a connect that never settles fails the test instead of hanging it. */
function within<T> (p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([p, new Promise<T>((_resolve, reject) => setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms))])
}

test('a host listing then, __proto__, constructor, rpc.* and the empty name: connect settles and the client stays a client', async () => {
  const service = hostListing(LISTED)
  const server = new RpcServer({ service, host: '127.0.0.1', port: 0 })
  await server.open()
  try {
    const client = await within(connect(`127.0.0.1:${server.port}`), 5000, 'await connect()')
    assert.equal(service.calls, [], 'connecting called nothing on the host (no then() in its log)')
    assert.is((client as unknown as { then?: unknown }).then, undefined, 'not a thenable')
    assert.is(Object.getPrototypeOf(client), RPCClient.prototype, 'its prototype is untouched')
    assert.is(client.toString, Object.prototype.toString)
    assert.is(client.constructor, RPCClient)
    assert.not.ok(Object.hasOwn(client, ''), 'no property for the empty name')
    assert.not.ok(Object.hasOwn(client, 'rpc.discover'))
    assert.is(client.close, RPCClient.prototype.close, 'the client keeps its own close')
    assert.is(await client.increment(), 'remote increment', 'ordinary names are methods')
    assert.is(await client.timeout(), 'remote timeout', 'the client\'s internals are private: their names are free for methods')
    assert.is(await client.socket(), 'remote socket')
    assert.equal(client.methods, LISTED, 'methods lists everything the host listed')
    for (const name of ['then', '__proto__', 'toString', 'rpc.discover', '', 'close']) {
      assert.is(await client.call(name), `remote ${name}`, `${JSON.stringify(name)} is still reachable with call()`)
    }
    // And awaiting the client itself (an async function returning it, say) settles too.
    assert.is(await within((async () => client)(), 1000, 'await client'), client)
    await client.close()
  } finally {
    await server.close()
  }
})

test('reconnecting to a host with other methods drops the old ones', async () => {
  const first = new RpcServer({ service: hostListing(['increment', 'reset']), host: '127.0.0.1', port: 0 })
  const second = new RpcServer({ service: hostListing(['increment']), host: '127.0.0.1', port: 0 })
  await first.open()
  await second.open()
  try {
    const client = new RPCClient()
    await client.connect(`127.0.0.1:${first.port}`)
    assert.is(typeof (client as unknown as { reset?: unknown }).reset, 'function')
    await client.close()
    await client.connect(`127.0.0.1:${second.port}`)
    assert.is((client as unknown as { reset?: unknown }).reset, undefined, 'reset() is gone with the host that had it')
    assert.is(await (client as unknown as { increment (): Promise<unknown> }).increment(), 'remote increment')
    await client.close()
  } finally {
    await first.close()
    await second.close()
  }
})

test.run()
