import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createEngine, replay } from 'nodevms/engine'
import seedrandom from 'seedrandom'

const SCRIPT = `
exports.sample = () => ({
  now: Date.now(),
  iso: new Date().toISOString(),
  str: Date(),
  hours: new Date().getHours(),
  later: (() => { let x = 0; for (let i = 0; i < 1e5; i++) x += i; return Date.now() })(),
  draws: [Math.random(), Math.random(), Math.random()]
})
exports.awaited = async () => { const a = Date.now(); await null; await System.oracle(() => 1); return [a, Date.now(), Math.random()] }
`

test('seeded mode records a time and a seed for each call', async () => {
  const engine = await createEngine(SCRIPT, { seeded: true })
  const before = Date.now()
  const a = await engine.call('sample')
  const b = await engine.call('sample')
  assert.type(a.time, 'number', 'time is recorded')
  assert.ok(a.time! >= before && a.time! <= Date.now(), 'time is the host clock at the call')
  assert.type(a.seed, 'string', 'seed is recorded')
  assert.is.not(a.seed, b.seed, 'each call gets a fresh seed')
  await engine.close()
})

test('Date is frozen at the recorded time for the whole call, in UTC', async () => {
  const engine = await createEngine(SCRIPT, { seeded: true })
  const r = await engine.call('sample')
  const v = r.result as { now: number, iso: string, str: string, hours: number, later: number }
  assert.is(v.now, r.time, 'Date.now() is the recorded time')
  assert.is(v.later, r.time, 'it does not move during the call')
  assert.is(v.iso, new Date(r.time!).toISOString(), 'new Date() is the recorded time')
  assert.is(v.hours, new Date(r.time!).getUTCHours(), 'local hours are UTC hours')
  assert.match(v.str, /GMT\+0000/, 'Date() prints in UTC')
  const awaited = (await engine.call('awaited')).result as number[]
  assert.is(awaited[0], awaited[1], 'the time stays frozen across awaits and oracles')
  await engine.close()
})

test('Math.random is seedrandom\'s alea, seeded with the recorded seed', async () => {
  const engine = await createEngine(SCRIPT, { seeded: true })
  const r = await engine.call('sample')
  const alea = seedrandom.alea(r.seed!)
  assert.equal((r.result as { draws: number[] }).draws, [alea(), alea(), alea()], 'the draws are alea(seed)\'s first three')
  await engine.close()
})

test('a seeded replay reuses the time and seed and reproduces every record', async () => {
  const engine = await createEngine(SCRIPT, { seeded: true })
  const records = [await engine.call('sample'), await engine.call('awaited'), await engine.call('sample')]
  await engine.close()
  assert.equal(await replay(SCRIPT, records, { seeded: true }), { ok: true }, 'the replay matches')
  const other = await createEngine(SCRIPT, { seeded: true })
  await new Promise((resolve) => setTimeout(resolve, 5))
  assert.equal(await other.call('sample', [], { replay: records[0] }), records[0], 'engine.call with { replay } gives the identical record later on')
  await other.close()
  const tampered = { ...records[2], seed: 'another seed' }
  const verdict = await replay(SCRIPT, [records[0], records[1], tampered], { seeded: true })
  assert.is(verdict.ok, false, 'a different seed is detected')
  assert.is(verdict.divergence?.index, 2, 'at the tampered call')
  assert.is(verdict.divergence?.field, 'result', 'as a different result')
})

test('without seeded mode no time or seed is recorded', async () => {
  const engine = await createEngine('exports.f = () => 1')
  const r = await engine.call('f')
  assert.not.ok('time' in r || 'seed' in r, 'the record has neither')
  await engine.close()
})

test.run()
