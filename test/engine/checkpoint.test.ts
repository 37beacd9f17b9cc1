import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createHash } from 'node:crypto'
import { createEngine, EngineError, MemoryFiles } from 'nodevms/engine'
import type { CallRecord, Engine, EngineOptions } from 'nodevms/engine'
import { fixture } from './fixture.js'
import { workload, type Call } from './mixed-calls.js'

const quiet = { log: () => {} }
const MB = 1024 * 1024
// rich.js, plus a call that runs out of memory after changing the notebook.
const SOURCE = fixture('rich.js') + '\nexports.bomb = async (t) => { await exports.add(t, t); const a = []; for (;;) a.push([a.length]) }\n'
const LIMITS = { gasLimit: 400, memoryLimit: 8 * MB, timeoutMs: 120_000 }

function copyFiles (from: MemoryFiles): MemoryFiles {
  const to = new MemoryFiles()
  for (const [path, data] of from.entries()) void to.put(path, data)
  return to
}

/** The workload with a memory bomb every 150 calls. */
function calls (count: number, seeded: boolean, seed: number): Call[] {
  const list = workload(count, seeded, seed)
  for (let i = 75; i < list.length; i += 150) list[i] = ['bomb', [`bomb ${i}`], null]
  return list
}

async function run (engine: Engine, list: Call[], replaying?: CallRecord[]): Promise<CallRecord[]> {
  const records: CallRecord[] = []
  for (let i = 0; i < list.length; i++) {
    const [method, args, caller] = list[i]
    records.push(await engine.call(method, args, { caller, replay: replaying?.[i] }))
  }
  return records
}

// Seeded mode differs only in its Math.random state, which a shorter run checks as well (the suite's time budget).
for (const [seeded, compared] of [[false, 1_000], [true, 300]] as const) {
  test(`${seeded ? 'seeded: ' : ''}an engine restored from a checkpoint behaves byte for byte like one that replayed the calls before it, for the next ${compared.toLocaleString('en')} calls`, async () => {
    const options: EngineOptions = { ...LIMITS, seeded }
    const list = calls(seeded ? 450 : 1_300, seeded, seeded ? 21 : 11)
    const head = list.slice(0, list.length - compared)
    const tail = list.slice(head.length)
    const liveFiles = new MemoryFiles()
    const live = await createEngine(SOURCE, { ...options, ...quiet, files: liveFiles })
    const headRecords = await run(live, head)
    const checkpoint = await live.checkpoint()
    const restoredFiles = copyFiles(liveFiles)
    const restored = await createEngine(SOURCE, { ...options, ...quiet, files: restoredFiles, checkpoint })
    const replayedFiles = new MemoryFiles()
    const replayed = await createEngine(SOURCE, { ...options, ...quiet, files: replayedFiles })
    assert.equal(await run(replayed, head, headRecords), headRecords, 'the replayed engine reproduced the calls before the checkpoint')

    const tailRecords = await run(live, tail)
    const fromCheckpoint = await run(restored, tail, tailRecords)
    const fromReplay = await run(replayed, tail, tailRecords)
    for (let i = 0; i < tail.length; i++) {
      assert.is(JSON.stringify(fromCheckpoint[i]), JSON.stringify(fromReplay[i]), `call ${head.length + i} (${tail[i][0]}): the restored engine's record is byte for byte the replayed one's`)
      assert.is(JSON.stringify(fromCheckpoint[i]), JSON.stringify(tailRecords[i]), `call ${head.length + i} (${tail[i][0]}): and the live one's`)
    }
    const kinds = new Set(tailRecords.map((r) => r.error?.name ?? 'result'))
    assert.ok(kinds.has('OutOfMemoryError') && kinds.has('GasExhaustedError') && kinds.has('result') && kinds.size >= 4, `the calls ended every way (a result, out of memory, out of gas, the script's own errors): ${[...kinds].join(', ')}`)
    assert.ok(tailRecords.some((r) => r.oracles.length > 0), 'and used oracles')
    const snapshot = (files: MemoryFiles) => JSON.stringify(files.entries().map(([p, d]) => [p, Buffer.from(d).toString('base64')]))
    assert.is(snapshot(restoredFiles), snapshot(liveFiles), 'the restored engine wrote the same files')
    assert.is(snapshot(replayedFiles), snapshot(liveFiles), 'so did the replayed one')
    const histogram = async (engine: Engine) => (await engine.call('histogram', [6])).result
    assert.equal(await histogram(restored), await histogram(replayed), 'and both hold the same notebook')
    await Promise.all([live.close(), restored.close(), replayed.close()])
  })
}

// A checkpoint file: "NVMSCKPT" | u32 header length | header JSON | pages | sha256 of all before.
function forge (file: Uint8Array, change: (header: Record<string, unknown>) => void): Uint8Array {
  const bytes = Buffer.from(file)
  const length = bytes.readUInt32LE(8)
  const header = JSON.parse(bytes.toString('utf8', 12, 12 + length)) as Record<string, unknown>
  change(header)
  const headerBytes = Buffer.from(JSON.stringify(header))
  const size = Buffer.alloc(4)
  size.writeUInt32LE(headerBytes.byteLength)
  const body = Buffer.concat([bytes.subarray(0, 8), size, headerBytes, bytes.subarray(12 + length, bytes.byteLength - 32)])
  return Buffer.concat([body, createHash('sha256').update(body).digest()])
}

test('a checkpoint that was damaged, or made for another script, build or options, is refused, and the engine can start from the script', async () => {
  const script = 'let n = 0; exports.next = () => ++n'
  const engine = await createEngine(script, quiet)
  for (let i = 0; i < 5; i++) await engine.call('next')
  const good = await engine.checkpoint()
  await engine.close()
  const restored = await createEngine(script, { ...quiet, checkpoint: good })
  assert.is((await restored.call('next')).result, 6, 'the good checkpoint restores')
  await restored.close()

  const flipped = (at: number) => { const b = Buffer.from(good); b[at] ^= 0x40; return b }
  const cases: Array<[string, Uint8Array, EngineOptions & { source?: string }, RegExp]> = [
    ['a flipped byte in the header', flipped(20), {}, /checksum/],
    ['a flipped byte in the memory', flipped(Math.floor(good.byteLength / 2)), {}, /checksum/],
    ['a flipped byte in the checksum', flipped(good.byteLength - 1), {}, /checksum/],
    ['a torn write', good.subarray(0, Math.floor(good.byteLength * 0.7)), {}, /checksum|not a nodevms/],
    ['an empty file', new Uint8Array(0), {}, /not a nodevms checkpoint/],
    ['another kind of file', Buffer.from('{"not":"a checkpoint"}'.padEnd(200, ' ')), {}, /not a nodevms checkpoint/],
    ['another script', good, { source: script + ' // changed' }, /script sha256/],
    ['another memory limit', good, { memoryLimit: 32 * MB }, /options/],
    ['another gas limit', good, { gasLimit: 5 }, /options/],
    ['seeded mode', good, { seeded: true }, /options/],
    ['another deadline', good, { timeoutMs: 1234 }, /options/],
    ['another file name', good, { filename: 'other.js' }, /options/],
    ['another engine version', forge(good, (h) => { h.engine = '0.9.0+old' }), {}, /engine "0\.9\.0\+old"/],
    ['another wasm build', forge(good, (h) => { h.wasm = '0'.repeat(64) }), {}, /wasm sha256/],
    ['another memory layout', forge(good, (h) => { (h.probes as { breakAddress: number }).breakAddress += 4 }), {}, /memory layout/],
    ['spans that do not match the layout', forge(good, (h) => { (h.spans as Array<{ start: number }>)[0].start = 4096 }), {}, /memory spans/],
    ['pointers that do not match', forge(good, (h) => { (h.pointers as { ctx: number }).ctx += 16 }), {}, /not where this engine puts it/]
  ]
  for (const [what, file, changes, why] of cases) {
    const { source, ...options } = changes
    try {
      const e = await createEngine(source ?? script, { ...quiet, ...options, checkpoint: file })
      await e.close()
      assert.unreachable(`${what}: must be refused`)
    } catch (err) {
      assert.instance(err, EngineError, `${what}: refused with an EngineError (${(err as Error).message})`)
      assert.is((err as EngineError).code, 'CHECKPOINT_REFUSED', `${what}: code CHECKPOINT_REFUSED`)
      assert.match((err as Error).message, why, `${what}: the message says why (${(err as Error).message})`)
      assert.match((err as Error).message, /replay its calls/, `${what}: and what to do instead`)
    }
  }
  const fallback = await createEngine(script, quiet)
  assert.is((await fallback.call('next')).result, 1, 'after all that, an engine starts from the script as usual')
  await fallback.close()
})

test('a checkpoint taken right after a limit hit holds the state before it', async () => {
  const script = 'let n = 0; exports.next = () => ++n; exports.spin = () => { n = -1; for (;;) {} }'
  const engine = await createEngine(script, { ...quiet, gasLimit: 50 })
  for (let i = 0; i < 3; i++) await engine.call('next')
  assert.is((await engine.call('spin')).error?.name, 'GasExhaustedError', 'the call ran out of gas')
  const file = await engine.checkpoint()
  await engine.close()
  const restored = await createEngine(script, { ...quiet, gasLimit: 50, checkpoint: file })
  assert.is((await restored.call('next')).result, 4, 'the restored engine never saw the call that ran out of gas')
  await restored.close()
})

test.run()
