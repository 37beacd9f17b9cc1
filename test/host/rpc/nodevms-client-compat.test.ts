// CONTRACT §5: the wire protocol is compatible with nodevms-client@2.0.0, the original JS client
// (loaded with its qaap-uws transport resolved to ws: see test/legacy-client.ts).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { RpcServer, type CallOutcome, type Service } from '../../../host/rpc/index.js'
import { closeLegacy, legacyClientClass, remote } from '../../legacy-client.js'

const NodeVMSClient = legacyClientClass()

function service (): Service {
  let count = 0
  const methods = ['increment', 'add', 'fail', 'whoami']
  return {
    methods,
    handshakeInfo: () => ({ methods, callLogUrl: 'dat://' + 'c'.repeat(64), filesArchiveUrl: 'dat://' + 'f'.repeat(64) }),
    async call (method, params, ctx): Promise<CallOutcome> {
      if (method === 'increment') return { result: ++count }
      if (method === 'add') return { result: (params as number[]).reduce((a, b) => a + b, 0) }
      if (method === 'whoami') return { result: ctx.caller }
      return { error: { name: 'Error', message: 'You are not my owner!' } }
    }
  }
}

test('nodevms-client@2.0.0 connects, handshakes and calls methods with arguments', async () => {
  const server = new RpcServer({ service: service(), host: '127.0.0.1', port: 0 })
  await server.open()
  const client = new NodeVMSClient()
  await client.connect(`ws://127.0.0.1:${server.port}`)
  assert.equal(client.backendInfo?.methods, ['increment', 'add', 'fail', 'whoami'], 'handshake populated backendInfo')
  assert.ok(client.backendInfo?.callLogUrl.startsWith('dat://'))
  assert.is(await remote(client, 'increment')(), 1)
  assert.is(await remote(client, 'increment')(), 2)
  assert.is(await remote(client, 'add')(2, 3, 5), 10)
  assert.is(await remote(client, 'whoami')(), null, 'anonymous caller is null')
  await closeLegacy(client)
  await server.close()
})

test('nodevms-client@2.0.0 sees a script error as { code: -32000, message: name, data: message }', async () => {
  const server = new RpcServer({ service: service(), host: '127.0.0.1', port: 0 })
  await server.open()
  const client = new NodeVMSClient()
  await client.connect(`ws://127.0.0.1:${server.port}`)
  const err = await remote(client, 'fail')().then(() => null, (e: unknown) => e)
  assert.equal(err, { code: -32000, message: 'Error', data: 'You are not my owner!' })
  await closeLegacy(client)
  await server.close()
})

test('nodevms-client@2.0.0 connect(url, { user }) names the caller in debug mode', async () => {
  const server = new RpcServer({ service: service(), host: '127.0.0.1', port: 0, debug: true })
  await server.open()
  const client = new NodeVMSClient()
  await client.connect(`ws://127.0.0.1:${server.port}`, { user: 'bob' })
  assert.is(await remote(client, 'whoami')(), 'bob')
  await closeLegacy(client)
  await server.close()
})

test.run()
