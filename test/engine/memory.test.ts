import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createEngine, replay, MemoryFiles } from 'nodevms/engine'
import type { CallRecord } from 'nodevms/engine'

const MB = 1024 * 1024
const LIMITS = { memoryLimit: 8 * MB, gasLimit: 1_000_000, timeoutMs: 30_000 }

const SCRIPT = `
let calls = 0
exports.count = () => ++calls
exports.strings = () => { let t = 'xy'; for (;;) { t += t; t.charCodeAt(5) } }
exports.doubling = () => { let s = 'x'; for (;;) s += s }
exports.repeat = () => 'x'.repeat(1 << 29).length
exports.objects = () => { const a = []; for (let i = 0; ; i++) a.push({ i }) }
exports.typed = () => { const a = []; for (;;) a.push(new Float64Array(1 << 20)) }
exports.buffers = () => { const a = []; for (;;) a.push(new ArrayBuffer(3 * 1024 * 1024)) }
exports.hugeTyped = () => new Uint8Array(1e9).length
exports.nested = () => { let o = {}; for (;;) o = { o } }
exports.map = () => { const m = new Map(); for (let i = 0; ; i++) m.set(i, i) }
exports.asyncBomb = async () => { await null; const a = []; for (;;) a.push([a.length]) }
exports.writeThenBomb = async () => { await System.files.writeFile('/before', 'x'); const a = []; for (;;) a.push({}) }
exports.small = () => new Array(1000).fill(0).length
`

test('every kind of memory bomb fails its call with OutOfMemoryError, and leaves the memory as it was', async () => {
  const engine = await createEngine(SCRIPT, LIMITS)
  assert.is((await engine.call('count')).result, 1, 'a first call works')
  let count = 1
  for (const bomb of ['strings', 'repeat', 'objects', 'typed', 'buffers', 'hugeTyped', 'nested', 'map', 'asyncBomb']) {
    const started = Date.now()
    const record = await engine.call(bomb)
    assert.is(record.error?.name, 'OutOfMemoryError', `${bomb}: the call fails with OutOfMemoryError (got ${JSON.stringify(record.error)})`)
    assert.match(record.error?.message ?? '', /out of memory \(limit 8 MB\)/, `${bomb}: the message says so and gives the limit`)
    assert.match(record.error?.message ?? '', /no effect/, `${bomb}: and that the call had no effect`)
    assert.is(record.rebuilt, undefined, `${bomb}: nothing was rebuilt`)
    assert.not.ok('result' in record, `${bomb}: no result`)
    assert.ok(Date.now() - started < 20_000, `${bomb}: it stops in reasonable time`)
    assert.is((await engine.call('count')).result, ++count, `${bomb}: the engine serves again, with the memory it had before the bomb`)
    assert.is((await engine.call('small')).result, 1000, `${bomb}: and can allocate again`)
  }
  await engine.close()
})

test('doubling a string hits QuickJS\'s string length limit: a clean error, no rebuild', async () => {
  const engine = await createEngine(SCRIPT, LIMITS)
  await engine.call('count')
  const record = await engine.call('doubling')
  assert.ok(record.error?.name === 'InternalError' || record.error?.name === 'OutOfMemoryError', `the call fails cleanly (got ${JSON.stringify(record.error)})`)
  assert.type((await engine.call('count')).result, 'number', 'the engine keeps serving')
  await engine.close()
})

test('typed arrays cannot grow the WASM heap past its cap', async () => {
  const engine = await createEngine(SCRIPT, LIMITS)
  const started = Date.now()
  const record = await engine.call('typed')
  assert.is(record.error?.name, 'OutOfMemoryError', 'typed arrays run out of memory')
  assert.ok(Date.now() - started < 5000, 'long before they could fill 2 GB')
  await engine.close()
})

test('the engine leaves file writes made before running out of memory to its host; the record replays identically', async () => {
  const files = new MemoryFiles()
  const engine = await createEngine(SCRIPT, { ...LIMITS, files })
  const records: CallRecord[] = []
  for (const m of ['count', 'count', 'writeThenBomb', 'count', 'objects', 'nested', 'count', 'map', 'typed', 'count']) records.push(await engine.call(m))
  await engine.close()
  assert.ok(await files.get('/before') !== null, 'the write before the bomb happened')
  assert.equal(records.map((r) => r.result ?? r.error?.name), [1, 2, 'OutOfMemoryError', 3, 'OutOfMemoryError', 'OutOfMemoryError', 4, 'OutOfMemoryError', 'OutOfMemoryError', 5], 'no bomb touches the state')
  assert.equal(await replay(SCRIPT, records, LIMITS), { ok: true }, 'a replay runs out of memory at the same calls, with the same gas')
  const replayFiles = new MemoryFiles()
  const again = await createEngine(SCRIPT, { ...LIMITS, files: replayFiles })
  for (const r of records) assert.equal(await again.call(r.method, r.args, { replay: r }), r, `${r.method} replays to the identical record`)
  await again.close()
  assert.equal(replayFiles.entries(), files.entries(), 'and the same files')
})

test('a script that catches out-of-memory itself goes on, deterministically', async () => {
  const source = `exports.f = () => { try { const a = []; for (;;) a.push({}) } catch (e) { return e === null ? 'null' : e.message } }`
  const engine = await createEngine(source, LIMITS)
  const record = await engine.call('f')
  await engine.close()
  assert.equal(await replay(source, [record], LIMITS), { ok: true }, 'the caught outcome replays')
})

test.run()
