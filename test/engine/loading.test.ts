import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createEngine, EngineError } from 'nodevms/engine'
import type { Engine } from 'nodevms/engine'

const quiet = { log: () => {} }

async function withEngine (source: string, fn: (engine: Engine) => Promise<void>, options = {}): Promise<void> {
  const engine = await createEngine(source, { ...quiet, ...options })
  try { await fn(engine) } finally { await engine.close() }
}

async function loadError (source: string, options = {}): Promise<EngineError> {
  try {
    const engine = await createEngine(source, { ...quiet, filename: 'bad.js', ...options })
    await engine.close()
  } catch (err) {
    assert.instance(err, EngineError, 'a bad script is refused with an EngineError')
    return err as EngineError
  }
  throw new Error('createEngine accepted a script that should have been refused')
}

test('a script exporting functions on exports exposes each as a method, sync or async', async () => {
  await withEngine(`
    exports.sync = (a, b) => a + b
    exports.later = async (a) => { await null; return a * 2 }
    exports.notAMethod = 42
  `, async (engine) => {
    assert.equal(engine.methods.sort(), ['later', 'sync'], 'only functions are methods')
    assert.is((await engine.call('sync', [2, 3])).result, 5, 'a sync method returns its value')
    assert.is((await engine.call('later', [21])).result, 42, 'an async method resolves to its value')
  })
})

test('a script assigning an object to module.exports exposes its functions', async () => {
  await withEngine(`module.exports = { hello (name) { return 'hi ' + name }, async bye () { return 'bye' } }`, async (engine) => {
    assert.equal(engine.methods.sort(), ['bye', 'hello'], 'the object\'s functions are the methods')
    assert.is((await engine.call('hello', ['bob'])).result, 'hi bob', 'a method of module.exports runs')
    assert.is((await engine.call('bye')).result, 'bye', 'an async method of module.exports runs')
  })
})

test('a script exporting a single function exposes it as "default"', async () => {
  await withEngine('module.exports = async function () { return 7 }', async (engine) => {
    assert.equal(engine.methods, ['default'], 'a single function is the method default')
    assert.is((await engine.call('default')).result, 7, 'default runs')
  })
  await withEngine('module.exports = function (x) { return x }; module.exports.extra = () => 1', async (engine) => {
    assert.equal(engine.methods.sort(), ['default', 'extra'], 'functions hung on a default export are methods too')
  })
})

test('top-level code runs once at load and its state is shared by later calls', async () => {
  await withEngine('var loads = (globalThis.loads || 0) + 1; globalThis.loads = loads; var n = 0; exports.next = () => [loads, ++n]', async (engine) => {
    await engine.call('next')
    assert.equal((await engine.call('next')).result, [1, 2], 'load ran once, state persisted between calls')
  })
})

test('a syntax error is refused with SCRIPT_SYNTAX, naming the line and column', async () => {
  const err = await loadError('exports.a = () => 1\nexports.b = () => {\n  return 1 +\n}\n')
  assert.is(err.code, 'SCRIPT_SYNTAX', 'the code says it is a syntax error')
  assert.match(err.message, /bad\.js/, 'the message names the file')
  assert.match(err.message, /line 4/, 'the message gives the line of the error')
  assert.match(err.message, /column \d+/, 'the message gives the column')
})

test('a script that throws at load is refused with SCRIPT_LOAD_FAILED and the thrown message', async () => {
  const err = await loadError('exports.a = () => 1\nthrow new RangeError("no config")')
  assert.is(err.code, 'SCRIPT_LOAD_FAILED', 'the code says loading failed')
  assert.match(err.message, /RangeError: no config/, 'the message carries the script\'s error')
})

// Columns count from 1 in the script as written: the CommonJS wrapper the engine puts around line 1 must not show.
const PLACES: Array<[string, string, 'SCRIPT_SYNTAX' | 'SCRIPT_LOAD_FAILED', string]> = [
  ['a runtime error on line 1', 'exports.a = 1; foo()', 'SCRIPT_LOAD_FAILED', 'line 1, column 16'],
  ['a syntax error on line 1', 'exports.a = 1; )', 'SCRIPT_SYNTAX', 'line 1, column 16'],
  ['a runtime error at the very start', 'foo()', 'SCRIPT_LOAD_FAILED', 'line 1, column 1'],
  ['a runtime error on a later line', 'exports.a = 1\n  foo()', 'SCRIPT_LOAD_FAILED', 'line 2, column 3'],
  ['a syntax error on a later line', 'exports.a = 1\nexports.b = 2; )', 'SCRIPT_SYNTAX', 'line 2, column 16'],
  ['an error thrown in a function called from line 1', 'function f () { return null.x }\nf()', 'SCRIPT_LOAD_FAILED', 'line 1, column 28'],
  ['a guarded builtin called at the top level (thrown inside the prelude)', 'exports.a = 1\nvar t = Date.now()', 'SCRIPT_LOAD_FAILED', 'line 2, column 17'],
  ['a guarded builtin called on line 1', 'var t = Date.now()', 'SCRIPT_LOAD_FAILED', 'line 1, column 17']
]

for (const [what, source, code, place] of PLACES) {
  test(`${what} is reported at its place in the script as written (${place})`, async () => {
    const err = await loadError(source)
    assert.is(err.code, code, 'the kind of failure')
    assert.match(err.message, `(${place})`, `the place in the script: ${err.message}`)
  })
}

test('a load error message never ends a sentence twice', async () => {
  const located = await loadError('throw new Error("stop here.")')
  assert.match(located.message, 'Error: stop here. (line 1, column 16). The script', located.message)
  const bare = await loadError('throw { name: "Odd", message: "no place." }')
  assert.not.match(bare.message, '..', bare.message)
})

test('an infinite loop at load time does not hang: it runs out of gas', async () => {
  const started = Date.now()
  const err = await loadError('for (;;) {}', { gasLimit: 200 })
  assert.is(err.code, 'SCRIPT_LOAD_FAILED', 'the loop is a load failure')
  assert.match(err.message, /GasExhaustedError/, 'the message says gas ran out')
  assert.ok(Date.now() - started < 5000, 'it stops quickly')
})

test('a load-time loop that outruns the deadline before the gas is a DeadlineExceededError', async () => {
  const err = await loadError('for (;;) {}', { gasLimit: 1e9, timeoutMs: 100 })
  assert.match(err.message, /DeadlineExceededError/, 'the message says the deadline fired')
})

test('calling a method that does not exist is METHOD_NOT_FOUND, and the engine keeps serving', async () => {
  await withEngine('exports.real = () => "yes"', async (engine) => {
    try {
      await engine.call('imaginary')
      assert.unreachable('an unknown method must be refused')
    } catch (err) {
      assert.instance(err, EngineError, 'the refusal is an EngineError')
      assert.is((err as EngineError).code, 'METHOD_NOT_FOUND', 'the code says the method is unknown')
      assert.match((err as Error).message, /real/, 'the message lists the methods that do exist')
    }
    for (const name of ['toString', 'constructor', '__proto__', 'hasOwnProperty']) {
      await engine.call(name).then(() => assert.unreachable(`${name} is not an export`), (err: EngineError) => assert.is(err.code, 'METHOD_NOT_FOUND', `${name} from Object.prototype is not a method`))
    }
    assert.is((await engine.call('real')).result, 'yes', 'the engine still serves')
  })
})

test('a non-string source is refused', async () => {
  await createEngine(42 as unknown as string).then(() => assert.unreachable('a number is not a script'), (err: Error) => assert.instance(err, TypeError, 'a TypeError names the mistake'))
})

test.run()
