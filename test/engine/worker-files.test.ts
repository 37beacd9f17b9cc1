// System.files runs in the engine's worker, over what its batch of calls has read and written
// (engine/worker-files.ts): these tests check that this knowledge saves round trips and never changes an
// outcome, whatever the calls do, and that writes reach the caller's Files before anything after them.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createEngine, MemoryFiles } from 'nodevms/engine'
import type { CallRecord, Engine, Files } from 'nodevms/engine'
import { WorkerFiles, type FilesLink } from '../../engine/worker-files.js'

/** MemoryFiles that counts what the caller's thread is asked, and keeps every write in order. */
class CountingFiles extends MemoryFiles {
  reads = 0
  readonly writes: string[] = []
  override async get (path: string) { this.reads++; return await super.get(path) }
  override async list (dir: string) { this.reads++; return await super.list(dir) }
  override async put (path: string, data: Uint8Array) { this.writes.push(`${path}=${Buffer.from(data).toString()}`); return await super.put(path, data) }
}

const COUNTER = `
exports.increment = async () => {
  let i = 0
  try { i = await System.files.readFile('/counter', 'json') } catch (e) { if (e.name !== 'NotFoundError') throw e }
  await System.files.writeFile('/counter', i + 1)
  return i + 1
}`

test('queued calls ask the caller\'s thread only for what their batch has not read or written yet', async () => {
  const files = new CountingFiles()
  const engine = await createEngine(COUNTER, { files })
  const results = await Promise.all(Array.from({ length: 64 }, () => engine.call('increment')))
  assert.equal(results.map((r) => r.result), Array.from({ length: 64 }, (_, i) => i + 1), 'each call read the write of the call before it')
  assert.equal(files.writes, Array.from({ length: 64 }, (_, i) => `/counter=${i + 1}`), 'every write reached the Files, in call order')
  // One read of /counter and one listing (is /counter a directory?) per batch; the engine sends at most 512 calls a batch.
  assert.ok(files.reads <= 4, `64 queued calls asked ${files.reads} times (one call alone asks twice)`)
  await engine.close()
})

// Which calls share a batch shows in the reads: each batch asks for /counter afresh, the later calls in it do not.
test('while calls have been arriving together, a call waits for the event loop\'s turn and takes the calls queued in it; a lone caller\'s call goes at once', async () => {
  const files = new CountingFiles()
  const engine = await createEngine(COUNTER, { files })
  /** Reads asked for by a call made to an idle queue, and one made in the same turn's check phase (as a server reads its next socket). */
  const pair = async (): Promise<number> => {
    await new Promise((resolve) => setImmediate(resolve)) // the queue has gone idle
    const before = files.reads
    let later: Promise<unknown> = Promise.resolve()
    const queued = new Promise<void>((resolve) => setImmediate(() => { later = engine.call('increment'); resolve() }))
    const first = engine.call('increment')
    await queued
    await Promise.all([first, later])
    return files.reads - before
  }
  try {
    for (let i = 0; i < 3; i++) await engine.call('increment')
    assert.is(await pair(), 4, 'a call made alone, after calls made one at a time, goes in a batch of its own')
    await Promise.all(Array.from({ length: 8 }, () => engine.call('increment')))
    await engine.call('increment')
    assert.is(await pair(), 2, 'after a batch of 8 and one call alone, the next call waits and takes the call of its turn along')
    const results = await Promise.all(Array.from({ length: 4 }, () => engine.call('increment')))
    assert.equal(results.map((r) => r.result), [17, 18, 19, 20], 'every call counted once, in order')
  } finally {
    await engine.close()
  }
})

/**
 * Per-call Files as the host gives them: reads see the base, writes stay in the call's overlay, and the
 * caller decides in `ended` whether they land (here: not for a call that hit a limit).
 */
class CallFiles implements Files {
  private readonly overlay = new Map<string, Uint8Array | null>()
  constructor (private readonly base: MemoryFiles) {}
  get viewOf (): Files { return this.base }
  async get (path: string) { return this.overlay.has(path) ? this.overlay.get(path) ?? null : await this.base.get(path) }
  async put (path: string, data: Uint8Array) { this.overlay.set(path, data.slice()) }
  async del (path: string) { this.overlay.set(path, null) }
  async list (dir: string) {
    const prefix = dir === '/' ? '/' : dir + '/'
    const paths = new Set(await this.base.list(dir))
    for (const [path, data] of this.overlay) if (path.startsWith(prefix)) data === null ? paths.delete(path) : paths.add(path)
    return [...paths].sort()
  }

  async land (): Promise<void> {
    for (const [path, data] of this.overlay) await (data === null ? this.base.del(path) : this.base.put(path, data))
  }

  /** The overlay's paths as `ended` sees them (synchronously: before any later call is served). */
  get written (): string[] { return [...this.overlay.keys()] }
}

const DROPPED = `
exports.write = async (p, v) => { await System.files.writeFile(p, v); return v }
exports.writeThenSpin = async (p) => { await System.files.writeFile(p, 'lost'); for (;;) {} }
exports.writeThenThrow = async (p) => { await System.files.writeFile(p, 'kept'); throw new Error('after the write') }
exports.read = async (p) => { try { return await System.files.readFile(p) } catch (e) { return e.name } }
`

test('a call whose writes its caller drops (a limit it hit) is not seen by the calls after it in the batch', async () => {
  const base = new MemoryFiles()
  const engine = await createEngine(DROPPED, { files: base, gasLimit: 5_000, timeoutMs: 60_000 })
  const seenAtEnd: string[][] = []
  const call = (method: string, args: unknown[]) => {
    const files = new CallFiles(base)
    return engine.call(method, args, {
      files,
      ended: (record: CallRecord) => {
        seenAtEnd.push(files.written)
        if (record.error?.name !== 'GasExhaustedError') void files.land()
      }
    })
  }
  // Queued together: one batch. A call's files land in `ended`, before the next call's reads are served.
  const [first, spun, afterSpin, thrown, afterThrow] = await Promise.all([
    call('write', ['/x', 'one']),
    call('writeThenSpin', ['/x']),
    call('read', ['/x']),
    call('writeThenThrow', ['/y']),
    call('read', ['/y'])
  ])
  assert.is(first.result, 'one')
  assert.is(spun.error?.name, 'GasExhaustedError', 'the second call hit the gas limit after its write')
  assert.is(afterSpin.result, 'one', 'the call after it reads /x as the caller kept it, not the dropped write')
  assert.is(thrown.error?.message, 'after the write')
  assert.is(afterThrow.result, 'kept', 'a write the caller kept is read by the next call')
  assert.equal(seenAtEnd.slice(0, 2), [['/x'], ['/x']], 'each call\'s writes were in its own Files when its record came')
  await engine.close()
})

test('calls run together over unrelated Files each see only their own', async () => {
  const [a, b] = [new MemoryFiles(), new MemoryFiles()]
  const engine = await createEngine(DROPPED)
  const [wrote, inB, inA] = await Promise.all([
    engine.call('write', ['/x', 'in a'], { files: a }),
    engine.call('read', ['/x'], { files: b }),
    engine.call('read', ['/x'], { files: a })
  ])
  assert.is(wrote.result, 'in a')
  assert.is(inB.result, 'NotFoundError', 'a call over another archive does not see the write')
  assert.is(inA.result, 'in a', 'a call over the first archive does')
  await engine.close()
})

// A random walk over a small tree of paths, checked against a model of the files kept in the script's own
// memory: any answer that differs from what the model says (content, listing, error) is reported.
const WALK = `
let model = {}
let seed = 1
const rand = (n) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n }
const PATHS = ['/a', '/a/b', '/a/b/c', '/a/d', '/e', '/e/f', '/g']
const isDir = (p) => Object.keys(model).some((f) => f.startsWith(p + '/'))
const parentIsFile = (p) => { for (let d = p.slice(0, p.lastIndexOf('/')); d !== ''; d = d.slice(0, d.lastIndexOf('/'))) if (d in model) return true; return false }
const listing = () => {
  const names = new Set()
  for (const f of Object.keys(model)) {
    const segs = f.slice(1).split('/')
    for (let i = 1; i <= segs.length; i++) names.add(segs.slice(0, i).join('/'))
  }
  return [...names].sort()
}
const outcome = async (op) => { try { return 'ok:' + JSON.stringify(await op()) } catch (e) { return e.name } }
exports.walk = async (s, ops, big, huge) => {
  seed = s
  const wrong = []
  const sizes = { big: 0, huge: 0 }
  const check = (what, got, want) => { if (got !== want) wrong.push(what + ': got ' + got + ', the model says ' + want) }
  for (let i = 0; i < ops; i++) {
    const p = PATHS[rand(PATHS.length)]
    const kind = rand(6)
    if (kind <= 1) {
      const size = rand(100)
      const content = size === 0 && s % 3 === 0 ? 'h'.repeat(huge) : size < 10 ? String(i).repeat(big) : 'v' + s + '.' + i
      if (content.length >= big) sizes[content.length >= huge ? 'huge' : 'big']++
      const want = p in model ? 'ok:undefined' : isDir(p) ? 'IsADirectoryError' : parentIsFile(p) ? 'NotADirectoryError' : 'ok:undefined'
      const got = await outcome(() => System.files.writeFile(p, content))
      check('write ' + p, got, want)
      if (want === 'ok:undefined') model[p] = content
    } else if (kind === 2) {
      const want = p in model ? 'ok:' + JSON.stringify(model[p]) : isDir(p) ? 'IsADirectoryError' : 'NotFoundError'
      check('read ' + p, await outcome(() => System.files.readFile(p)), want)
    } else if (kind === 3) {
      const want = p in model ? 'ok:undefined' : isDir(p) ? 'IsADirectoryError' : 'NotFoundError'
      check('unlink ' + p, await outcome(() => System.files.unlink(p)), want)
      if (p in model) delete model[p]
    } else if (kind === 4) {
      check('readdir', await outcome(() => System.files.readdir('/', { recursive: true })), 'ok:' + JSON.stringify(listing()))
    } else {
      const under = Object.keys(model).filter((f) => f.startsWith(p + '/'))
      const want = under.length > 0 ? 'ok:undefined' : p in model ? 'NotADirectoryError' : 'NotFoundError'
      check('rmdir ' + p, await outcome(() => System.files.rmdir(p, { recursive: true })), want)
      for (const f of under) delete model[f]
    }
  }
  return { wrong, sizes }
}
`

async function walk (queued: boolean): Promise<{ records: CallRecord[], files: Array<[string, string]> }> {
  const files = new MemoryFiles()
  const engine: Engine = await createEngine(WALK, { files, gasLimit: 1e9, memoryLimit: 256 * 1024 * 1024 })
  // One write in ten is big, past what waits for the worker's next message; a few are past what the worker
  // keeps of a file; over the walk they are past what it keeps in all, so it forgets and asks again.
  const calls = Array.from({ length: 60 }, (_, i) => () => engine.call('walk', [i + 1, 40, 100_000, 2_200_000]))
  const records = queued ? await Promise.all(calls.map((c) => c())) : []
  if (!queued) for (const c of calls) records.push(await c())
  await engine.close()
  return { records, files: files.entries().map(([p, d]) => [p, Buffer.from(d).toString('hex').slice(0, 64) + `:${d.byteLength}`]) }
}

test('queued or one at a time, every System.files answer is what a model of the files says', async () => {
  const queued = await walk(true)
  const written = { big: 0, huge: 0 }
  for (const [i, record] of queued.records.entries()) {
    assert.is(record.error, undefined, `call ${i} ended without an error`)
    const { wrong, sizes } = record.result as { wrong: string[], sizes: typeof written }
    assert.equal(wrong, [], `call ${i}: every answer matched the model`)
    written.big += sizes.big
    written.huge += sizes.huge
  }
  assert.ok(written.big > 20 && written.huge > 0, `the walk wrote big files (${written.big}) and huge ones (${written.huge})`)
  const alone = await walk(false)
  assert.equal(alone.records, queued.records, 'the records are the same, queued or not')
  assert.equal(alone.files, queued.files, 'and so are the files')
  assert.ok(queued.files.length > 0, 'the walk left files behind')
})

// What the worker keeps is bounded by what it holds, paths included: a hostile script that only asks for
// missing files (or lists empty directories) under long names must not fill the worker's memory.
test('what the worker knows of missing files and empty listings counts their paths, and is forgotten past the bound', async () => {
  const PROBE = `
exports.probe = async (passes, dirs) => {
  const name = (i) => '/' + String(i).padStart(4000, 'x')
  for (let pass = 0; pass < passes; pass++) {
    for (let i = 0; i < 2500; i++) {
      try {
        await (dirs ? System.files.readdir(name(i)) : System.files.readFile(name(i)))
      } catch (e) {
        if (e.name !== 'NotFoundError') throw e
      }
    }
  }
  return passes
}`
  for (const dirs of [false, true]) {
    const files = new CountingFiles()
    const engine = await createEngine(PROBE, { files })
    try {
      // 2,500 paths of 4,000 characters are 20 MB of strings: past the worker's 8 MB bound. Each call is a
      // batch of its own, so the second call starts knowing nothing, and its second pass can only find
      // what the worker kept of the first.
      assert.is((await engine.call('probe', [1, dirs])).result, 1)
      const once = files.reads
      files.reads = 0
      assert.is((await engine.call('probe', [2, dirs])).result, 2)
      assert.ok(files.reads > once, `${dirs ? 'listing' : 'reading'} 2,500 long missing paths twice in one call asked the caller ${files.reads} times, as often as once (${once}): the worker kept all 20 MB of paths`)
    } finally {
      await engine.close()
    }
  }
})

// The writes a call makes wait for the worker's next message; a message is bounded by what it carries,
// paths included, so that writes with long names and no content cannot pile up in the worker.
test('writes waiting for the next message are sent on their own past 192 KB, counting their paths', () => {
  let flushes = 0
  const link: FilesLink = { get: () => null, list: () => [], flush: () => { flushes++; files.takeWrites() }, call: 0 }
  const files = new WorkerFiles(link)
  const long = (i: number) => '/' + String(i).padStart(4000, 'x') // 8 KB as a string
  for (let i = 0; i < 100; i++) files.put(long(i), new Uint8Array(0))
  assert.ok(flushes >= 3, `100 empty files under 4,000-character names (800 KB of paths) were sent in ${flushes} flushes`)
  flushes = 0
  for (let i = 0; i < 100; i++) files.del(long(i))
  assert.ok(flushes >= 3, `100 deletes of 4,000-character names were sent in ${flushes} flushes`)
  flushes = 0
  for (let i = 0; i < 100; i++) files.put(`/f${i}`, new Uint8Array(4096))
  assert.ok(flushes >= 2, `100 files of 4 KB under short names (400 KB) were sent in ${flushes} flushes`)
  const rest = files.takeWrites()
  assert.ok(rest === null || rest.bytes.byteLength === 4096 * rest.writes.length, 'the writes not flushed carry their content')
})

test('a call that writes thousands of times hands every write over, in order, and reads the last back', async () => {
  const files = new CountingFiles()
  const engine = await createEngine(`
    exports.many = async (n) => {
      for (let i = 0; i < n; i++) await System.files.writeFile('/d/' + String(i % 50).padStart(2, '0'), String(i))
      return (await System.files.readdir('/d')).length + ':' + await System.files.readFile('/d/07')
    }`, { files, gasLimit: 1e9 })
  // After the first 50 writes nothing is asked: the writes pile up past what waits for the next message.
  assert.is((await engine.call('many', [5000])).result, '50:4957')
  assert.is(files.writes.length, 5000, 'every write reached the Files')
  assert.ok(files.writes.every((w, i) => w === `/d/${String(i % 50).padStart(2, '0')}=${i}`), 'in the order they were made')
  await engine.close()
})

test('a Files that fails to take a batch\'s writes stops the engine with STORAGE_FAILED, as a failed read does', async () => {
  class FullFiles extends MemoryFiles {
    override async put (): Promise<void> { throw new Error('no space left') }
  }
  const engine = await createEngine(COUNTER, { files: new FullFiles() })
  const outcomes = await Promise.allSettled([engine.call('increment'), engine.call('increment'), engine.call('increment')])
  for (const [i, outcome] of outcomes.entries()) {
    assert.is(outcome.status, 'rejected', `call ${i} does not produce a record`)
    const err = (outcome as PromiseRejectedResult).reason as Error & { code?: string }
    assert.is(err.code, 'STORAGE_FAILED', `call ${i} fails with STORAGE_FAILED`)
    assert.match(err.message, /no space left/, 'the message carries the cause')
  }
  await engine.call('increment').then(() => assert.unreachable('a broken engine stays stopped'), (err: Error & { code?: string }) => assert.is(err.code, 'STORAGE_FAILED'))
  await engine.close()
})

test('whichever Files operation fails (get, list, put, del), queued calls fail with STORAGE_FAILED and its cause', async () => {
  // Each call reads /n, removes /gone and writes /n: every operation is used, the worker asking for
  // some and sending the others with its next message.
  const script = `
exports.step = async () => {
  let n = 0
  try { n = await System.files.readFile('/n', 'json') } catch (e) { if (e.name !== 'NotFoundError') throw e }
  try { await System.files.unlink('/gone') } catch (e) { if (e.name !== 'NotFoundError') throw e }
  await System.files.writeFile('/gone', 'x')
  await System.files.writeFile('/n', n + 1)
  return n + 1
}`
  for (const op of ['get', 'list', 'put', 'del'] as const) {
    class FailingFiles extends MemoryFiles {
      override async get (path: string) { if (op === 'get') throw new Error(`${op} failed`); return await super.get(path) }
      override async list (dir: string) { if (op === 'list') throw new Error(`${op} failed`); return await super.list(dir) }
      override async put (path: string, data: Uint8Array) { if (op === 'put') throw new Error(`${op} failed`); return await super.put(path, data) }
      override async del (path: string) { if (op === 'del') throw new Error(`${op} failed`); return await super.del(path) }
    }
    const engine = await createEngine(script, { files: new FailingFiles() })
    const outcomes = await Promise.allSettled([engine.call('step'), engine.call('step'), engine.call('step')])
    // A del is only made once /gone exists: the first call may end before any operation failed.
    const failed = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected')
    assert.ok(failed.length >= 2, `${op}: the calls from the failure on fail (${outcomes.map((o) => o.status).join(', ')})`)
    for (const { reason } of failed) {
      assert.is((reason as { code?: string }).code, 'STORAGE_FAILED', `${op}: STORAGE_FAILED`)
      assert.match((reason as Error).message, new RegExp(`${op} failed`), `${op}: the message carries the cause`)
    }
    await engine.call('step').then(() => assert.unreachable(`${op}: a broken engine stays stopped`), (err: Error & { code?: string }) => assert.is(err.code, 'STORAGE_FAILED'))
    await engine.close()
  }
})

test.run()
