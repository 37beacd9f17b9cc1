import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createEngine, EngineError } from 'nodevms/engine'

const SCRIPT = `
  exports.echo = (...args) => args
  exports.nothing = () => undefined
  exports.holes = () => ({ a: undefined, b: [undefined, 1], c: null })
  exports.cyclic = () => { const o = {}; o.self = o; return o }
  exports.big = () => 10n
  exports.fn = () => function () {}
  exports.nested = () => ({ deep: [1, { f: () => 1 }] })
  exports.date = () => new Date(0)
  exports.map = () => new Map([[1, 2]])
  exports.sym = () => Symbol('s')
  exports.nan = () => [NaN, Infinity, -0]
  exports.after = async () => { await null; return 10n }
`

test('JSON values cross both ways, and undefined becomes null', async () => {
  const engine = await createEngine(SCRIPT)
  const args = [1, 'two', true, null, { nested: [1.5, { x: 'y' }] }, [], {}]
  const echo = await engine.call('echo', args)
  assert.equal(echo.result, args, 'args come back unchanged')
  assert.equal(echo.args, args, 'the record keeps the args')
  const nothing = await engine.call('nothing')
  assert.ok('result' in nothing, 'a call that returns undefined still has a result')
  assert.is(nothing.result, null, 'undefined is recorded as null')
  assert.equal((await engine.call('holes')).result, { b: [null, 1], c: null }, 'undefined properties drop, undefined in arrays becomes null, as JSON does')
  assert.equal((await engine.call('date')).result, '1970-01-01T00:00:00.000Z', 'a Date becomes its JSON text')
  assert.equal((await engine.call('map')).result, {}, 'a Map becomes {} as in JSON.stringify')
  assert.equal((await engine.call('nan')).result, [null, null, 0], 'non-finite numbers become null as in JSON')
  await engine.close()
})

test('results and args come back byte for byte, whatever characters they hold', async () => {
  const engine = await createEngine(SCRIPT)
  const tricky = ['$&', "$'", '$`', '$1', '$$', '"records":[]', '\u2028\u2029', '\ud800', 'é😀', '\u0000', '</script>']
  assert.equal((await engine.call('echo', tricky)).result, tricky, 'replacement patterns, separators, lone surrogates and NULs survive the trip')
  await engine.close()
})

test('undefined args become null, and missing args stay missing', async () => {
  const engine = await createEngine('exports.count = (...a) => [a.length, a]')
  assert.equal((await engine.call('count', [undefined, 1])).result, [2, [null, 1]], 'an undefined arg arrives as null')
  assert.equal((await engine.call('count')).result, [0, []], 'no args is an empty list')
  await engine.close()
})

test('a result that cannot be encoded fails that call with a clear error, and the engine keeps serving', async () => {
  const engine = await createEngine(SCRIPT)
  const cases: Array<[string, RegExp]> = [
    ['cyclic', /circular|cycl/i], ['big', /BigInt/i], ['fn', /function/], ['nested', /function/], ['sym', /symbol/], ['after', /BigInt/i]
  ]
  for (const [method, why] of cases) {
    const record = await engine.call(method)
    assert.not.ok('result' in record, `${method}: no result is recorded`)
    assert.is(record.error?.name, 'TypeError', `${method}: the call fails with a TypeError`)
    assert.match(record.error?.message ?? '', /cannot be encoded as JSON/, `${method}: the message says the result is not JSON`)
    assert.match(record.error?.message ?? '', why, `${method}: the message says why`)
  }
  assert.equal((await engine.call('echo', [1])).result, [1], 'the engine still serves')
  await engine.close()
})

test('arguments that are not JSON values are refused with INVALID_ARGS before the call runs', async () => {
  const engine = await createEngine('let calls = 0; exports.f = () => ++calls')
  const cyclic: Record<string, unknown> = {}
  cyclic.self = cyclic
  const bad: Array<[string, unknown]> = [
    ['a function', [() => 1]], ['a BigInt', [1n]], ['a cycle', [cyclic]], ['a symbol', [Symbol('s')]],
    ['NaN', [NaN]], ['Infinity', [{ x: Infinity }]], ['not an array', { 0: 1 }], ['a string', 'x']
  ]
  for (const [what, args] of bad) {
    try {
      await engine.call('f', args as unknown[])
      assert.unreachable(`${what} must be refused`)
    } catch (err) {
      assert.instance(err, EngineError, `${what}: refused with an EngineError`)
      assert.is((err as EngineError).code, 'INVALID_ARGS', `${what}: the code is INVALID_ARGS`)
    }
  }
  assert.is((await engine.call('f')).result, 1, 'no refused call ran, and the engine still serves')
  await engine.close()
})

test('the record holds a JSON copy of the args: changing them afterwards changes nothing', async () => {
  const engine = await createEngine('exports.f = (o) => o')
  const arg = { list: [1] }
  const record = await engine.call('f', [arg])
  arg.list.push(2)
  assert.equal(record.args, [{ list: [1] }], 'the record is not aliased to the caller\'s objects')
  await engine.close()
})

test('errors thrown by a method are recorded by name and message; non-errors are described', async () => {
  const engine = await createEngine(`
    class QuotaError extends Error { constructor (m) { super(m); this.name = 'QuotaError' } }
    exports.custom = () => { throw new QuotaError('over quota') }
    exports.str = () => { throw 'plain string' }
    exports.obj = async () => { throw { name: 'Weird', message: 42 } }
    exports.num = () => { throw 7 }
    exports.hostile = () => { throw { get name () { throw new Error('boom') } } }
  `)
  assert.equal((await engine.call('custom')).error, { name: 'QuotaError', message: 'over quota' }, 'a custom error keeps its name')
  assert.equal((await engine.call('str')).error, { name: 'Error', message: 'plain string' }, 'a thrown string becomes its message')
  assert.equal((await engine.call('obj')).error, { name: 'Weird', message: '42' }, 'an error-like object keeps name and message, as strings')
  assert.equal((await engine.call('num')).error, { name: 'Error', message: '7' }, 'a thrown number becomes its message')
  assert.is((await engine.call('hostile')).error?.name, 'Error', 'an error whose getters throw is still described')
  await engine.close()
})

test.run()
