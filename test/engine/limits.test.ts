import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createEngine, replay } from 'nodevms/engine'
import type { CallRecord } from 'nodevms/engine'

const SCRIPT = `
let n = 0
exports.spin = () => { for (;;) n++ }
exports.work = (k) => { let s = 0; for (let i = 0; i < k; i++) s = (s + i * i) % 1000003; return s }
exports.next = () => ++n
exports.withOracles = async (k, heavy) => {
  let s = 0
  for (let j = 0; j < 3; j++) {
    s += await System.oracle(() => { let t = 0; for (let i = 0; i < heavy; i++) t += i; return j })
    for (let i = 0; i < k; i++) s = (s + i) % 7919
  }
  return s
}
exports.stuckOracle = async (k) => { let s = 0; for (let i = 0; i < k; i++) s += i; n++; await System.oracle(() => { for (;;) {} }); return 'unreachable' }
exports.asyncSpin = async () => { await null; for (;;) {} }
exports.recurse = () => { const f = (d) => f(d + 1) + 1; return f(0) }
exports.recurseCaught = () => { let depth = 0; const f = () => { depth++; f() }; try { f() } catch (e) { return [e.name, e.message, depth > 100] } }
`

// Gas tests must not meet the wall-clock deadline on a busy machine.
const RELAXED = { timeoutMs: 120_000 }

test('an endless loop runs out of gas with GasExhaustedError, and the next call works', async () => {
  const engine = await createEngine(SCRIPT, { gasLimit: 100 })
  const record = await engine.call('spin')
  assert.is(record.error?.name, 'GasExhaustedError', 'the call fails with GasExhaustedError')
  assert.match(record.error?.message ?? '', /gas/, 'the message says it ran out of gas')
  assert.is(record.gas, 101, 'gas used is recorded: the poll past the limit')
  assert.is((await engine.call('next')).result, ((await engine.call('next')).result as number) - 1, 'the engine keeps serving, with its state')
  const asyncRecord = await engine.call('asyncSpin')
  assert.is(asyncRecord.error?.name, 'GasExhaustedError', 'an async loop runs out of gas too')
  assert.type((await engine.call('next')).result, 'number', 'and the engine still serves')
  await engine.close()
})

test('gas is the same in two engines and in a replay', async () => {
  const a = await createEngine(SCRIPT, RELAXED)
  const b = await createEngine(SCRIPT, RELAXED)
  const calls: Array<[string, unknown[]]> = [['work', [2_000_000]], ['next', []], ['work', [500_000]], ['work', [3_000_000]]]
  const records: CallRecord[] = []
  for (const [m, args] of calls) {
    const ra = await a.call(m, args)
    const rb = await b.call(m, args)
    assert.is(ra.gas, rb.gas, `${m}(${args}) uses the same gas in both engines`)
    records.push(ra)
  }
  assert.ok(records[0].gas > 10, 'a busy call uses measurable gas')
  assert.ok(records[3].gas > records[0].gas, 'more work uses more gas')
  assert.is(records[1].gas, 0, 'a trivial call uses no gas')
  assert.is((await a.call('work', [2_000_000])).gas, records[0].gas, 'gas does not depend on earlier calls (the counter restarts)')
  await a.close()
  await b.close()
  assert.equal(await replay(SCRIPT, records, RELAXED), { ok: true }, 'the replay reproduces the gas')
})

test('work inside a live oracle fn does not count as gas, so a replay with recorded oracles uses the same gas', async () => {
  const engine = await createEngine(SCRIPT, RELAXED)
  const light = await engine.call('withOracles', [300_000, 0])
  const heavy = await engine.call('withOracles', [300_000, 2_000_000])
  assert.ok('result' in light && 'result' in heavy, 'both calls completed')
  assert.ok(light.gas > 0, 'the call itself uses gas')
  assert.is(heavy.gas, light.gas, 'a heavy oracle fn costs no gas')
  await engine.close()
  assert.equal(await replay(SCRIPT, [light, heavy], RELAXED), { ok: true }, 'the replay, which skips the fns, uses the same gas')
})

test('a tampered gas value is a divergence on the gas field', async () => {
  const engine = await createEngine(SCRIPT, RELAXED)
  const record = await engine.call('work', [1_000_000])
  await engine.close()
  const verdict = await replay(SCRIPT, [{ ...record, gas: record.gas + 1 }])
  assert.equal(verdict.divergence, { index: 0, field: 'gas', expected: record.gas + 1, actual: record.gas }, 'the replay names the gas field and both values')
})

test('the wall-clock deadline fails the call, records its gas position, and a replay stops at the same place', async () => {
  const engine = await createEngine(SCRIPT, { gasLimit: 1e9, timeoutMs: 150 })
  const started = Date.now()
  const record = await engine.call('spin')
  assert.ok(Date.now() - started < 3000, 'the call stopped soon after the deadline')
  assert.is(record.error?.name, 'DeadlineExceededError', 'the call fails with DeadlineExceededError')
  assert.type(record.deadlineGas, 'number', 'the gas position where it fired is recorded')
  assert.is(record.deadlineGas, record.gas, 'it is the gas used')
  const after = (await engine.call('next')).result as number
  await engine.close()

  const slow = await createEngine(SCRIPT, { gasLimit: 1e9, timeoutMs: 60_000 })
  const replayed = await slow.call('spin', [], { replay: record })
  assert.equal(replayed, record, 'a replay with a generous deadline stops at the recorded gas and gives the same record')
  assert.is((await slow.call('next')).result, after, 'and leaves the same state behind')
  await slow.close()
  assert.equal(await replay(SCRIPT, [record], { timeoutMs: 1 }), { ok: true }, 'replay() ignores its own clock for a recorded deadline')
})

test('a deadline that fires inside a live oracle fn is recorded as that oracle\'s outcome and replays', async () => {
  const engine = await createEngine(SCRIPT, { gasLimit: 1e9, timeoutMs: 150 })
  const record = await engine.call('stuckOracle', [0])
  assert.is(record.error?.name, 'DeadlineExceededError', 'the call fails with DeadlineExceededError')
  assert.is(record.oracles.length, 1, 'the interrupted oracle is recorded')
  assert.is(record.deadlineGas, undefined, 'no gas position: the oracle outcome marks where it fired')
  assert.is(record.gas, 0, 'no poll ran before the oracle, so the deadline could only fire inside it')
  const after = (await engine.call('next')).result
  await engine.close()
  const again = await createEngine(SCRIPT, { gasLimit: 1e9, timeoutMs: 60_000 })
  assert.equal(await again.call('stuckOracle', [0], { replay: record }), record, 'the replay stops at the same oracle with the same record')
  assert.is((await again.call('next')).result, after, 'and the same state')
  await again.close()
})

test('deep recursion ends in InternalError: stack overflow, and the engine keeps serving', async () => {
  const engine = await createEngine(SCRIPT)
  const record = await engine.call('recurse')
  assert.equal(record.error, { name: 'InternalError', message: 'stack overflow' }, 'the call fails with a clean stack overflow')
  assert.equal((await engine.call('recurseCaught')).result, ['InternalError', 'stack overflow', true], 'a script can catch it')
  assert.type((await engine.call('next')).result, 'number', 'the engine still serves')
  const again = await createEngine(SCRIPT)
  const replayed = await again.call('recurse', [], { replay: record })
  assert.equal(replayed, record, 'the overflow replays identically')
  await again.close()
  await engine.close()
})

test.run()
