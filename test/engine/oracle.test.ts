import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createEngine, replay, MemoryFiles } from 'nodevms/engine'
import type { CallRecord } from 'nodevms/engine'
import { fixture } from './fixture.js'

const SCRIPT = `
let runs = 0
exports.roll = async () => {
  const a = await System.oracle(() => { runs++; return Math.random() })
  const b = await System.oracle(() => ({ at: Date.now(), when: new Date().getFullYear(), undef: undefined }))
  return { a, b }
}
exports.runs = () => runs
exports.failing = async () => {
  try { await System.oracle(() => { runs++; throw new RangeError('sensor offline') }) } catch (e) { return e.name + ': ' + e.message }
}
exports.uncaught = () => System.oracle(() => { throw new TypeError('nope') })
exports.asyncFn = async () => { try { await System.oracle(async () => 1); return 'ran' } catch (e) { return e.name + ': ' + e.message } }
exports.filesInside = async () => System.oracle(() => typeof System.files.readFile('/x').then)
exports.filesInside2 = async () => { const p = await System.oracle(() => { let msg; System.files.readFile('/x').catch((e) => { msg = e.message }); return 1 }); return p }
exports.nested = async () => { try { await System.oracle(() => System.oracle(() => 1)); return 'ran' } catch (e) { return e.message } }
exports.notFn = async () => { try { await System.oracle(42); return 'ran' } catch (e) { return e.name } }
exports.unencodable = async () => { try { await System.oracle(() => 10n); return 'ran' } catch (e) { return e.name + ': ' + e.message } }
exports.count = async (n) => { const out = []; for (let i = 0; i < n; i++) out.push(await System.oracle(() => i)); return out }
`

test('the seed\'s oracle.js records its Math.random value, and a replay returns it and writes the same file', async () => {
  const files = new MemoryFiles()
  const engine = await createEngine(fixture('oracle.js'), { files })
  const record = await engine.call('default')
  await engine.close()
  assert.type(record.result, 'number', 'the oracle gave a random number')
  assert.equal(record.oracles, [{ value: record.result }], 'its value is recorded as the call\'s oracle outcome')
  assert.is(new TextDecoder().decode((await files.get('/latest'))!), String(record.result), 'the value was written to /latest')

  const replayFiles = new MemoryFiles()
  const again = await createEngine(fixture('oracle.js'), { files: replayFiles })
  const replayed = await again.call('default', [], { replay: record })
  await again.close()
  assert.equal(replayed, record, 'the replay reproduces the record')
  assert.equal(replayFiles.entries(), files.entries(), 'and the same files')
})

test('a live oracle fn has a working clock and randomness; its JSON round-trip is returned and recorded', async () => {
  const engine = await createEngine(SCRIPT)
  const record = await engine.call('roll')
  const { a, b } = record.result as { a: number, b: { at: number, when: number, undef?: unknown } }
  assert.ok(a >= 0 && a < 1, 'Math.random works inside the oracle')
  assert.ok(Math.abs(b.at - Date.now()) < 60_000, 'Date.now() inside the oracle is the real time')
  assert.is(b.when, new Date(b.at).getUTCFullYear(), 'new Date() works inside the oracle')
  assert.not.ok('undef' in b, 'the script sees the JSON round-trip of the value')
  assert.equal(record.oracles, [{ value: a }, { value: { at: b.at, when: b.when } }], 'both outcomes are recorded, in order')
  await engine.close()
})

test('a replay returns the recorded oracle values without running fn', async () => {
  const live = await createEngine(SCRIPT)
  const record = await live.call('roll')
  await live.close()
  const engine = await createEngine(SCRIPT)
  const tampered: CallRecord = { ...record, oracles: [{ value: 0.5 }, { value: { at: 1, when: 1970 } }] }
  const replayed = await engine.call('roll', [], { replay: tampered })
  assert.equal(replayed.result, { a: 0.5, b: { at: 1, when: 1970 } }, 'the script got the recorded values, not fresh ones')
  assert.is((await engine.call('runs')).result, 0, 'fn never ran in the replay (its side effect did not happen)')
  await engine.close()
})

test('an error thrown in fn is recorded, and rethrown identically in the replay', async () => {
  const engine = await createEngine(SCRIPT)
  const record = await engine.call('failing')
  assert.is(record.result, 'RangeError: sensor offline', 'the script caught the oracle\'s error with its name and message')
  assert.equal(record.oracles, [{ error: { name: 'RangeError', message: 'sensor offline' } }], 'the error is the recorded outcome')
  const uncaught = await engine.call('uncaught')
  assert.equal(uncaught.error, { name: 'TypeError', message: 'nope' }, 'an uncaught oracle error fails the call with it')
  await engine.close()

  const again = await createEngine(SCRIPT)
  assert.equal(await again.call('failing', [], { replay: record }), record, 'the replay rethrows the same error, giving the same record')
  assert.equal(await again.call('uncaught', [], { replay: uncaught }), uncaught, 'an uncaught one too')
  assert.is((await again.call('runs')).result, 0, 'and fn did not run')
  await again.close()
})

test('oracle fns must be sync functions without files or nested oracles', async () => {
  const engine = await createEngine(SCRIPT)
  assert.is((await engine.call('asyncFn')).result, 'TypeError: System.oracle fn must be synchronous, but it returned a promise', 'an async fn is rejected')
  const inside = await engine.call('filesInside2')
  assert.is(inside.result, 1, 'a file op inside fn does not break the oracle')
  const msg = await engine.call('nested')
  assert.match(msg.result as string, /inside an oracle/, 'an oracle inside an oracle is refused')
  assert.is((await engine.call('notFn')).result, 'TypeError', 'System.oracle needs a function')
  assert.match((await engine.call('unencodable')).result as string, /cannot be encoded as JSON/, 'a non-JSON oracle value is an error')
  await engine.close()
})

test('System.oracle is refused while the script loads: no call could record it', async () => {
  const engine = await createEngine(`
    let seen = 'not settled'
    System.oracle(() => 1).then((v) => { seen = v }, (e) => { seen = e.message })
    exports.seen = () => seen
  `)
  assert.match((await engine.call('seen')).result as string, /unavailable while the script loads/, 'the load-time oracle is rejected with a clear message')
  await engine.close()
})

test('System.files is unavailable inside fn', async () => {
  const engine = await createEngine(`exports.f = async () => {
    let seen = null
    await System.oracle(() => { System.files.readFile('/x').catch((e) => { seen = e.message }); return 0 })
    await null
    return seen
  }`)
  assert.match((await engine.call('f')).result as string, /unavailable inside an oracle/, 'the file op inside fn is refused')
  await engine.close()
})

test('a replay that asks for more oracles than were recorded diverges, naming the call and the oracle', async () => {
  const live = await createEngine(SCRIPT)
  const records = [await live.call('count', [1]), await live.call('count', [2])]
  await live.close()
  const shortened: CallRecord[] = [records[0], { ...records[1], oracles: records[1].oracles.slice(0, 1) }]
  const verdict = await replay(SCRIPT, shortened)
  assert.is(verdict.ok, false, 'the replay fails')
  assert.is(verdict.divergence?.index, 1, 'at the call that asked for more')
  assert.is(verdict.divergence?.field, 'oracles.length', 'the field is the oracle count')
  assert.is(verdict.divergence?.expected, 1, 'the log recorded one')
  assert.is(verdict.divergence?.actual, 2, 'the replay asked for two')

  const engine = await createEngine(SCRIPT)
  const rec = await engine.call('count', [2], { replay: shortened[1] })
  assert.is(rec.error?.name, 'ReplayDivergenceError', 'engine.call reports the overrun as a divergence error')
  assert.match(rec.error?.message ?? '', /oracle #1/, 'naming the oracle index that was not recorded')
  await engine.close()
})

test('a replay that asks for fewer oracles than were recorded diverges', async () => {
  const live = await createEngine(SCRIPT)
  const record = await live.call('count', [1])
  await live.close()
  const padded: CallRecord = { ...record, oracles: [...record.oracles, { value: 99 }] }
  const verdict = await replay(SCRIPT, [padded])
  assert.is(verdict.ok, false, 'the replay fails')
  assert.equal([verdict.divergence?.index, verdict.divergence?.field, verdict.divergence?.expected, verdict.divergence?.actual], [0, 'oracles.length', 2, 1], 'the oracle count differs at call 0')
})

test('a replay that gets a different oracle value reports the oracles field', async () => {
  const live = await createEngine(SCRIPT)
  const record = await live.call('count', [2])
  await live.close()
  const verdict = await replay(SCRIPT, [{ ...record, oracles: [{ value: 0 }, { value: 7 }] }])
  assert.is(verdict.ok, false, 'a changed oracle value changes the result')
  assert.is(verdict.divergence?.field, 'result', 'the first differing field is the result')
})

test.run()
