import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createEngine, MemoryFiles } from 'nodevms/engine'
import type { CallRecord } from 'nodevms/engine'
import { utf8 } from './fixture.js'

// A script that runs any System.files operation the test names, and reports what came back.
const SCRIPT = `
const fs = System.files
const show = (v) => v instanceof Uint8Array ? { bytes: Array.from(v) } : v
exports.op = async (name, ...args) => show(await fs[name](...args))
exports.write = (path, kind, enc) => {
  const data = kind === 'u8' ? new Uint8Array([0, 1, 254, 255])
    : kind === 'ab' ? new Uint8Array([9, 8, 7]).buffer
    : kind === 'view' ? new DataView(new Uint8Array([5, 6, 7, 8]).buffer, 1, 2)
    : kind === 'u16' ? new Uint16Array([0x0102])
    : kind
  return fs.writeFile(path, data, enc)
}
exports.stat = async (path) => { const s = await fs.stat(path); return [s.isFile(), s.isDirectory(), s.size] }
exports.bigWrite = () => fs.writeFile('/g', 10n).then(() => 'written', (e) => e.name)
exports.fail = async (name, ...args) => { try { await fs[name](...args); return 'no error' } catch (e) { return { name: e.name, code: e.code, message: e.message } } }
`

async function setup () {
  const files = new MemoryFiles()
  const engine = await createEngine(SCRIPT, { files })
  const ok = async (method: string, ...args: unknown[]): Promise<unknown> => {
    const record: CallRecord = await engine.call(method, args)
    if (record.error) throw new Error(`${method}(${JSON.stringify(args)}) failed: ${record.error.name}: ${record.error.message}`)
    return record.result
  }
  const fail = async (...args: unknown[]) => await ok('fail', ...args) as { name: string, code?: string, message: string }
  const read = async (path: string) => utf8(await files.get(path))
  return { files, engine, ok, fail, read }
}

test('readFile and writeFile round-trip text in every encoding', async () => {
  const { engine, ok, read, files } = await setup()
  await ok('op', 'writeFile', '/a.txt', 'héllo ✓')
  assert.is(await read('/a.txt'), 'héllo ✓', 'a string is written as UTF-8 by default')
  assert.is(await ok('op', 'readFile', '/a.txt'), 'héllo ✓', 'utf8 is the default encoding')
  assert.is(await ok('op', 'readFile', '/a.txt', 'utf8'), 'héllo ✓', 'utf8 reads text')
  assert.is(await ok('op', 'readFile', '/a.txt', { encoding: 'utf8' }), 'héllo ✓', 'the encoding may be given as { encoding }')
  assert.is(await ok('op', 'readFile', '/a.txt', 'hex'), Buffer.from('héllo ✓').toString('hex'), 'hex reads bytes as hex')
  assert.is(await ok('op', 'readFile', '/a.txt', 'base64'), Buffer.from('héllo ✓').toString('base64'), 'base64 reads bytes as base64')
  assert.equal(await ok('op', 'readFile', '/a.txt', 'binary'), { bytes: [...Buffer.from('héllo ✓')] }, 'binary gives a Uint8Array')

  await ok('op', 'writeFile', '/b.bin', 'deadbeef', 'hex')
  assert.equal([...(await files.get('/b.bin'))!], [0xde, 0xad, 0xbe, 0xef], 'hex text is written as bytes')
  await ok('op', 'writeFile', '/c.bin', Buffer.from([1, 2, 3]).toString('base64'), 'base64')
  assert.equal([...(await files.get('/c.bin'))!], [1, 2, 3], 'base64 text is written as bytes')
  await ok('op', 'writeFile', '/d.txt', 'plain', 'utf8')
  assert.is(await read('/d.txt'), 'plain', 'utf8 text is written as is')
  await engine.close()
})

test('JSON values are written as their JSON text, so the seed\'s writeFile("/counter", i) works', async () => {
  const { engine, ok, read } = await setup()
  await ok('op', 'writeFile', '/counter', 1)
  assert.is(await read('/counter'), '1', 'a number is written as JSON')
  assert.is(await ok('op', 'readFile', '/counter', 'json'), 1, 'json reads it back as a number')
  await ok('op', 'writeFile', '/obj.json', { a: [1, null, 'x'] })
  assert.is(await read('/obj.json'), '{"a":[1,null,"x"]}', 'an object is written as JSON')
  await ok('op', 'writeFile', '/t', true)
  await ok('op', 'writeFile', '/n', null)
  assert.equal([await read('/t'), await read('/n')], ['true', 'null'], 'booleans and null are JSON too')
  await ok('op', 'writeFile', '/s.json', 'quoted', 'json')
  assert.is(await read('/s.json'), '"quoted"', 'a string with encoding json is written as a JSON string')
  assert.is(await ok('op', 'readFile', '/s.json', 'json'), 'quoted', 'and read back as the string')
  await engine.close()
})

test('Uint8Array, ArrayBuffer and other views are written as their bytes', async () => {
  const { engine, ok, files } = await setup()
  const bytes = async (p: string) => [...(await files.get(p))!]
  await ok('write', '/u8', 'u8')
  assert.equal(await bytes('/u8'), [0, 1, 254, 255], 'a Uint8Array is written byte for byte')
  await ok('write', '/ab', 'ab')
  assert.equal(await bytes('/ab'), [9, 8, 7], 'an ArrayBuffer is written byte for byte')
  await ok('write', '/view', 'view')
  assert.equal(await bytes('/view'), [6, 7], 'a DataView writes only its window')
  await ok('write', '/u16', 'u16')
  assert.equal(await bytes('/u16'), [2, 1], 'a Uint16Array writes its little-endian bytes')
  await engine.close()
})

test('stat, readdir (flat and recursive), mkdir, unlink and rmdir behave like a file system', async () => {
  const { engine, ok, fail } = await setup()
  await ok('op', 'writeFile', '/docs/a.txt', 'aaa')
  await ok('op', 'writeFile', '/docs/sub/b.txt', 'b')
  await ok('op', 'mkdir', '/empty')
  assert.equal(await ok('stat', '/docs/a.txt'), [true, false, 3], 'a file: isFile, not a directory, its size')
  assert.equal(await ok('stat', '/docs'), [false, true, 0], 'a directory made implicitly by a write')
  assert.equal(await ok('stat', '/empty'), [false, true, 0], 'a directory made by mkdir')
  assert.equal(await ok('stat', '/'), [false, true, 0], 'the root is a directory')
  assert.equal(await ok('op', 'readdir', '/'), ['docs', 'empty'], 'readdir lists names, sorted')
  assert.equal(await ok('op', 'readdir', '/docs'), ['a.txt', 'sub'], 'readdir of a subdirectory')
  assert.equal(await ok('op', 'readdir', '/', { recursive: true }), ['docs', 'docs/a.txt', 'docs/sub', 'docs/sub/b.txt', 'empty'], 'recursive readdir lists relative paths')
  assert.equal(await ok('op', 'readdir', '/empty'), [], 'an empty directory lists nothing')
  await ok('op', 'mkdir', '/empty')
  assert.equal(await ok('op', 'readdir', '/'), ['docs', 'empty'], 'mkdir of an existing directory is a no-op')

  await ok('op', 'unlink', '/docs/a.txt')
  assert.equal(await ok('op', 'readdir', '/docs'), ['sub'], 'unlink removes a file')
  assert.is((await fail('rmdir', '/docs')).name, 'DirectoryNotEmptyError', 'rmdir refuses a non-empty directory')
  await ok('op', 'rmdir', '/docs', { recursive: true })
  await ok('op', 'rmdir', '/empty')
  assert.equal(await ok('op', 'readdir', '/'), [], 'rmdir removes directories, recursive removes their contents')
  await engine.close()
})

test('a missing path rejects with NotFoundError for every operation', async () => {
  const { engine, fail } = await setup()
  for (const args of [['readFile', '/nope'], ['stat', '/nope'], ['readdir', '/nope'], ['unlink', '/nope'], ['rmdir', '/nope'], ['readFile', '/no/such/dir/file', 'json']]) {
    const err = await fail(...args)
    assert.is(err.name, 'NotFoundError', `${args[0]} of a missing path is a NotFoundError`)
    assert.is(err.code, 'ENOENT', `${args[0]}: code ENOENT`)
    assert.match(err.message, /\/nope|\/no\/such/, `${args[0]}: the message names the path`)
  }
  await engine.close()
})

test('wrong kinds of path are clear errors: a file is not a directory and the reverse', async () => {
  const { engine, ok, fail } = await setup()
  await ok('op', 'writeFile', '/f', 'x')
  await ok('op', 'mkdir', '/d')
  assert.is((await fail('readFile', '/d')).name, 'IsADirectoryError', 'readFile of a directory')
  assert.is((await fail('writeFile', '/d', 'x')).name, 'IsADirectoryError', 'writeFile over a directory')
  assert.is((await fail('unlink', '/d')).name, 'IsADirectoryError', 'unlink of a directory')
  assert.is((await fail('readdir', '/f')).name, 'NotADirectoryError', 'readdir of a file')
  assert.is((await fail('rmdir', '/f')).name, 'NotADirectoryError', 'rmdir of a file')
  assert.is((await fail('writeFile', '/f/child', 'x')).name, 'NotADirectoryError', 'a file cannot have children')
  assert.is((await fail('mkdir', '/f')).name, 'AlreadyExistsError', 'mkdir over a file')
  assert.is((await fail('rmdir', '/')).name, 'InvalidPathError', 'the root cannot be removed')
  assert.is((await fail('readFile', '/f', 'utf16')).name, 'TypeError', 'an unknown encoding is a TypeError')
  assert.is((await fail('readFile', 42)).name, 'TypeError', 'a path must be a string')
  assert.is((await ok('bigWrite')), 'TypeError', 'data that is not JSON cannot be written')
  await engine.close()
})

test('paths that escape the root are rejected and touch nothing outside it', async () => {
  const { engine, ok, fail, files } = await setup()
  await ok('op', 'writeFile', '/inside', 'x')
  const escapes = ['../etc/passwd', '/../../etc/passwd', '/a/../../b', '..', 'a/../../..', '/a\u0000b', '\u0000', 'a\\..\\..\\b', '\\etc\\passwd', '/.nodevms-dir']
  for (const path of escapes) {
    for (const op of ['readFile', 'writeFile', 'stat', 'readdir', 'mkdir', 'unlink', 'rmdir']) {
      const err = await fail(op, path, 'data')
      assert.is(err.name, 'InvalidPathError', `${op}(${JSON.stringify(path)}) is rejected as an invalid path`)
    }
  }
  assert.equal(files.entries().map(([p]) => p), ['/inside'], 'no refused operation wrote anything')
  await engine.close()
})

test('relative paths, "." and repeated slashes stay inside the root', async () => {
  const { engine, ok, files } = await setup()
  await ok('op', 'writeFile', 'rel.txt', '1')
  await ok('op', 'writeFile', '//a//./b/../c.txt', '2')
  assert.equal(files.entries().map(([p]) => p), ['/a/c.txt', '/rel.txt'], 'paths are normalised inside the root')
  assert.is(await ok('op', 'readFile', './a/c.txt'), '2', 'a relative path reads the same file')
  await engine.close()
})

test('writes a method starts but does not await still happen, in order, before the call ends', async () => {
  const files = new MemoryFiles()
  const engine = await createEngine(`
    const fs = System.files
    exports.fire = () => { fs.writeFile('/a', '1'); fs.writeFile('/a', '2'); fs.writeFile('/b', 'x'); return 7 }
    exports.fireThenThrow = () => { fs.writeFile('/c', 'y'); throw new RangeError('after the write') }
    exports.later = () => { Promise.resolve().then(() => fs.writeFile('/d', 'z')); return 'sync' }
  `, { files })
  assert.is((await engine.call('fire')).result, 7, 'the sync result is kept')
  assert.equal(files.entries().map(([p, d]) => [p, utf8(d)]), [['/a', '2'], ['/b', 'x']], 'all three writes happened, the second /a last')
  assert.equal((await engine.call('fireThenThrow')).error, { name: 'RangeError', message: 'after the write' }, 'the error is recorded')
  assert.is(utf8(await files.get('/c')), 'y', 'and the write it started still happened')
  assert.is((await engine.call('later')).result, 'sync', 'a write from a microtask')
  assert.is(utf8(await files.get('/d')), 'z', 'is settled before the call ends')
  await engine.close()
})

test('System.files is unavailable while the script loads, and is frozen', async () => {
  const engine = await createEngine(`
    let loadError = null
    System.files.readFile('/x').catch((e) => { loadError = e.message })
    exports.loadError = () => loadError
    exports.tamper = () => { 'use strict'; try { System.files.readFile = () => 'fake'; return 'changed' } catch (e) { return e.name } }
  `)
  assert.match((await engine.call('loadError')).result as string, /while the script loads/, 'a load-time file op is refused with a clear message')
  assert.is((await engine.call('tamper')).result, 'TypeError', 'System.files cannot be replaced')
  await engine.close()
})

test.run()
