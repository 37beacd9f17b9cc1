import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createEngine, replay } from 'nodevms/engine'
import type { CallRecord } from 'nodevms/engine'

const SCRIPT = `
let n = 0
exports.add = (k) => { n += k; return n }
exports.fail = (m) => { throw new RangeError(m) }
exports.busy = (k) => { let s = 0; for (let i = 0; i < k; i++) s += i; return n }
exports.ask = async (k) => { let t = 0; for (let i = 0; i < k; i++) t += await System.oracle(() => i); return t }
`

async function record (): Promise<CallRecord[]> {
  const engine = await createEngine(SCRIPT)
  const calls: Array<[string, unknown[]]> = [['add', [1]], ['fail', ['bad']], ['busy', [1_000_000]], ['ask', [2]], ['add', [2]]]
  const out: CallRecord[] = []
  for (const [m, a] of calls) out.push(await engine.call(m, a))
  await engine.close()
  return out
}

test('replay() of an untouched log is ok', async () => {
  assert.equal(await replay(SCRIPT, await record()), { ok: true }, 'every record is reproduced')
  assert.equal(await replay(SCRIPT, []), { ok: true }, 'an empty log replays')
})

test('replay() reports the index, field, expected and actual value of a tampered result', async () => {
  const records = await record()
  records[4] = { ...records[4], result: 99 }
  assert.equal(await replay(SCRIPT, records), { ok: false, divergence: { index: 4, field: 'result', expected: 99, actual: 3 } }, 'the tampered result is named')
})

test('replay() reports a tampered error', async () => {
  const records = await record()
  records[1] = { ...records[1], error: { name: 'RangeError', message: 'worse' } }
  assert.equal((await replay(SCRIPT, records)).divergence, { index: 1, field: 'error', expected: { name: 'RangeError', message: 'worse' }, actual: { name: 'RangeError', message: 'bad' } }, 'the tampered error is named')
  const noError = await record()
  const { error: _dropped, ...rest } = noError[1]
  noError[1] = { ...rest, result: null }
  assert.is((await replay(SCRIPT, noError)).divergence?.field, 'result', 'a failed call recorded as a success is caught')
})

test('replay() reports tampered gas and a tampered oracle count', async () => {
  const records = await record()
  const gas = records[2].gas
  const tamperedGas = records.slice()
  tamperedGas[2] = { ...records[2], gas: gas - 1 }
  assert.equal((await replay(SCRIPT, tamperedGas)).divergence, { index: 2, field: 'gas', expected: gas - 1, actual: gas }, 'the gas field is named')
  const tamperedOracles = records.slice()
  tamperedOracles[3] = { ...records[3], oracles: [...records[3].oracles, { value: 5 }] }
  assert.equal((await replay(SCRIPT, tamperedOracles)).divergence, { index: 3, field: 'oracles.length', expected: 3, actual: 2 }, 'the oracle count is named')
  const tamperedValue = records.slice()
  tamperedValue[3] = { ...records[3], oracles: [{ value: 0 }, { value: 1 }], result: 1 }
  assert.equal(await replay(SCRIPT, tamperedValue), { ok: true }, 'oracle values are inputs: a consistent change replays')
})

test('a record for a method the script does not have is a divergence, not a crash', async () => {
  const records = await record()
  records.splice(1, 0, { method: 'ghost', args: [], caller: null, result: 1, oracles: [], gas: 0 })
  const verdict = await replay(SCRIPT, records)
  assert.is(verdict.ok, false, 'the replay fails')
  assert.is(verdict.divergence?.index, 1, 'at the ghost call')
  assert.match((verdict.divergence?.actual as { message: string }).message, /no method "ghost"/, 'explaining that the method does not exist')
})

test('a different script is caught at the first call it changes', async () => {
  const records = await record()
  const changed = SCRIPT.replace('n += k', 'n += k * 2')
  assert.equal((await replay(changed, records)).divergence, { index: 0, field: 'result', expected: 1, actual: 2 }, 'the first changed result is reported')
})

test('replayed records carry the caller, so caller-dependent scripts replay', async () => {
  const source = 'exports.who = () => System.caller.id'
  const engine = await createEngine(source)
  const records = [await engine.call('who', [], { caller: 'alice' }), await engine.call('who')]
  await engine.close()
  assert.equal(await replay(source, records), { ok: true }, 'the recorded callers are used')
  assert.equal((await replay(source, [{ ...records[0], caller: 'mallory' }])).divergence?.actual, 'mallory', 'a tampered caller changes the result')
})

test.run()
