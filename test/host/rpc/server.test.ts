import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { request as httpRequest } from 'node:http'
import { WebSocket } from 'ws'
import { RpcServer, type CallOutcome, type RpcServerOptions, type Service } from '../../../host/rpc/index.js'
import { HostError } from '../../../host/index.js'
import { openRawSocket, req } from '../../raw-socket.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

interface Fake extends Service { seen: Array<{ method: string, params: unknown[], caller: string | null }>, release: () => void, finished: number }

/** A fake Service: no queue, so connections really run side by side. */
function fakeService (): Fake {
  let release: () => void = () => {}
  let gate = new Promise<void>((resolve) => { release = resolve })
  const svc: Fake = {
    methods: ['echo', 'add', 'fail', 'slow', 'big', 'whoami', 'queueFull', 'stale', 'crash', 'handshake'],
    seen: [],
    finished: 0,
    release: () => { release(); gate = new Promise<void>((resolve) => { release = resolve }) },
    handshakeInfo: () => ({ methods: svc.methods, callLogUrl: 'dat://' + 'a'.repeat(64), filesArchiveUrl: 'dat://' + 'b'.repeat(64) }),
    async call (method, params, ctx): Promise<CallOutcome> {
      svc.seen.push({ method, params, caller: ctx.caller })
      switch (method) {
        case 'echo': return { result: params }
        case 'add': return { result: (params as number[]).reduce((a, b) => a + b, 0) }
        case 'fail': return { error: { name: 'TypeError', message: 'nope' } }
        case 'slow': await gate; svc.finished++; return { result: 'slow done' }
        case 'big': return { result: 'x'.repeat(Number(params[0])) }
        case 'whoami': return { result: ctx.caller }
        case 'queueFull': throw HostError.QUEUE_FULL(1000)
        case 'stale': throw Object.assign(new HostError('counter 3 is not above 5', 'STALE_COUNTER'), { rpcCode: -32002, data: { last: 5 } })
        case 'crash': throw new Error('secret host detail')
        default: throw new Error('the server should not route ' + method)
      }
    }
  }
  return svc
}

async function startServer (opts: Partial<RpcServerOptions> = {}): Promise<{ server: RpcServer, svc: Fake, errors: unknown[] }> {
  const svc = fakeService()
  const errors: unknown[] = []
  const server = new RpcServer({ service: svc, host: '127.0.0.1', port: 0, onError: (e) => errors.push(e), ...opts })
  await server.open()
  return { server, svc, errors }
}

async function waitFor (cond: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const until = Date.now() + ms
  while (!cond()) {
    if (Date.now() > until) throw new Error('timed out waiting for ' + what)
    await sleep(10)
  }
}

test('handshake is built in and an export named handshake cannot shadow it', async () => {
  const { server, svc } = await startServer()
  const c = await openRawSocket(server.url)
  c.send(req(1, 'handshake'))
  const res = await c.next() as { id: number, result: { methods: string[], callLogUrl: string } }
  assert.is(res.id, 1)
  assert.equal(res.result.methods, svc.methods, 'handshake returns the service handshakeInfo')
  assert.ok(res.result.callLogUrl.startsWith('dat://'))
  assert.is(svc.seen.length, 0, 'service.call was never asked to run handshake')
  await c.close(); await server.close()
})

test('calls: array params, absent params as [], null params as [] (nodevms-client@2 sends null)', async () => {
  const { server } = await startServer()
  const c = await openRawSocket(server.url)
  c.send(req(1, 'add', [1, 2, 3]))
  assert.equal(await c.next(), { jsonrpc: '2.0', id: 1, result: 6 })
  c.send(req('s', 'echo'))
  assert.equal(await c.next(), { jsonrpc: '2.0', id: 's', result: [] })
  c.send(req(2, 'echo', null))
  assert.equal(await c.next(), { jsonrpc: '2.0', id: 2, result: [] })
  c.send(req(null, 'echo', [7]))
  assert.equal(await c.next(), { jsonrpc: '2.0', id: null, result: [7] }, 'id null is a request, not a notification')
  await c.close(); await server.close()
})

test('a script error is -32000 with the error name as message and its message as data', async () => {
  const { server } = await startServer()
  const c = await openRawSocket(server.url)
  c.send(req(3, 'fail', []))
  assert.equal(await c.next(), { jsonrpc: '2.0', id: 3, error: { code: -32000, message: 'TypeError', data: 'nope' } })
  await c.close(); await server.close()
})

test('unknown method -32601; params object or scalar -32602 with the request id', async () => {
  const { server } = await startServer()
  const c = await openRawSocket(server.url)
  c.send(req(1, 'nosuch', []))
  const r1 = await c.next() as { id: number, error: { code: number, data: string } }
  assert.is(r1.error.code, -32601); assert.is(r1.id, 1); assert.match(r1.error.data, 'nosuch')
  c.send(req(2, 'echo', { a: 1 }))
  const r2 = await c.next() as { id: number, error: { code: number } }
  assert.is(r2.error.code, -32602); assert.is(r2.id, 2)
  c.send(req(3, 'echo', 5))
  const r3 = await c.next() as { id: number, error: { code: number } }
  assert.is(r3.error.code, -32602); assert.is(r3.id, 3)
  await c.close(); await server.close()
})

test('parse errors and invalid requests are answered with id null and the connection stays usable', async () => {
  const { server } = await startServer()
  const c = await openRawSocket(server.url)
  const cases: Array<[string, number]> = [
    ['{"jsonrpc":"2.0","id":1,', -32700],
    ['{"jsonrpc":"1.0","id":1,"method":"echo","params":[]}', -32600],
    ['{"id":1,"method":"echo","params":[]}', -32600],
    ['{"jsonrpc":"2.0","id":1,"params":[]}', -32600],
    ['{"jsonrpc":"2.0","id":1,"method":5}', -32600],
    ['{"jsonrpc":"2.0","id":{},"method":"echo"}', -32600],
    ['42', -32600],
    ['[]', -32600]
  ]
  for (const [text, code] of cases) {
    c.send(text)
    const res = await c.next() as { id: unknown, error: { code: number } }
    assert.not.ok(Array.isArray(res), `${text}: a single error object, not a batch`)
    assert.is(res.error.code, code, text)
    assert.is(res.id, null, `${text}: id null`)
  }
  c.send(req(9, 'add', [2, 2]))
  assert.equal(await c.next(), { jsonrpc: '2.0', id: 9, result: 4 }, 'still usable')
  await c.close(); await server.close()
})

test('batches: replies in one array, notifications run but get no reply; all-notification batch gets nothing', async () => {
  const { server, svc } = await startServer()
  const c = await openRawSocket(server.url)
  c.send([req(1, 'add', [1, 1]), { jsonrpc: '2.0', method: 'echo', params: ['note'] }, { foo: 1 }, req(2, 'fail'), req(3, 'nosuch')])
  const res = await c.next() as Array<{ id: unknown, result?: unknown, error?: { code: number } }>
  assert.ok(Array.isArray(res))
  assert.is(res.length, 4, 'the notification has no reply')
  assert.equal(res[0], { jsonrpc: '2.0', id: 1, result: 2 })
  assert.is(res[1].error?.code, -32600); assert.is(res[1].id, null)
  assert.is(res[2].error?.code, -32000)
  assert.is(res[3].error?.code, -32601)
  assert.ok(svc.seen.some((s) => s.method === 'echo' && s.params[0] === 'note'), 'the notification ran')
  c.send([{ jsonrpc: '2.0', method: 'echo', params: [1] }, { jsonrpc: '2.0', method: 'echo', params: [2] }])
  c.send({ jsonrpc: '2.0', method: 'echo', params: [3] }) // single notification
  c.send({ jsonrpc: '2.0', method: 'echo', params: {} }) // bad params in a notification: still no reply
  c.send(req(4, 'echo', ['after']))
  assert.equal(await c.next(), { jsonrpc: '2.0', id: 4, result: ['after'] }, 'nothing was sent for the notifications')
  await waitFor(() => svc.seen.filter((s) => s.method === 'echo').length >= 5, 2000, 'notifications to run')
  await c.close(); await server.close()
})

test('a binary frame is refused with -32600 and the connection stays', async () => {
  const { server } = await startServer()
  const c = await openRawSocket(server.url)
  c.ws.send(Buffer.from(JSON.stringify(req(1, 'echo', []))), { binary: true })
  const res = await c.next() as { id: unknown, error: { code: number, data: string } }
  assert.is(res.error.code, -32600); assert.is(res.id, null); assert.match(res.error.data, 'text frame')
  c.send(req(2, 'echo', [1]))
  assert.equal(await c.next(), { jsonrpc: '2.0', id: 2, result: [1] })
  await c.close(); await server.close()
})

test('a message over maxPayload closes the socket with 1009', async () => {
  const { server } = await startServer({ maxPayload: 1024 })
  const c = await openRawSocket(server.url)
  const closed = new Promise<number>((resolve) => c.ws.once('close', (code) => resolve(code)))
  c.ws.on('error', () => {})
  c.send(req(1, 'echo', ['y'.repeat(4096)]))
  assert.is(await closed, 1009)
  await waitFor(() => server.clientCount === 0, 2000, 'server to drop the socket')
  await server.close()
})

test('host errors map to JSON-RPC errors; unexpected ones are -32603 without host details', async () => {
  const { server, errors } = await startServer()
  const c = await openRawSocket(server.url)
  c.send(req(1, 'queueFull', []))
  const r1 = await c.next() as { error: { code: number, message: string } }
  assert.is(r1.error.code, -32004); assert.is(r1.error.message, 'queue full, try again')
  c.send(req(2, 'stale', []))
  assert.equal(await c.next(), { jsonrpc: '2.0', id: 2, error: { code: -32002, message: 'counter 3 is not above 5', data: { last: 5 } } })
  c.send(req(3, 'crash', []))
  const r3 = await c.next() as { error: { code: number, message: string, data: string } }
  assert.is(r3.error.code, -32603)
  assert.not.match(JSON.stringify(r3), 'secret', 'host details stay on the host')
  assert.is(errors.length, 1, 'the unexpected error went to onError')
  await c.close(); await server.close()
})

test('in-flight calls per connection are capped with a clear error', async () => {
  const { server, svc } = await startServer({ maxInFlight: 2 })
  const c = await openRawSocket(server.url)
  c.send(req(1, 'slow', [])); c.send(req(2, 'slow', [])); c.send(req(3, 'slow', []))
  const r3 = await c.next() as { id: number, error: { code: number, message: string } }
  assert.is(r3.id, 3); assert.is(r3.error.code, -32006); assert.match(r3.error.message, 'too many calls in flight')
  svc.release()
  const ids = [(await c.next() as { id: number }).id, (await c.next() as { id: number }).id].sort()
  assert.equal(ids, [1, 2])
  await c.close(); await server.close()
})

test('connections are not serialized: a slow call on one does not block another', async () => {
  const { server, svc } = await startServer()
  const a = await openRawSocket(server.url)
  const b = await openRawSocket(server.url)
  a.send(req(1, 'slow', []))
  b.send(req(1, 'add', [40, 2]))
  assert.equal(await b.next(), { jsonrpc: '2.0', id: 1, result: 42 })
  svc.release()
  assert.equal(await a.next(), { jsonrpc: '2.0', id: 1, result: 'slow done' })
  await a.close(); await b.close(); await server.close()
})

test('a client that disconnects mid-call: the call completes, the reply is dropped silently', async () => {
  const { server, svc, errors } = await startServer()
  const c = await openRawSocket(server.url)
  c.send(req(1, 'slow', []))
  await waitFor(() => svc.seen.length === 1, 2000, 'the call to start')
  c.ws.terminate()
  await waitFor(() => server.clientCount === 0, 2000, 'the socket to go')
  svc.release()
  await waitFor(() => svc.finished === 1, 2000, 'the call to finish')
  await sleep(20)
  assert.is(errors.length, 0, 'no error for a dropped reply')
  await server.close()
})

test('debug auth off: ?user= and Basic claims are refused with 401; anonymous caller is null', async () => {
  const { server } = await startServer()
  for (const [url, headers] of [
    [server.url + '/?user=bob', {}],
    [server.url, { authorization: 'Basic ' + Buffer.from('bob:x').toString('base64') }]
  ] as Array<[string, Record<string, string>]>) {
    const ws = new WebSocket(url, { headers })
    const res = await new Promise<{ status: number, body: string }>((resolve, reject) => {
      ws.on('error', reject)
      ws.on('unexpected-response', (req, r) => {
        let body = ''
        r.on('data', (d) => { body += d }).on('end', () => { req.destroy(); resolve({ status: r.statusCode ?? 0, body }) })
      })
      ws.on('open', () => reject(new Error('served a claimed user without --debug')))
    })
    assert.is(res.status, 401)
    assert.match(res.body, '--debug')
    assert.match(res.body, 'ed25519')
  }
  const c = await openRawSocket(server.url)
  c.send(req(1, 'whoami', []))
  assert.equal(await c.next(), { jsonrpc: '2.0', id: 1, result: null })
  await c.close(); await server.close()
})

test('debug auth on: ?user= and Basic set the caller for that connection', async () => {
  const { server } = await startServer({ debug: true })
  const a = await openRawSocket(server.url + '/?user=bob')
  const b = await openRawSocket(server.url, { headers: { authorization: 'Basic ' + Buffer.from('alice:pw').toString('base64') } })
  const n = await openRawSocket(server.url)
  a.send(req(1, 'whoami')); b.send(req(1, 'whoami')); n.send(req(1, 'whoami'))
  assert.is((await a.next() as { result: unknown }).result, 'bob')
  assert.is((await b.next() as { result: unknown }).result, 'alice')
  assert.is((await n.next() as { result: unknown }).result, null)
  await a.close(); await b.close(); await n.close(); await server.close()
})

test('unknown paths are 404, plain HTTP is 426, replication without a replicate() is 404', async () => {
  const { server } = await startServer()
  for (const path of ['/nope', '/replicate']) {
    const ws = new WebSocket(server.url + path)
    const status = await new Promise<number>((resolve) => {
      ws.on('error', () => {})
      ws.on('unexpected-response', (req, r) => { req.destroy(); resolve(r.statusCode ?? 0) })
    })
    assert.is(status, 404, path)
  }
  const status = await new Promise<number>((resolve, reject) => {
    httpRequest(`http://127.0.0.1:${server.port}/`, (r) => { r.resume(); resolve(r.statusCode ?? 0) }).on('error', reject).end()
  })
  assert.is(status, 426)
  await server.close()
})

test('1,000 connections opened and dropped leave no socket behind', async () => {
  const { server } = await startServer()
  for (let round = 0; round < 10; round++) {
    const socks = await Promise.all(Array.from({ length: 100 }, () => openRawSocket(server.url)))
    assert.ok(server.clientCount >= 100)
    socks.forEach((s, i) => { if (i % 2 === 0) s.ws.terminate(); else s.ws.close() })
  }
  await waitFor(() => server.clientCount === 0, 10_000, 'all sockets to be released')
  await server.close()
})

test('a reader that never reads is terminated once its unsent bytes pass the bound', async () => {
  const { server } = await startServer({ maxBufferedBytes: 2 * 1024 * 1024 })
  const c = await openRawSocket(server.url)
  const socket = (c.ws as unknown as { _socket: { pause (): void } })._socket
  socket.pause()
  const closed = new Promise<void>((resolve) => c.ws.once('close', () => resolve()))
  for (let i = 0; i < 64; i++) c.send(req(i, 'big', [1024 * 1024])) // 64 MiB of replies if nothing stopped it
  await waitFor(() => server.clientCount === 0, 10_000, 'the slow reader to be cut off')
  c.ws.terminate()
  await closed
  await server.close()
})

test('heartbeat: a socket that stops answering pings is terminated; a live one stays', async () => {
  const { server } = await startServer({ heartbeatMs: 50 })
  const dead = await openRawSocket(server.url)
  const live = await openRawSocket(server.url)
  ;(dead.ws as unknown as { _socket: { pause (): void } })._socket.pause()
  await waitFor(() => server.clientCount === 1, 3000, 'the dead socket to be terminated')
  await sleep(200)
  live.send(req(1, 'echo', ['alive']))
  assert.equal(await live.next(), { jsonrpc: '2.0', id: 1, result: ['alive'] })
  dead.ws.terminate()
  await live.close(); await server.close()
})

test('open() and close() are idempotent; port 0 picks a port; close() terminates sockets', async () => {
  const { server } = await startServer()
  await server.open()
  assert.ok(server.port > 0)
  assert.is(server.address, '127.0.0.1')
  const c = await openRawSocket(server.url)
  const closed = new Promise<void>((resolve) => c.ws.once('close', () => resolve()))
  await Promise.all([server.close(), server.close()])
  await closed
  assert.is(server.clientCount, 0)
  await server.close()
  const never = new RpcServer({ service: fakeService(), port: 0 })
  await never.close()
  const busy = new RpcServer({ service: fakeService(), host: '127.0.0.1', port: 0 })
  await busy.open()
  const clash = new RpcServer({ service: fakeService(), host: '127.0.0.1', port: busy.port })
  try {
    await clash.open()
    assert.unreachable('listening on a used port should fail')
  } catch (err) {
    assert.instance(err, HostError)
    assert.is((err as HostError).code, 'LISTEN_FAILED')
    assert.match((err as Error).message, 'already in use')
  }
  await clash.close(); await busy.close()
})

test.run()
