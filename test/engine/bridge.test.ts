import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createEngine, MemoryFiles } from 'nodevms/engine'
import type { CallRecord, Engine } from 'nodevms/engine'

const quiet = { log: () => {} }

// Values a script can pass where the bridge expects a string, a JSON value or bytes.
const HOSTILE = `
const hostile = {
  bigint: () => 10n,
  cyclic: () => { const o = {}; o.self = o; return o },
  throwingToJSON: () => ({ toJSON () { throw new Error('toJSON threw') } }),
  throwingGetter: () => ({ get x () { throw new Error('getter threw') } }),
  throwingOptions: () => ({ get recursive () { throw new Error('getter threw') } }),
  proxy: () => new Proxy({}, { get () { throw new Error('trap') }, ownKeys () { throw new Error('trap') }, getOwnPropertyDescriptor () { throw new Error('trap') } }),
  revokedProxy: () => { const p = Proxy.revocable({}, {}); p.revoke(); return p.proxy },
  symbol: () => Symbol('s'),
  fn: () => () => 1,
  number: () => 42,
  nil: () => null,
  array: () => ['/a'],
  stringObject: () => new String('/a'),
  detached: () => { const b = new ArrayBuffer(8); if (typeof b.transfer === 'function') b.transfer(); return b }
}
exports.kinds = () => Object.keys(hostile)
// Encodings, as a string or inside an options object, that are not strings.
const badEncodings = {
  bigint: () => 10n, symbol: () => Symbol('s'), fn: () => () => 1, number: () => 42,
  proxy: () => hostile.proxy(), revokedProxy: () => hostile.revokedProxy(),
  optionBigint: () => ({ encoding: 10n }), optionNumber: () => ({ encoding: 7 }), optionObject: () => ({ encoding: {} }),
  optionGetter: () => ({ get encoding () { throw new Error('getter threw') } }), optionProxy: () => ({ encoding: hostile.proxy() })
}
const encodingOf = (kind) => badEncodings[kind]()
exports.encodingKinds = () => Object.keys(badEncodings)
`

const OPS = `
let n = 0
exports.next = () => ++n
const template = {
  readFile: ['/a', 'utf8'], writeFile: ['/a', 'text', 'utf8'], stat: ['/a'], readdir: ['/', { get recursive () { return true } }],
  mkdir: ['/d'], unlink: ['/a'], rmdir: ['/d', {}]
}
exports.attempt = async (op, position, kind, encodingKind) => {
  const args = template[op].slice()
  args[position] = encodingKind === undefined ? hostile[kind]() : encodingOf(encodingKind)
  try {
    const value = await System.files[op](...args)
    return { resolved: typeof value }
  } catch (e) {
    return { rejected: e instanceof TypeError ? 'TypeError' : String(e && e.name), message: String(e && e.message) }
  }
}
`

async function expectServing (engine: Engine, expected: number, why: string): Promise<void> {
  const record = await engine.call('next')
  assert.is(record.result, expected, `${why}: the engine keeps serving with its memory (got ${JSON.stringify(record.error ?? record.result)})`)
}

test('a path, encoding or option that is not what System.files expects is a catchable TypeError, never a host failure', async () => {
  const files = new MemoryFiles()
  await files.put('/a', new TextEncoder().encode('A'))
  const engine = await createEngine(HOSTILE + OPS, { ...quiet, files })
  const kinds = (await engine.call('kinds')).result as string[]
  const encodings = (await engine.call('encodingKinds')).result as string[]
  let counter = 0
  const positions: Array<[string, number, string[]]> = [
    ['readFile', 0, kinds], ['writeFile', 0, kinds], ['stat', 0, kinds], ['readdir', 0, kinds.filter((k) => k !== 'nil')],
    ['mkdir', 0, kinds], ['unlink', 0, kinds], ['rmdir', 0, kinds],
    ['readdir', 1, ['throwingOptions', 'proxy', 'revokedProxy']], ['rmdir', 1, ['throwingOptions', 'proxy', 'revokedProxy']],
    ['readFile', 1, encodings], ['writeFile', 2, encodings]
  ]
  for (const [op, position, which] of positions) {
    for (const kind of which) {
      const encodingKind = (op === 'readFile' && position === 1) || (op === 'writeFile' && position === 2) ? kind : undefined
      const record = await engine.call('attempt', encodingKind === undefined ? [op, position, kind] : [op, position, kind, encodingKind])
      const outcome = record.result as { rejected?: string, message?: string } | undefined
      assert.is(record.error, undefined, `${op} arg ${position} = ${kind}: the call itself completes (got ${JSON.stringify(record.error)})`)
      assert.is(outcome?.rejected, 'TypeError', `${op} arg ${position} = ${kind}: rejected with a TypeError the script caught (got ${JSON.stringify(outcome)})`)
      await expectServing(engine, ++counter, `${op} arg ${position} = ${kind}`)
    }
  }
  assert.equal(new TextDecoder().decode((await files.get('/a'))!), 'A', 'no bad request wrote anything')
  await engine.close()
})

test('data for writeFile that is not a JSON value or bytes is a catchable TypeError; JSON values are written as JSON', async () => {
  const files = new MemoryFiles()
  const engine = await createEngine(HOSTILE + OPS, { ...quiet, files })
  const expected: Record<string, string | null> = { number: '42', nil: 'null', array: '["/a"]', stringObject: '"/a"' }
  let counter = 0
  for (const kind of (await engine.call('kinds')).result as string[]) {
    const record = await engine.call('attempt', ['writeFile', 1, kind])
    const outcome = record.result as { resolved?: string, rejected?: string }
    assert.is(record.error, undefined, `data = ${kind}: the call completes (got ${JSON.stringify(record.error)})`)
    if (kind in expected) {
      assert.is(outcome.resolved, 'undefined', `data = ${kind}: written`)
      assert.is(new TextDecoder().decode((await files.get('/a'))!), expected[kind], `data = ${kind}: as its JSON text`)
    } else if (kind !== 'detached') {
      assert.is(outcome.rejected, 'TypeError', `data = ${kind}: rejected with a TypeError (got ${JSON.stringify(outcome)})`)
    } else {
      assert.ok(outcome.rejected === 'TypeError' || outcome.resolved === 'undefined', `data = detached bytes: a TypeError or a write (got ${JSON.stringify(outcome)})`)
    }
    await expectServing(engine, ++counter, `data = ${kind}`)
  }
  await engine.close()
})

// Everything the prelude might lean on, broken by the script before it uses the bridge.
const SABOTAGE: Record<string, string> = {
  arrayToJSON: `Array.prototype.toJSON = function () { return 'hijacked' }`,
  objectToJSONThrows: `Object.prototype.toJSON = function () { throw new Error('no JSON for you') }`,
  jsonReplaced: `JSON.stringify = () => '"forged"'; JSON.parse = () => ({ forged: true })`,
  indexSetters: `for (let i = 0; i < 8; i++) Object.defineProperty(Array.prototype, i, { set () { throw new Error('setter ' + i) }, get () { return 'got' }, configurable: true })`,
  objectSetters: `for (const k of ['name', 'message', 'code', 'value', 'error', 'outcome', 'caller', 'time', 'resolve', 'reject', 'length']) Object.defineProperty(Object.prototype, k, { __proto__: null, set () { throw new Error('set ' + k) }, configurable: true })`,
  descriptorPoison: `Object.defineProperty(Object.prototype, 'get', { __proto__: null, value: function () { return 'forged' }, configurable: true }); Object.defineProperty(Object.prototype, 'writable', { __proto__: null, value: false, configurable: true })`,
  stackHooks: `Error.prepareStackTrace = () => { throw new Error('no stack') }; Error.captureStackTrace = () => { throw new Error('no capture') }; Error.stackTraceLimit = 1e9`,
  callApply: `Function.prototype.call = function () { throw new Error('no call') }; Function.prototype.apply = function () { throw new Error('no apply') }; Reflect.apply = () => { throw new Error('no Reflect.apply') }`,
  promises: `const P = Promise; Promise.prototype.then = function () { throw new Error('no then') }; Promise.prototype.catch = null; Promise.resolve = Promise.reject = null; globalThis.Promise = function () { throw new Error('no Promise') }; Object.defineProperty(P, Symbol.species, { get () { throw new Error('no species') } })`,
  errors: `Object.defineProperty(Error.prototype, 'name', { value: 'Forged', writable: false }); globalThis.TypeError = function () { return { name: 'Forged' } }; globalThis.Error = function () { return { name: 'Forged' } }`,
  bytes: `const TA = Object.getPrototypeOf(Uint8Array.prototype); for (const k of ['buffer', 'byteOffset', 'byteLength', 'length']) Object.defineProperty(TA, k, { get () { throw new Error('no ' + k) } }); ArrayBuffer.prototype.slice = () => { throw new Error('no slice') }; ArrayBuffer.isView = () => false; globalThis.Uint8Array = function () { throw new Error('no Uint8Array') }`,
  iterators: `const arrayIterator = Object.getPrototypeOf([][Symbol.iterator]()); arrayIterator.next = () => { throw new Error('no next') }; Array.prototype[Symbol.iterator] = function () { throw new Error('no iterator') }`,
  objectStatics: `Object.keys = () => ['forged']; Object.freeze = (o) => o; Object.defineProperty = () => { throw new Error('no defineProperty') }; Array.isArray = () => false; String = () => 'forged'`,
  strings: `String.prototype.slice = () => 'forged'; String.prototype.startsWith = () => true; String.prototype.charCodeAt = () => 0; String.prototype.toString = () => 'forged'`
}

const SABOTAGED = `
let n = 0
const bytes = new Uint8Array([1, 2, 3])
const sabotage = {${Object.entries(SABOTAGE).map(([k, v]) => `${JSON.stringify(k)}: () => { ${v} }`).join(',\n')}}
// The steps are reported as one string: arrays and JSON may be exactly what the script broke.
const attempt = async (what, fn) => { try { await fn(); return what + '=ok;' } catch (e) { return what + '=threw;' } }
exports.next = () => ++n
exports.use = async (kind) => {
  sabotage[kind]()
  const fs = System.files
  let out = ''
  out += await attempt('writeText', () => fs.writeFile('/text', 'plain'))
  out += await attempt('writeBytes', () => fs.writeFile('/bytes', bytes))
  out += await attempt('writeJson', () => fs.writeFile('/json', { a: 1 }))
  out += await attempt('readText', () => fs.readFile('/text'))
  out += await attempt('readHex', () => fs.readFile('/bytes', 'hex'))
  out += await attempt('stat', () => fs.stat('/text'))
  out += await attempt('readdir', () => fs.readdir('/'))
  out += await attempt('missing', () => fs.readFile('/nope'))
  out += await attempt('oracle', () => System.oracle(() => 7))
  return out
}
`

test('a script that breaks the built-ins the bridge could use still gets correct files and oracles, and the host never fails', async () => {
  for (const kind of Object.keys(SABOTAGE)) {
    const files = new MemoryFiles()
    const engine = await createEngine(SABOTAGED, { ...quiet, files })
    let record: CallRecord
    try {
      record = await engine.call('use', [kind], { caller: 'carol' })
    } catch (err) {
      assert.unreachable(`${kind}: the engine must not fail (${(err as Error).message})`)
      return
    }
    assert.not.equal(record.error?.name, 'OutOfMemoryError', `${kind}: no out-of-memory reset`)
    assert.not.equal(record.error?.name, 'EngineFaultError', `${kind}: no engine fault`)
    const text = (path: string) => files.get(path).then((b) => (b === null ? null : Buffer.from(b).toString('hex')))
    assert.is(await text('/text'), Buffer.from('plain').toString('hex'), `${kind}: a text write stores exactly its text`)
    assert.is(await text('/bytes'), '010203', `${kind}: a byte write stores exactly its bytes`)
    const steps = record.result
    assert.type(steps, 'string', `${kind}: the method returned its steps (got ${JSON.stringify(record.error ?? record.result)})`)
    assert.match(steps as string, /readText=ok;readHex=ok;stat=ok;readdir=ok;missing=threw;oracle=ok;$/, `${kind}: every other step worked (${String(steps)})`)
    const json = await text('/json')
    if ((steps as string).includes('writeJson=ok')) assert.ok(json !== null && JSON.parse(Buffer.from(json, 'hex').toString()) !== undefined, `${kind}: a JSON write stores valid JSON text`)
    else assert.is(json, null, `${kind}: a JSON write the script's own toJSON refused wrote nothing`)
    assert.is(record.oracles.length, 1, `${kind}: the oracle ran once and was recorded`)
    assert.equal(record.oracles[0], { value: 7 }, `${kind}: with its value`)
    await expectServing(engine, 1, kind)
    await engine.close()
  }
})

test('a script that breaks Promise.prototype.constructor breaks only its own awaits', async () => {
  const engine = await createEngine(`
    let n = 0
    exports.next = () => ++n
    exports.breakAwait = async () => {
      Object.defineProperty(Promise.prototype, 'constructor', { get () { throw new TypeError('no constructor') } })
      await System.files.writeFile('/x', 'y')
      return 'unreachable'
    }
  `, { ...quiet, files: new MemoryFiles() })
  const record = await engine.call('breakAwait')
  assert.equal(record.error, { name: 'TypeError', message: 'no constructor' }, 'the call ends with the error its own await met')
  await expectServing(engine, 1, 'after the broken await')
  await engine.close()
})

test('a path made to look like the end of a request is just a path', async () => {
  const files = new MemoryFiles()
  const engine = await createEngine(`
    let n = 0
    exports.next = () => ++n
    exports.forge = async () => {
      // A path whose JSON text looks like the end of a request and the start of another.
      const tricky = '/a","../../etc",true]'
      try { await System.files.writeFile(tricky, 'x') } catch (e) { return e.name }
      return (await System.files.readdir('/')).join(',')
    }
  `, { ...quiet, files })
  const record = await engine.call('forge')
  assert.is(record.error, undefined, 'the call completes')
  assert.is(typeof record.result, 'string', 'the odd path is just a path')
  assert.equal(files.entries().map(([path]) => path), ['/etc",true]'], 'exactly the one normalised path was written')
  assert.is(record.result, 'etc",true]', 'and listed')
  await expectServing(engine, 1, 'after the forged request')
  await engine.close()
})

test.run()
