// Host speed: durable calls through Host.call against raw Hypercore/Hyperdrive loops in the same run.
//   host.commit_compute  counter.increment calls/s, 64 callers in flight   target ≥ 25% of raw batched appends
//   host.commit_files    persistent-counter calls/s, 64 callers in flight  target ≥ 50% of raw batched drive puts
//   host.state_root      ms per one-file change on a 10,000-file StateRoot  target ≤ 1 ms
//   host.restart         ms to reopen a Host on a dir of 100,000 entries    target ≤ 2 s (--quick: 20,000 entries)
//   host.commit_synced   counter calls/s, 64 callers, each group fdatasynced before its replies (the default),
//                        against the same host with syncs left to the kernel, interleaved in this run
//   host.sync_per_group  ms a lone caller waits more per call (one call per group) for the syncs
import { readFileSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Corestore from 'corestore'
import Hyperdrive from 'hyperdrive'
import { Host } from '../host/host.js'
import { StateRoot } from '../host/state-root.js'
import { benchDir } from './interrupt.js'
import { formatTable, round, type BenchResult } from './report.js'

const fixtures = fileURLToPath(new URL('../../fixtures/', import.meta.url))
const CALLERS = 64
const BATCH = 64
// QuickJS's wasm and the hyper* code need about a second of work before V8 has optimised them.
const warmUp = (ms: number) => performance.now() + Math.max(ms / 3, 1500)

function fixture (name: string): { source: string, filename: string } {
  return { source: readFileSync(join(fixtures, name), 'utf8'), filename: name }
}

function result (name: string, value: number, unit: string, baseline: number, digits: number, text: string, met: (ratio: number) => boolean): BenchResult {
  const ratio = value / baseline
  return { name, value: round(value, digits), unit, baseline: round(baseline, digits), ratio: round(ratio, 3), target: text, met: met(ratio) }
}

/** Runs `step` (which does `per` operations) back to back for ms, after a warm-up; returns ops/s. */
async function rate (ms: number, per: number, step: () => Promise<unknown>): Promise<number> {
  const warm = warmUp(ms)
  while (performance.now() < warm) await step()
  let ops = 0
  const started = performance.now()
  const until = started + ms
  while (performance.now() < until) { await step(); ops += per }
  return ops / ((performance.now() - started) / 1000)
}

/** Durable increment() calls/s of fixture `name` through Host.call with `callers` in flight; also the last entry's size. */
export async function hostRate (root: string, name: string, ms: number, callers = CALLERS, syncWrites = true): Promise<{ rate: number, entryBytes: number }> {
  const host = new Host({ ...fixture(name), dir: join(root, `host-${name}-${callers}-${syncWrites ? 'synced' : 'unsynced'}`), warn: () => {}, syncWrites, audit: false })
  await host.ready()
  try {
    const warm = warmUp(ms)
    await Promise.all(Array.from({ length: callers }, async () => { while (performance.now() < warm) await host.call('increment') }))
    let calls = 0
    const started = performance.now()
    const until = started + ms
    await Promise.all(Array.from({ length: callers }, async () => {
      while (performance.now() < until) { await host.call('increment'); calls++ }
    }))
    const elapsed = (performance.now() - started) / 1000
    const last = await host.log.core.get(host.log.length - 1, { valueEncoding: 'binary' }) as Buffer
    return { rate: calls / elapsed, entryBytes: last.byteLength }
  } finally {
    await host.close()
  }
}

/** Blocks/s of raw appends of BATCH blocks of `bytes` each to one core. */
async function rawAppendRate (root: string, bytes: number, ms: number): Promise<number> {
  const store = new Corestore(join(root, 'raw-core'))
  const core = store.get({ name: 'raw' })
  await core.ready()
  const block = Buffer.alloc(bytes, 'x')
  const batch = Array.from({ length: BATCH }, () => block)
  try {
    return await rate(ms, BATCH, () => core.append(batch))
  } finally {
    await core.close()
    await store.close()
  }
}

/** Puts/s of raw hyperdrive batches of BATCH puts of a small file each. */
async function rawDrivePutRate (root: string, ms: number): Promise<number> {
  const store = new Corestore(join(root, 'raw-drive'))
  const drive = new Hyperdrive(store.session())
  await drive.ready()
  let n = 0
  try {
    return await rate(ms, BATCH, async () => {
      const batch = drive.batch()
      for (let i = 0; i < BATCH; i++) await batch.put('/counter', Buffer.from(String(++n)))
      await batch.flush()
    })
  } finally {
    await drive.close()
    await store.close()
  }
}

/** ms per one-file change (set + digest) on a StateRoot of `files` files. */
function stateRootCost (files: number, changes: number): number {
  const root = new StateRoot()
  const hash = (s: string) => StateRoot.hashContent(Buffer.from(s))
  for (let i = 0; i < files; i++) root.set(`/files/${i}.json`, hash(String(i)))
  root.digest()
  const started = performance.now()
  for (let i = 0; i < changes; i++) {
    root.set(`/files/${(i * 7919) % files}.json`, hash(`v${i}`))
    root.digest()
  }
  return (performance.now() - started) / changes
}

/** ms to reopen a Host on a dir holding `entries` log entries (counter calls). */
async function restartTime (root: string, entries: number): Promise<number> {
  const options = { ...fixture('counter.js'), dir: join(root, 'host-restart'), warn: () => {} }
  const host = new Host(options)
  await host.ready()
  let made = host.log.length
  await Promise.all(Array.from({ length: CALLERS }, async () => {
    while (made < entries) { made++; await host.call('increment') }
  }))
  await host.close()
  const started = performance.now()
  const again = new Host(options)
  await again.ready()
  const ms = performance.now() - started
  await again.close()
  return ms
}

/**
 * The cost of syncing each group before its replies: counter calls/s with 64 callers, synced and unsynced,
 * in alternating rounds; and the extra ms per call of a lone caller (each of its calls is one group).
 */
async function syncCost (root: string, ms: number): Promise<{ synced: number, unsynced: number, perGroupMs: number, loneUnsyncedMs: number }> {
  const synced: number[] = []
  const unsynced: number[] = []
  const lone = { synced: [] as number[], unsynced: [] as number[] }
  for (let round = 0; round < 3; round++) {
    synced.push((await hostRate(root, 'counter.js', ms, CALLERS, true)).rate)
    unsynced.push((await hostRate(root, 'counter.js', ms, CALLERS, false)).rate)
    lone.synced.push(1000 / (await hostRate(root, 'counter.js', ms, 1, true)).rate)
    lone.unsynced.push(1000 / (await hostRate(root, 'counter.js', ms, 1, false)).rate)
  }
  return { synced: median(synced), unsynced: median(unsynced), perGroupMs: median(lone.synced) - median(lone.unsynced), loneUnsyncedMs: median(lone.unsynced) }
}

function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}

export async function benchHost (quick: boolean): Promise<BenchResult[]> {
  const root = await benchDir('host')
  try {
    const ms = quick ? 1500 : 5000
    // Subject and baseline alternate, so drift (other load, thermal) hits both.
    const compute = await hostRate(root, 'counter.js', ms)
    const rawAppends = await rawAppendRate(root, compute.entryBytes, ms)
    const files = await hostRate(root, 'persistent-counter.js', ms)
    const rawPuts = await rawDrivePutRate(root, ms)
    const rootMs = stateRootCost(10_000, quick ? 2000 : 10_000)
    const restartMs = await restartTime(root, quick ? 20_000 : 100_000)
    const sync = await syncCost(root, quick ? 1000 : 3000)
    return [
      result('host.commit_compute', compute.rate, 'calls/s', rawAppends, 0, '≥ 25% of raw batched appends', (r) => r >= 0.25),
      result('host.commit_files', files.rate, 'calls/s', rawPuts, 0, '≥ 50% of raw batched drive puts', (r) => r >= 0.5),
      result('host.state_root', rootMs, 'ms', 1, 4, '≤ 1 ms per one-file change', (r) => r <= 1),
      result('host.restart', restartMs, 'ms', 2000, 0, `≤ 2 s (${quick ? '20,000' : '100,000'} entries)`, (r) => r <= 1),
      result('host.commit_synced', sync.synced, 'calls/s', sync.unsynced, 0, 'reported (baseline: unsynced)', () => true),
      result('host.sync_per_group', sync.perGroupMs, 'ms', sync.loneUnsyncedMs, 3, 'reported (baseline: a lone unsynced call)', () => true)
    ]
  } finally {
    await rm(root, { recursive: true, force: true })
  }
}

// Run on its own: node dist/bench/host.js [--quick]
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(formatTable(await benchHost(process.argv.includes('--quick'))))
}
