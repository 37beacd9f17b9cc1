import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createEngine, MemoryFiles } from 'nodevms/engine'
import { utf8 } from './fixture.js'

const quiet = { log: () => {} }

test('this.constructor.constructor("return process")() finds no process', async () => {
  const engine = await createEngine(`
    const viaThis = (() => { try { return typeof this.constructor.constructor('return process')() } catch (e) { return e.name } })()
    exports.escape = () => viaThis
    exports.fromMethod = function () { return this.constructor.constructor('return typeof process + typeof require + typeof globalThis.process')() }
    exports.viaFunction = () => Function('return this')() === globalThis
    exports.globals = () => Object.getOwnPropertyNames(globalThis).filter((k) => /^(process|require|host|module|exports|Buffer|std|os|nodevms.*|__.*)$/i.test(k))
  `, quiet)
  assert.is((await engine.call('escape')).result, 'ReferenceError', 'process is not defined at load time')
  const fromMethod = await engine.call('fromMethod')
  assert.ok(fromMethod.result === 'undefinedundefinedundefined' || fromMethod.error?.name === 'ReferenceError', 'process is not reachable from a method either')
  assert.is((await engine.call('viaFunction')).result, true, 'Function("return this") is only the sandbox\'s own global')
  assert.equal((await engine.call('globals')).result, [], 'no host object hangs off the global')
  await engine.close()
})

test('the host bridge behind System is not reachable through functions, errors or stacks', async () => {
  const engine = await createEngine(`
    const probes = {
      caller: () => System.files.readFile.caller,
      args: () => System.oracle.arguments,
      proto: () => Object.getOwnPropertyNames(Object.getPrototypeOf(System)),
      keys: () => [Object.keys(System), Object.keys(System.files).sort()],
      frozen: () => [Object.isFrozen(System), Object.isFrozen(System.files), Object.isFrozen(System.caller)],
      replace: () => { 'use strict'; System.oracle = () => 'fake' },
      stack: () => new Error('x').stack.includes('host')
    }
    exports.probe = (name) => { try { return { ok: probes[name]() } } catch (e) { return { threw: e.name } } }
  `, quiet)
  const probe = async (name: string) => (await engine.call('probe', [name])).result as { ok?: unknown, threw?: string }
  assert.ok((await probe('caller')).threw !== undefined || (await probe('caller')).ok === null, 'fn.caller does not expose the prelude')
  assert.ok((await probe('args')).threw !== undefined || (await probe('args')).ok === null, 'fn.arguments does not expose the prelude')
  assert.equal((await probe('keys')).ok, [['files', 'oracle', 'caller'], ['mkdir', 'readFile', 'readdir', 'rmdir', 'stat', 'unlink', 'writeFile']], 'System has only its documented members')
  assert.equal((await probe('frozen')).ok, [true, true, true], 'System and its parts are frozen')
  assert.is((await probe('replace')).threw, 'TypeError', 'System.oracle cannot be replaced')
  await engine.close()
})

test('System and everything under it is frozen, and globalThis.System cannot be replaced, redefined or deleted', async () => {
  const files = new MemoryFiles()
  const engine = await createEngine(`
    const fake = { caller: { id: 'alice' }, files: { writeFile: async () => {} }, oracle: async () => 4 }
    const original = System
    // A bundled library tries at load time, quietly.
    try { Reflect.defineProperty(globalThis, 'System', { value: fake }) } catch (e) {}
    const attacks = {
      reflectDefine: () => Reflect.defineProperty(globalThis, 'System', { value: fake }),
      reflectGetter: () => Reflect.defineProperty(globalThis, 'System', { get: () => fake }),
      objectDefine: () => Object.defineProperty(globalThis, 'System', { value: fake }),
      defineMany: () => Object.defineProperties(globalThis, { System: { value: fake } }),
      keyChangesMind: () => { let n = 0; Object.defineProperty(globalThis, { toString: () => (n++ === 0 ? 'harmless' : 'System') }, { value: fake }); return false },
      descriptorChangesMind: () => { let n = 0; return Reflect.defineProperty(globalThis, 'System', { get value () { return n++ === 0 ? original : fake } }) && System === original && false },
      evalFunction: () => (0, eval)('function System () { return 1 }'),
      globalGetter: () => globalThis.__defineGetter__('System', () => fake),
      assign: function () { 'use strict'; globalThis.System = fake },
      sloppyAssign: () => { globalThis.System = fake; return globalThis.System === original },
      remove: function () { 'use strict'; return delete globalThis.System },
      reflectDelete: () => Reflect.deleteProperty(globalThis, 'System'),
      defineCaller: () => Object.defineProperty(System, 'caller', { value: fake.caller }),
      defineId: () => Object.defineProperty(System.caller, 'id', { value: 'alice' }),
      reflectId: () => Reflect.defineProperty(System.caller, 'id', { get: () => 'alice' }),
      replaceWrite: function () { 'use strict'; System.files.writeFile = fake.files.writeFile },
      reflectWrite: () => Reflect.set(System.files, 'writeFile', fake.files.writeFile),
      methodProperty: function () { 'use strict'; System.files.writeFile.call = () => 1 },
      oracleProperty: function () { 'use strict'; System.oracle.apply = () => 1 },
      getterProperty: function () { 'use strict'; Object.getOwnPropertyDescriptor(System.caller, 'id').get.call = () => 'alice' },
      prototype: () => Object.setPrototypeOf(System, fake),
      reflectPrototype: () => Reflect.setPrototypeOf(System.files, fake.files),
      extend: function () { 'use strict'; System.extra = 1 }
    }
    exports.attack = (name) => { try { const ok = attacks[name](); return { ok: ok === undefined ? null : ok } } catch (e) { return { threw: e.name } } }
    exports.names = () => Object.keys(attacks)
    exports.check = async () => {
      const seen = new Set()
      const notFrozen = []
      const walk = (v, path) => {
        if (v === null || (typeof v !== 'object' && typeof v !== 'function') || seen.has(v)) return
        seen.add(v)
        if (!Object.isFrozen(v)) notFrozen.push(path)
        for (const key of Reflect.ownKeys(v)) {
          const d = Object.getOwnPropertyDescriptor(v, key)
          for (const part of ['value', 'get', 'set']) if (d[part] !== undefined && key !== 'prototype' || part === 'value' && key === 'prototype' && d.value) walk(d[part], path + '.' + String(key) + (part === 'value' ? '' : ':' + part))
        }
      }
      walk(System, 'System')
      const d = Object.getOwnPropertyDescriptor(globalThis, 'System')
      await System.files.writeFile('/written', 'yes')
      return { same: System === original, id: System.caller.id, notFrozen, writable: d.writable, configurable: d.configurable }
    }
  `, { ...quiet, files })
  const names = (await engine.call('names')).result as string[]
  for (const name of names) {
    const outcome = (await engine.call('attack', [name])).result as { ok?: unknown, threw?: string }
    assert.ok(outcome.threw === 'TypeError' || outcome.ok === false || outcome.ok === true && name === 'sloppyAssign',
      `${name}: refused (a TypeError, or false from Reflect), got ${JSON.stringify(outcome)}`)
  }
  const check = (await engine.call('check', [], { caller: 'bob' })).result as Record<string, unknown>
  assert.equal(check, { same: true, id: 'bob', notFrozen: [], writable: false, configurable: false }, 'System is the original, deeply frozen, and says who really called')
  assert.is(utf8(await files.get('/written')), 'yes', 'and its writes still reach the files')
  await engine.close()
})

test('prototype tricks in args stay inside the guest and do not change the host\'s objects', async () => {
  const engine = await createEngine(`
    exports.inspect = (o) => [o.admin === undefined, Object.getPrototypeOf(o) === Object.prototype, Object.keys(o)]
    exports.pollute = () => { Object.prototype.polluted = 'yes'; Array.prototype.toJSON = () => 'hijacked'; return 1 }
    exports.check = () => ({ polluted: ({}).polluted, json: JSON.stringify([1]) })
    exports.proto = () => JSON.parse('{"__proto__": {"admin": true}, "a": 1}')
  `, quiet)
  const tricky = JSON.parse('{"__proto__": {"admin": true}, "constructor": {"prototype": {"x": 1}}}') as unknown
  assert.equal((await engine.call('inspect', [tricky])).result, [true, true, ['__proto__', 'constructor']], 'a __proto__ key arrives as a plain own property')
  const record = await engine.call('proto')
  assert.is(({} as Record<string, unknown>).admin, undefined, 'a __proto__ key in a result does not touch the host\'s Object.prototype')
  assert.equal(Object.keys(record.result as object), ['__proto__', 'a'], 'the result keeps __proto__ as its own key')

  await engine.call('pollute')
  assert.equal((await engine.call('check')).result, { polluted: 'yes', json: '"hijacked"' }, 'a script may change its own prototypes')
  assert.is(({} as Record<string, unknown>).polluted, undefined, 'the host\'s Object.prototype is untouched')
  const next = await createEngine('exports.check = () => ({ polluted: ({}).polluted, json: JSON.stringify([1]) })', quiet)
  assert.equal((await next.call('check')).result, { json: '[1]' }, 'another engine starts clean')
  await next.close()
  await engine.close()
})

test('overriding built-ins that the prelude uses breaks only the script itself, and no handle leaks', async () => {
  const engine = await createEngine(`
    let n = 0
    exports.sabotage = () => {
      Function.prototype.call = function () { throw new Error('no call') }
      Function.prototype.apply = function () { throw new Error('no apply') }
      Promise.prototype.then = function () { throw new Error('no then') }
      JSON.stringify = () => 'broken'
      JSON.parse = () => ({})
      Object.defineProperty(Object.getPrototypeOf(Uint8Array.prototype), 'buffer', { get () { return { slice: () => ({ fake: true }) } } })
      return 'done'
    }
    exports.next = () => ++n
    exports.files = async () => { await System.files.writeFile('/x', new Uint8Array([1, 2])); return System.files.readFile('/x', 'hex') }
    exports.oracle = () => System.oracle(() => 5)
  `, { ...quiet, files: new MemoryFiles() })
  assert.is((await engine.call('sabotage')).result, 'done', 'the script rewrote the built-ins')
  for (let i = 0; i < 20; i++) {
    for (const m of ['next', 'files', 'oracle']) {
      const r = await engine.call(m)
      assert.ok('result' in r || 'error' in r, `${m} still gives a record`)
    }
  }
  await engine.close()
})

test('reading outside the files root is refused, whatever the path trick', async () => {
  const files = new MemoryFiles()
  await files.put('/secret', new TextEncoder().encode('inside'))
  const engine = await createEngine(`exports.read = async (p) => { try { return await System.files.readFile(p) } catch (e) { return e.name } }`, { ...quiet, files })
  for (const path of ['/../../etc/passwd', '../etc/passwd', '/etc/../../passwd', '/%2e%2e/etc/passwd', '\\..\\etc\\passwd', '/etc/passwd\u0000.txt', 'file:///etc/passwd']) {
    const result = (await engine.call('read', [path])).result
    assert.ok(result === 'InvalidPathError' || result === 'NotFoundError', `${JSON.stringify(path)} is refused or not found inside the root, got ${JSON.stringify(result)}`)
  }
  assert.is((await engine.call('read', ['/secret'])).result, 'inside', 'paths inside the root still work')
  await engine.close()
})

test.run()
