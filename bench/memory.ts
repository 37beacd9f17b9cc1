// Memory that survives (issue 12): restoring the script's memory at start-up, rolling it back after a limit hit,
// and checkpointing it, each against a baseline measured in the same run.
//   host.restore             ms the restore of 100,000 logged counter calls takes at start-up (the replay, no
//                            checkpoint); baseline: a whole start-up with --fresh (no replay)      target ≤ 3 s
//   host.restore_startup     ms of that whole start-up (store, recovery, the replay, the restart entry);
//                            baseline: the same start-up with --fresh
//   host.restore_checkpoint  ms for the same start-up from the checkpoint the host wrote when it closed;
//                            baseline: the start-up that replays
//   host.rollback            extra ms a call that runs out of gas costs (its rollback), with 100,000 calls in the log:
//                            a lone caller's [spin, increment] minus [increment, increment], median; baseline: the
//                            full replay (what restoring memory by replay would cost)             target ≤ 50 ms
//   host.checkpoint          ms for one checkpoint (Engine.checkpoint()) of a script holding a 10 MB heap;
//                            baseline: copying the same number of bytes once in this process
//   host.checkpoint_throughput  durable calls/s through Host.call (32 callers) on that 10 MB script with the
//                            default checkpoint policy; baseline: the same host with checkpoints off, interleaved
//                                                                                                 target ≥ 95% of it
import { rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createEngine } from '../engine/index.js'
import { CHECKPOINT_DIR } from '../host/checkpoint-files.js'
import { Host, type HostOptions } from '../host/host.js'
import { benchDir } from './interrupt.js'
import { formatTable, round, type BenchResult } from './report.js'

// counter.js with a method that never ends (a limit hit), and a 10 MB heap for the checkpoint measures.
const COUNTER = 'var i = 0\nexports.increment = function () { i++; return i }\nexports.spin = function () { for (;;) {} }\n'
const HEAVY = `var heap = []
var i = 0
exports.fill = function (mb) { for (var k = 0; k < mb * 16; k++) heap.push('x'.repeat(65536 - 64) + k); return heap.length }
exports.increment = function () { i++; return i }
`
const CALLERS = 64
// A small gas limit, so the spinning call reaches its limit quickly and the measure is its rollback.
const GAS = 200

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]

function result (name: string, value: number, unit: string, baseline: number, digits: number, target?: { text: string, met: boolean }): BenchResult {
  const r: BenchResult = { name, value: round(value, digits), unit, baseline: round(baseline, digits), ratio: round(value / baseline, 3) }
  if (target !== undefined) { r.target = target.text; r.met = target.met }
  return r
}

function hostOptions (dir: string, more: Partial<HostOptions> = {}): HostOptions {
  return { source: COUNTER, filename: 'counter.js', dir, gasLimit: GAS, warn: () => {}, progress: () => {}, audit: false, ...more }
}

/** A host directory whose log holds `calls` increment calls (written unsynced, with 64 callers, no checkpoints). */
async function fillLog (dir: string, calls: number): Promise<void> {
  const host = new Host(hostOptions(dir, { syncWrites: false, checkpoints: false }))
  await host.ready()
  let made = 0
  await Promise.all(Array.from({ length: CALLERS }, async () => { while (made < calls) { made++; await host.call('increment') } }))
  await host.close()
}

/** ms until a Host on dir is ready, ms of its restore, and whether it restored from a checkpoint. */
async function startTime (dir: string, more: Partial<HostOptions>): Promise<{ ms: number, restoreMs: number, fromCheckpoint: boolean }> {
  const started = performance.now()
  const host = new Host(hostOptions(dir, more))
  await host.ready()
  const ms = performance.now() - started
  const fromCheckpoint = host.report.restored?.checkpoint != null
  const restoreMs = host.report.restored?.ms ?? 0
  await host.close()
  return { ms, restoreMs, fromCheckpoint }
}

/** The extra ms a lone caller's gas-exhausted call costs over a normal one (median of `rounds` pairs). */
async function rollbackCost (dir: string, rounds: number): Promise<number> {
  const host = new Host(hostOptions(dir, { syncWrites: false }))
  await host.ready()
  try {
    const pair = async (first: string) => {
      const started = performance.now()
      await host.call(first)
      await host.call('increment') // waits for the rollback the engine does after a limit hit
      return performance.now() - started
    }
    for (let k = 0; k < 5; k++) { await pair('increment'); await pair('spin') }
    const normal: number[] = []
    const limited: number[] = []
    for (let k = 0; k < rounds; k++) {
      normal.push(await pair('increment'))
      const spun = await host.call('spin')
      if (spun.error?.name !== 'GasExhaustedError') throw new Error(`spin ended in ${JSON.stringify(spun.error ?? spun.result)}`)
      limited.push(await pair('spin'))
    }
    return Math.max(0, median(limited) - median(normal))
  } finally {
    await host.close()
  }
}

/** ms per checkpoint of a script holding `mb` MB, and ms to copy that many bytes once. */
async function checkpointCost (mb: number, rounds: number): Promise<{ ms: number, copyMs: number, bytes: number }> {
  const engine = await createEngine(HEAVY, { memoryLimit: 256 * 1024 * 1024, log: () => {} })
  try {
    await engine.call('fill', [mb])
    let bytes = 0
    const times: number[] = []
    const copies: number[] = []
    for (let k = 0; k < rounds; k++) {
      await engine.call('increment') // a checkpoint of a changed heap
      const started = performance.now()
      const image = await engine.checkpoint()
      times.push(performance.now() - started)
      bytes = image.byteLength
      const copyStarted = performance.now()
      Buffer.from(image).fill(1, 0, 1)
      copies.push(performance.now() - copyStarted)
    }
    return { ms: median(times), copyMs: median(copies), bytes }
  } finally {
    await engine.close()
  }
}

/** Calls/s through Host.call with 32 callers on the 10 MB script, checkpoints on (default policy) or off. */
async function heavyRate (dir: string, checkpoints: boolean, ms: number): Promise<number> {
  const host = new Host({ source: HEAVY, filename: 'heavy.js', dir, memoryLimit: 256 * 1024 * 1024, warn: () => {}, audit: false, ...(checkpoints ? {} : { checkpoints: false }) })
  await host.ready()
  try {
    if (host.log.length === 1) await host.call('fill', [10])
    const warm = performance.now() + ms / 3
    await Promise.all(Array.from({ length: 32 }, async () => { while (performance.now() < warm) await host.call('increment') }))
    let calls = 0
    const started = performance.now()
    const until = started + ms
    await Promise.all(Array.from({ length: 32 }, async () => { while (performance.now() < until) { await host.call('increment'); calls++ } }))
    return calls / ((performance.now() - started) / 1000)
  } finally {
    await host.close()
  }
}

export async function benchMemory (quick: boolean): Promise<BenchResult[]> {
  const root = await benchDir('memory')
  try {
    const calls = quick ? 10_000 : 100_000
    const label = quick ? '10,000' : '100,000'
    // Two logs of the same calls: one restored (by replay, then from its checkpoint), one started fresh.
    // (A host directory cannot be copied: hypercore-storage refuses a moved one.)
    const dir = join(root, 'restored')
    const freshDir = join(root, 'fresh')
    await fillLog(dir, calls)
    await fillLog(freshDir, calls)
    const checkpoints = join(dir, CHECKPOINT_DIR)
    const aside = join(root, 'checkpoints-aside')
    const replay: number[] = []
    const replayOnly: number[] = []
    const fresh: number[] = []
    const fromCheckpoint: number[] = []
    // The first start replays and writes a checkpoint as it closes; later starts with checkpoints on use it.
    await startTime(dir, {})
    for (let round = 0; round < (quick ? 2 : 3); round++) {
      fresh.push((await startTime(freshDir, { fresh: true })).ms)
      await rename(checkpoints, aside)
      const replayed = await startTime(dir, { checkpoints: false })
      replay.push(replayed.ms)
      replayOnly.push(replayed.restoreMs)
      await rename(aside, checkpoints)
      const restored = await startTime(dir, {})
      if (!restored.fromCheckpoint) throw new Error('the host did not restore from its checkpoint')
      fromCheckpoint.push(restored.ms)
    }
    const replayMs = median(replay)
    const rollbackMs = await rollbackCost(dir, quick ? 10 : 30)
    const checkpoint = await checkpointCost(10, quick ? 5 : 15)
    // Rounds alternate which goes first, so drift and warm-up hit both; the medians are compared.
    const ms = quick ? 1500 : 4000
    const on: number[] = []
    const off: number[] = []
    for (let round = 0; round < (quick ? 2 : 5); round++) {
      const measure = async (checkpoints: boolean) => (checkpoints ? on : off).push(await heavyRate(join(root, checkpoints ? 'heavy-on' : 'heavy-off'), checkpoints, ms))
      await measure(round % 2 === 0)
      await measure(round % 2 !== 0)
    }
    const onRate = median(on)
    const offRate = median(off)
    return [
      result('host.restore', median(replayOnly), 'ms', median(fresh), 0, { text: `≤ 3 s (${label} calls replayed)`, met: median(replayOnly) <= 3000 }),
      result('host.restore_startup', replayMs, 'ms', median(fresh), 0),
      result('host.restore_checkpoint', median(fromCheckpoint), 'ms', replayMs, 0),
      result('host.rollback', rollbackMs, 'ms', replayMs, 2, { text: `≤ 50 ms (${label} calls in the log)`, met: rollbackMs <= 50 }),
      result('host.checkpoint', checkpoint.ms, 'ms', checkpoint.copyMs, 2, { text: `reported (${(checkpoint.bytes / 1048576).toFixed(1)} MB image)`, met: true }),
      result('host.checkpoint_throughput', onRate, 'calls/s', offRate, 0, { text: '≥ 95% of checkpoints off', met: onRate / offRate >= 0.95 })
    ]
  } finally {
    await rm(root, { recursive: true, force: true })
  }
}

// Run on its own: node dist/bench/memory.js [--quick]
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(formatTable(await benchMemory(process.argv.includes('--quick'))))
}
