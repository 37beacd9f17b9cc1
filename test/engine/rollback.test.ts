import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createEngine, replay, MemoryFiles } from 'nodevms/engine'
import type { CallRecord, Engine } from 'nodevms/engine'

// Calls that must hit their gas or memory limit must not meet the wall-clock deadline on a busy machine.
const quiet = { log: () => {}, timeoutMs: 120_000 }
const MB = 1024 * 1024

const SCRIPT = `
let n = 0
const kept = []
exports.next = () => { kept.push({ n }); return ++n }
exports.state = () => ({ n, kept: kept.length, last: kept.length ? kept[kept.length - 1].n : null })
exports.bomb = () => { n += 1000; kept.push('doomed'); const a = []; for (;;) a.push({ a }) }
exports.spin = () => { n += 1000; kept.push('doomed'); for (;;) {} }
exports.asyncSpin = async () => { n += 1000; await null; kept.push('doomed'); for (;;) {} }
exports.slowOracle = async () => { n += 1000; await System.oracle(() => { for (;;) {} }) }
exports.writeThenBomb = async () => { n += 1000; await System.files.writeFile('/x', String(n)); const a = []; for (;;) a.push({}) }
exports.read = async () => { n++; try { return await System.files.readFile('/x') } catch (e) { return e.name } }
exports.thrown = () => { n += 1; throw new Error('the script\\'s own error keeps its effects') }
`

/** Every kind of call that hits a limit, and the limit it hits. */
const LIMIT_CALLS: Array<[string, string]> = [
  ['bomb', 'OutOfMemoryError'], ['spin', 'GasExhaustedError'], ['asyncSpin', 'GasExhaustedError'], ['writeThenBomb', 'OutOfMemoryError']
]

async function state (engine: Engine): Promise<unknown> {
  return (await engine.call('state')).result
}

test('memory bombs, endless loops and deadlines between normal calls leave the memory as it was', async () => {
  const files = new MemoryFiles()
  const engine = await createEngine(SCRIPT, { ...quiet, files, memoryLimit: 8 * MB, gasLimit: 200 })
  const records: CallRecord[] = []
  let n = 0
  let kept = 0
  for (let round = 0; round < 3; round++) {
    for (const [method, error] of LIMIT_CALLS) {
      records.push(await engine.call('next'))
      kept++
      n++
      const hit = await engine.call(method)
      assert.is(hit.error?.name, error, `${method}: fails with ${error}`)
      records.push(hit)
      assert.equal(await state(engine), { n, kept, last: n - 1 }, `round ${round}, after ${method}: the counter and the list are as the call before left them`)
    }
    records.push(await engine.call('thrown'))
    n++
    assert.equal(await state(engine), { n, kept, last: n - 2 }, 'an error the script throws itself keeps its effects')
  }
  await engine.close()
  assert.equal(await replay(SCRIPT, records, { memoryLimit: 8 * MB, gasLimit: 200, timeoutMs: 120_000 }), { ok: true }, 'a replay of the same calls gives the same records')
})

test('a deadline, in the script or in a live oracle fn, leaves the memory as it was', async () => {
  const engine = await createEngine(SCRIPT, { log: () => {}, gasLimit: 1e9, timeoutMs: 100 })
  await engine.call('next')
  for (const method of ['spin', 'slowOracle']) {
    const record = await engine.call(method)
    assert.is(record.error?.name, 'DeadlineExceededError', `${method}: the deadline fired`)
    assert.equal(await state(engine), { n: 1, kept: 1, last: 0 }, `${method}: no trace of the call in memory`)
  }
  await engine.close()
})

test('a flood of 200 calls that hit limits completes, and the memory is intact after it', async () => {
  const engine = await createEngine(SCRIPT, { ...quiet, memoryLimit: 4 * MB, gasLimit: 100 })
  for (let i = 0; i < 50; i++) await engine.call('next')
  for (let i = 0; i < 200; i++) {
    const record = await engine.call(i % 3 === 0 ? 'bomb' : 'spin')
    assert.ok(record.error?.name === 'OutOfMemoryError' || record.error?.name === 'GasExhaustedError', `call ${i} hit its limit`)
  }
  assert.equal(await state(engine), { n: 50, kept: 50, last: 49 }, 'the memory is what the 50 normal calls left')
  assert.is((await engine.call('next')).result, 51, 'and the engine goes on from there')
  await engine.close()
})

test('after thousands of calls, a limit hit puts back exactly the state before it', async () => {
  const engine = await createEngine(SCRIPT, { ...quiet, memoryLimit: 16 * MB, gasLimit: 200 })
  for (let i = 0; i < 20_000; i++) await engine.call('next')
  for (const [method] of LIMIT_CALLS) await engine.call(method)
  assert.equal(await state(engine), { n: 20_000, kept: 20_000, last: 19_999 }, 'every one of the 20,000 calls is still in memory')
  await engine.close()
})

test('a rollback never touches the files: the calls since the checkpoint get their recorded answers', async () => {
  let operations = 0
  class CountingFiles extends MemoryFiles {
    override async get (path: string) { operations++; return await super.get(path) }
    override async put (path: string, data: Uint8Array) { operations++; return await super.put(path, data) }
    override async list (dir: string) { operations++; return await super.list(dir) }
    override async del (path: string) { operations++; return await super.del(path) }
  }
  const files = new CountingFiles()
  await files.put('/x', new TextEncoder().encode('seven'))
  const engine = await createEngine(SCRIPT, { ...quiet, files, memoryLimit: 8 * MB, gasLimit: 200 })
  for (let i = 0; i < 5; i++) assert.is((await engine.call('read')).result, 'seven', 'the calls read the file')
  const before = operations
  assert.is((await engine.call('spin')).error?.name, 'GasExhaustedError', 'a call hits its limit')
  assert.is((await engine.call('state')).result && operations, before, 'undoing it touched no file')
  assert.equal(await state(engine), { n: 5, kept: 0, last: null }, 'and the five reads are still counted')
  await engine.close()
})

test.run()
