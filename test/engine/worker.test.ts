import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn } from 'node:child_process'
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { createEngine, EngineError, MemoryFiles } from 'nodevms/engine'
import { workerEntry } from '../../engine/engine-worker.js'
import type { Engine } from 'nodevms/engine'

const CHILD = fileURLToPath(new URL('./worker-child.js', import.meta.url))

function child (mode: string): Promise<{ code: number | null, out: string, ms: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now()
    const proc = spawn(process.execPath, [CHILD, mode], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    proc.stdout.on('data', (d) => { out += d })
    proc.stderr.on('data', (d) => { out += d })
    const timer = setTimeout(() => proc.kill('SIGKILL'), 60_000)
    proc.on('error', reject)
    proc.on('close', (code) => { clearTimeout(timer); resolve({ code, out, ms: Date.now() - started }) })
  })
}

/** The engine's worker thread, reached through its private field: only this test kills it. */
function killWorker (engine: Engine): Promise<void> {
  return (engine as unknown as { worker: { terminate (): Promise<void> } }).worker.terminate()
}

const SCRIPT = `
let n = 0
exports.next = () => ++n
exports.spin = () => { for (;;) n++ }
exports.write = async (p) => { await System.files.writeFile(p, 'x'); return ++n }
`

test('a worker that dies mid-call fails that call and every later one with WORKER_DIED, and close() still works', async () => {
  const engine = await createEngine(SCRIPT, { gasLimit: 1e12, timeoutMs: 600_000 })
  assert.is((await engine.call('next')).result, 1, 'the engine works')
  const spinning = engine.call('spin')
  await new Promise((resolve) => setTimeout(resolve, 100))
  await killWorker(engine)
  await spinning.then(() => assert.unreachable('the call must fail'), (err: EngineError) => {
    assert.instance(err, EngineError, 'the call fails with an EngineError')
    assert.is(err.code, 'WORKER_DIED', 'whose code is WORKER_DIED')
    assert.match(err.message, /Recreate the engine/, 'and the message says what to do')
  })
  await engine.call('next').then(() => assert.unreachable('a dead engine must refuse calls'), (err: EngineError) => assert.is(err.code, 'WORKER_DIED', 'later calls fail the same way'))
  await engine.close()
  const fresh = await createEngine(SCRIPT)
  assert.is((await fresh.call('next')).result, 1, 'a new engine works after one died')
  await fresh.close()
})

test('a worker that dies while the call waits on System.files fails the call instead of hanging', async () => {
  let engine: Engine | null = null
  // writeFile asks this thread whether the path is a directory (a listing), and waits for the answer.
  class DyingFiles extends MemoryFiles {
    override async list (dir: string): Promise<string[]> {
      await killWorker(engine!)
      return await super.list(dir)
    }
  }
  engine = await createEngine(SCRIPT, { files: new DyingFiles() })
  await engine.call('write', ['/a']).then(() => assert.unreachable('the call must fail'), (err: EngineError) => assert.is(err.code, 'WORKER_DIED', 'the call fails with WORKER_DIED'))
  await engine.close()
})

test('engines do not keep the process alive once idle, closed or not', async () => {
  const [unclosed, closed] = await Promise.all([child('unclosed'), child('closed')])
  assert.is(unclosed.code, 0, `a process with an unclosed, idle engine exits by itself (${unclosed.out})`)
  assert.match(unclosed.out, /called/, 'after its call completed')
  assert.is(closed.code, 0, `a process whose engine was closed exits (${closed.out})`)
  assert.match(closed.out, /closed/, 'after close() resolved')
})

test('a call in flight keeps the process alive until it completes', async () => {
  const waiting = await child('waiting')
  assert.is(waiting.code, 0, `the process exits normally (${waiting.out})`)
  assert.match(waiting.out, /slow=\d+/, 'after the call delivered its result')
})

test('warmEngine() readies a worker that createEngine() can run on, and keeps no process alive', async () => {
  const warm = await child('warm')
  assert.is(warm.code, 0, `the process exits by itself (${warm.out})`)
  assert.match(warm.out, /next=1/, 'the engine created after warmEngine() works')
})

test('a worker runs the bundle the build made, never one older than worker.js', async () => {
  assert.match(workerEntry().pathname, /\/engine\/worker\.bundle\.js$/, 'after npm run build, workers load the bundle')
  const dir = await mkdtemp(join(tmpdir(), 'nodevms-worker-entry-'))
  try {
    const url = pathToFileURL(dir + '/')
    await writeFile(join(dir, 'worker.js'), '')
    assert.match(workerEntry(url).pathname, /\/worker\.js$/, 'no bundle: the modules')
    await writeFile(join(dir, 'worker.bundle.js'), '')
    await utimes(join(dir, 'worker.bundle.js'), new Date(1000), new Date(1000))
    assert.match(workerEntry(url).pathname, /\/worker\.js$/, 'a bundle older than worker.js (a compile without the bundle step): the modules')
    await utimes(join(dir, 'worker.bundle.js'), new Date(), new Date())
    assert.match(workerEntry(url).pathname, /\/worker\.bundle\.js$/, 'a bundle as new as worker.js: the bundle')
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test('killing a worker settles even when a wait on it ends first', async () => {
  const terminating = await child('terminating')
  assert.is(terminating.code, 0, `the process exits normally (${terminating.out})`)
  assert.match(terminating.out, /terminated/, 'after terminate() resolved')
})

test('an engine on a closed engine\'s instance, put back as it was prepared, behaves exactly like one on a new instance', async () => {
  // Where memory runs out depends on every byte of the heap: the count at which filling it fails,
  // and the gas of the work, must be the same in every engine, whatever ran in its instance before.
  const script = `
    const kept = []
    exports.grow = (n) => { for (let i = 0; i < n; i++) kept.push({ i, s: 'x' + i }); return kept.length }
    exports.bomb = () => { const a = []; for (;;) a.push([a]) }
    exports.fill = () => { const a = []; try { for (;;) a.push([a.length]) } catch (e) { return a.length } }
    exports.work = () => { let s = 0; for (let i = 0; i < 300000; i++) s = (s * 31 + i) % 1000003; return s }
  `
  const options = { memoryLimit: 4 * 1024 * 1024, gasLimit: 1e6, timeoutMs: 120_000, log: () => {} }
  const seen: string[] = []
  for (let i = 0; i < 8; i++) {
    const engine = await createEngine(script, options)
    const fill = await engine.call('fill')
    const work = await engine.call('work')
    seen.push(JSON.stringify([fill.result, fill.gas, work.result, work.gas]))
    // Leave the instance as unlike a new one as possible before it is handed on.
    await engine.call('grow', [5000 * (i + 1)])
    await engine.call('bomb')
    await engine.close()
  }
  assert.ok(JSON.parse(seen[0])[0] > 1000, 'the fill ran until memory ran out')
  assert.equal(seen, seen.map(() => seen[0]), 'eight engines, on new and reused instances, filled the same count with the same gas')
})

test('many engines at once each get their own worker and instance', async () => {
  const engines = await Promise.all(Array.from({ length: 6 }, () => createEngine(SCRIPT)))
  for (let round = 1; round <= 3; round++) {
    const results = await Promise.all(engines.map((e) => e.call('next')))
    assert.equal(results.map((r) => r.result), engines.map(() => round), `round ${round}: each engine counts on its own`)
  }
  await Promise.all(engines.map((e) => e.close()))
})

test.run()
