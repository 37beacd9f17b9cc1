import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createEngine, EngineError, MemoryFiles } from 'nodevms/engine'
import { fixture } from './fixture.js'

test('10,000 calls of every kind leave no handles behind: the heap stops growing, and close() is clean', async () => {
  const engine = await createEngine(`
    let n = 0
    exports.sync = () => ++n
    exports.files = async (i) => { await System.files.writeFile('/f' + (i % 10), { i }); return (await System.files.readFile('/f' + (i % 10), 'json')).i }
    exports.oracle = async () => System.oracle(() => 1)
    exports.fails = () => { throw new Error('no') }
    exports.missing = () => System.files.readFile('/nope')
    exports.bad = () => 10n
    exports.binary = async () => (await System.files.readFile('/f1', 'binary')).length
  `, { files: new MemoryFiles() })
  const methods = ['sync', 'files', 'oracle', 'fails', 'missing', 'bad', 'binary']
  const heap = async () => (await (engine as unknown as { stats (): Promise<{ heapBytes: number }> }).stats()).heapBytes
  let after1000 = 0
  for (let i = 0; i < 10_000; i++) {
    const record = await engine.call(methods[i % methods.length], [i])
    assert.ok('result' in record || 'error' in record, `call ${i} produced a record`)
    if (i === 999) after1000 = await heap()
  }
  // Every handle left behind would hold guest memory: 9,000 calls of them would show.
  assert.ok(await heap() <= after1000 + 64 * 1024, `the heap after 10,000 calls (${await heap()} bytes) is what it was after 1,000 (${after1000})`)
  await engine.close()
  await engine.close()
  assert.ok(true, 'close() finished without a QuickJS abort, and a second close() is a no-op')
})

test('calls run one at a time, in the order they were made', async () => {
  const engine = await createEngine(fixture('persistent-counter.js'))
  const results = await Promise.all(Array.from({ length: 50 }, () => engine.call('increment')))
  assert.equal(results.map((r) => r.result), Array.from({ length: 50 }, (_, i) => i + 1), 'each call saw the one before it complete')
  await engine.close()
})

test('close() waits for queued calls, and later calls are refused with ENGINE_CLOSED', async () => {
  const engine = await createEngine(fixture('persistent-counter.js'))
  const pending = [engine.call('increment'), engine.call('increment')]
  const closing = engine.close()
  assert.equal((await Promise.all(pending)).map((r) => r.result), [1, 2], 'calls made before close() complete')
  await closing
  await engine.call('increment').then(() => assert.unreachable('a closed engine must refuse calls'), (err: EngineError) => {
    assert.instance(err, EngineError, 'refused with an EngineError')
    assert.is(err.code, 'ENGINE_CLOSED', 'the code is ENGINE_CLOSED')
  })
})

test('a promise that can never settle fails the call with UnsettledPromiseError instead of hanging', async () => {
  const engine = await createEngine(`
    let n = 0
    exports.never = () => new Promise(() => {})
    exports.waitsOnNever = async () => { await new Promise(() => {}); return 'unreachable' }
    exports.next = () => ++n
  `)
  for (const m of ['never', 'waitsOnNever']) {
    const record = await engine.call(m)
    assert.is(record.error?.name, 'UnsettledPromiseError', `${m}: the call fails with UnsettledPromiseError`)
    assert.match(record.error?.message ?? '', /never settle/, `${m}: the message explains it`)
  }
  assert.is((await engine.call('next')).result, 1, 'the engine keeps serving')
  await engine.close()
})

test('each engine is isolated: globals set by one script are not seen by another', async () => {
  const a = await createEngine('globalThis.shared = 1; exports.f = () => typeof globalThis.shared')
  const b = await createEngine('exports.f = () => typeof globalThis.shared')
  assert.is((await a.call('f')).result, 'number', 'a sees its own global')
  assert.is((await b.call('f')).result, 'undefined', 'b does not')
  await a.close()
  await b.close()
})

test('System.caller.id is the caller given to call(), or null', async () => {
  const engine = await createEngine('exports.who = async () => { await null; return System.caller.id }')
  assert.is((await engine.call('who')).result, null, 'no caller is null')
  const record = await engine.call('who', [], { caller: 'bob' })
  assert.is(record.result, 'bob', 'the caller is visible after an await')
  assert.is(record.caller, 'bob', 'and recorded')
  await engine.call('who', [], { caller: 42 as unknown as string }).then(() => assert.unreachable('a non-string caller must be refused'), (err: EngineError) => assert.is(err.code, 'INVALID_ARGS', 'a caller that is not a string is refused'))
  await engine.close()
})

test.run()
