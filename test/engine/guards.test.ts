import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createEngine, MemoryFiles } from 'nodevms/engine'
import { fixture } from './fixture.js'

const PROBE = `
exports.try = (code) => { try { return { ok: (0, eval)(code) } } catch (e) { return { name: e.name, message: e.message } } }
exports.inOracle = (code) => System.oracle(() => (0, eval)(code))
exports.typeofs = (names) => names.map((n) => typeof globalThis[n])
`

test('the seed\'s nondeterministic.js fails its call with an error that points to System.oracle', async () => {
  const files = new MemoryFiles()
  const engine = await createEngine(fixture('nondeterministic.js'), { files })
  const record = await engine.call('default')
  assert.is(record.error?.name, 'NondeterminismError', 'Math.random() fails the call')
  assert.match(record.error?.message ?? '', /System\.oracle/, 'the message names System.oracle')
  assert.match(record.error?.message ?? '', /--seeded/, 'and mentions seeded mode')
  assert.is(files.size, 0, 'nothing was written')
  await engine.close()
})

test('Date(), new Date(), Date.now() and Math.random() throw a NondeterminismError naming System.oracle', async () => {
  const engine = await createEngine(PROBE)
  for (const code of ['Date()', 'new Date()', 'Date.now()', 'Math.random()', 'new Date().getTime()', 'Reflect.construct(Date, [])', 'new (class extends Date {})()']) {
    const r = (await engine.call('try', [code])).result as { name?: string, message?: string }
    assert.is(r.name, 'NondeterminismError', `${code} throws a NondeterminismError`)
    assert.match(r.message ?? '', /System\.oracle/, `${code}: the message names System.oracle`)
  }
  await engine.close()
})

test('explicit dates still work: new Date(0), Date.UTC, Date.parse and the prototype methods', async () => {
  const engine = await createEngine(PROBE)
  const ok = async (code: string) => ((await engine.call('try', [code])).result as { ok: unknown }).ok
  assert.is(await ok('new Date(0).toISOString()'), '1970-01-01T00:00:00.000Z', 'new Date(0) works')
  assert.is(await ok('new Date(2020, 0, 2, 3, 4).toISOString()'), '2020-01-02T03:04:00.000Z', 'local-time construction is UTC')
  assert.is(await ok('Date.UTC(2000, 1, 29)'), 951782400000, 'Date.UTC works')
  assert.is(await ok('Date.parse("2000-02-29T00:00:00")'), 951782400000, 'Date.parse of a local time is UTC')
  assert.is(await ok('new Date(0) instanceof Date'), true, 'instanceof Date holds')
  assert.is(await ok('new Date(0).constructor === Date'), true, 'the constructor is the guarded Date')
  assert.is(await ok('new Date(86400000).getTimezoneOffset()'), 0, 'the time zone offset is 0')
  assert.is(await ok('String(new Date(0))'), 'Thu Jan 01 1970 00:00:00 GMT+0000', 'toString prints UTC')
  await engine.close()
})

test('the clock and randomness work inside a live oracle', async () => {
  const engine = await createEngine(PROBE)
  for (const code of ['Date.now()', 'Math.random()', 'new Date().getTime()', 'Date().length']) {
    const r = await engine.call('inOracle', [code])
    assert.type(r.result, 'number', `${code} works inside System.oracle`)
  }
  const after = (await engine.call('try', ['Math.random()'])).result as { name?: string }
  assert.is(after.name, 'NondeterminismError', 'and is guarded again after it')
  await engine.close()
})

test('timers, WeakRef, FinalizationRegistry, require, process and Buffer do not exist', async () => {
  const engine = await createEngine(PROBE)
  const names = ['setTimeout', 'setInterval', 'setImmediate', 'clearTimeout', 'clearInterval', 'WeakRef', 'FinalizationRegistry', 'require', 'process', 'Buffer', 'queueMicrotask', 'performance', 'std', 'os']
  const kinds = (await engine.call('typeofs', [names])).result as string[]
  names.forEach((name, i) => assert.is(kinds[i], 'undefined', `${name} is not defined`))
  const globals = (await engine.call('typeofs', [['System', 'console', 'Promise', 'Map', 'JSON', 'Uint8Array']])).result
  assert.equal(globals, ['object', 'object', 'function', 'function', 'object', 'function'], 'the language itself is all there')
  await engine.close()
})

test('a script cannot get the real clock back by rebuilding Date or Math', async () => {
  const engine = await createEngine(PROBE)
  for (const code of [
    'Object.getPrototypeOf(new Date(0)).constructor.now()',
    'new Date(0).constructor()',
    'Date.prototype.constructor.now()',
    '(function () { delete Date; return Date.now() })()',
    '(function () { delete Math.random; return Math.random() })()',
    'Function("return Date.now()")()',
    'Reflect.construct(Object.getPrototypeOf(new Date(0)).constructor, []).getTime()'
  ]) {
    const r = (await engine.call('try', [code])).result as { ok?: unknown, name?: string }
    assert.not.type(r.ok, 'number', `${code} does not give a real time or random number`)
  }
  await engine.close()
})

test('Date.now() in a sync method and in later microtasks of the same call are all guarded', async () => {
  const engine = await createEngine('exports.f = async () => { await null; await System.oracle(() => 1); return Date.now() }')
  assert.is((await engine.call('f')).error?.name, 'NondeterminismError', 'the guard is back on after an oracle, across awaits')
  await engine.close()
})

test('console output goes to the host log, not into the record', async () => {
  const lines: string[] = []
  const engine = await createEngine('exports.f = () => { console.log("hello", { a: 1 }, [2]); console.error(new TypeError("bad")); return 1 }', {
    log: (level, message) => { lines.push(`${level} ${message}`) }
  })
  const record = await engine.call('f')
  assert.equal(lines, ['log hello {"a":1} [2]', 'error TypeError: bad'], 'log and error lines reach the host')
  assert.equal(Object.keys(record).sort(), ['args', 'caller', 'gas', 'method', 'oracles', 'result'], 'the record has no trace of the output')
  await engine.close()
})

test.run()
