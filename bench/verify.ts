// Verify speed, end to end from the host's URL (openRemote + verifyLog, as `nodevms verify` runs them), each run in
// a fresh child process, in interleaved rounds (3 rounds, median ratio):
//   verify.replay_rate  entries/s for a 20,000-entry counter log, fetch included       target ≥ 30,000/s
//                       baseline: the same verify fetching over Hypercore replication (openRemote's fallback,
//                       and main's fetch); also against engine.replay alone on the same records
//   verify.files_rate   entries/s for a 20,000-entry persistent-counter log (a file written per call)  ≥ 6,000/s
//   verify.replay_after_fetch  the replication run without its fetch: replay and checks only (informative)
//   verify.fetch_rate   entries/s fetching, without replaying, everything verify reads of the files log (its
//                       entries, the archive's hyperbee blocks and blobs): bulk against replication (informative)
//   verify.memory       peak RSS (MB) verifying the long log (100,000 entries; --quick: 20,000)  target ≤ 300 MB
//                       baseline: the peak for a log of a fifth of that (flat in log length: the ratio)
// With --before DIR, that checkout's verify child runs in the same rounds (`vs main`).
// The logs are written by a real Host (Host.call, 64 callers in flight: group commits, as in production)
// and served by a real RpcServer.
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { replay, type CallRecord } from '../engine/index.js'
import { toCallRecord } from '../host/call-log.js'
import { Host } from '../host/index.js'
import { hostService, RpcServer } from '../host/rpc/index.js'
import { openRemote, verifyLog } from '../host/verify/index.js'
import { benchDir, tracked } from './interrupt.js'
import { formatTable, round, type BenchResult } from './report.js'
import { against, fromRounds, interleave, type BenchOptions } from './rounds.js'

const self = fileURLToPath(import.meta.url)
const fixtures = fileURLToPath(new URL('../../fixtures/', import.meta.url))
const CALLERS = 64
const ROUNDS = 3
type Fetch = 'bulk' | 'replicate'

interface Served { host: Host, server: RpcServer, url: string, entries: number }
interface ChildRun { entries: number, ms: number, fetchMs: number, rssMb: number }

/** A host with `calls` calls of increment in its log, served over ws. */
async function serve (root: string, name: string, calls: number): Promise<Served> {
  const host = new Host({ source: readFileSync(join(fixtures, name), 'utf8'), filename: name, dir: join(root, `${name}-${calls}`), warn: () => {} })
  await host.ready()
  let made = 0
  await Promise.all(Array.from({ length: CALLERS }, async () => {
    while (made < calls) { made++; await host.call('increment') }
  }))
  const server = new RpcServer({ service: hostService(host), host: '127.0.0.1', port: 0, onError: () => {} })
  await server.open()
  return { host, server, url: `127.0.0.1:${server.port}`, entries: host.log.length }
}

async function stop (served: Served): Promise<void> {
  await served.server.close()
  await served.host.close()
}

/**
 * Verifies `url` in a fresh process: its time (connect to verdict) and its peak RSS. `fetch` picks how the
 * child fetches; with `checkout`, that checkout's own verify child runs instead (its default fetch).
 */
function verifyInChild (served: Served, fetch: Fetch, checkout: string | null = null, fetchOnly = false): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const script = checkout === null ? self : join(checkout, 'dist', 'bench', 'verify.js')
    const args = [script, '--child', served.url, ...(checkout === null && fetch === 'replicate' ? ['--replicate'] : []), ...(fetchOnly ? ['--fetch-only'] : [])]
    const child = tracked(spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] }))
    let out = ''
    child.stdout.on('data', (d) => { out += d })
    child.on('error', reject)
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`the verify child exited ${code}: ${out}`))
      const run = JSON.parse(out) as ChildRun
      if (run.entries !== served.entries) return reject(new Error(`the verify child checked ${run.entries} of ${served.entries} entries`))
      resolve(run)
    })
  })
}

/** Reads every block of a core, `window` at a time, as the verifier's readers do. */
async function readAll (core: { length: number, get (index: number): Promise<unknown> }, window = 512): Promise<void> {
  for (let i = 0; i < core.length; i += window) {
    await Promise.all(Array.from({ length: Math.min(window, core.length - i) }, (_, k) => core.get(i + k)))
  }
}

/**
 * This process's peak resident memory in MB: Linux's VmHWM, the high-water mark of the memory it has had since
 * it started. Not getrusage's maxRSS: a child forked from a big parent reports the parent's size at the fork
 * (Linux keeps the old memory's high-water mark across exec), so the bench measured its own RSS, not the
 * verifier's. Elsewhere (no /proc) maxRSS is the best there is.
 */
function peakRssMb (): number {
  try {
    const kb = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]
    if (kb !== undefined) return Number(kb) / 1024
  } catch {}
  return process.resourceUsage().maxRSS / 1024
}

/** The child: verify once (or only fetch), print a ChildRun. fetchMs is the time openRemote took (with bulk fetch, only the signed heads). */
async function child (url: string, fetch: Fetch, fetchOnly: boolean): Promise<void> {
  const started = performance.now()
  const source = await openRemote(url, { fetch })
  const fetchMs = performance.now() - started
  try {
    if (fetchOnly) {
      let entries = 0
      for await (const _ of source.log.read()) entries++
      await readAll(source.drive.db.core)
      if (source.drive.db.core.length > 0) await readAll((await source.drive.getBlobs()).core)
      const ms = performance.now() - started
      process.stdout.write(JSON.stringify({ entries, ms, fetchMs: ms, rssMb: peakRssMb() }))
      return
    }
    const report = await verifyLog(source.log, source.drive)
    if (!report.ok) throw new Error(`verify failed: ${report.divergence?.message}`)
    const ms = performance.now() - started
    const run: ChildRun = { entries: report.entries, ms, fetchMs, rssMb: peakRssMb() }
    process.stdout.write(JSON.stringify(run))
  } finally {
    await source.close()
  }
}

/** Records/s of engine.replay alone over the log's call records (the source is entry 0's). */
async function engineReplayRate (served: Served): Promise<number> {
  const records: CallRecord[] = []
  let source = ''
  for await (const entry of served.host.log.read()) {
    if (entry.type === 'init') source = entry.source
    else if (entry.type === 'call') records.push(toCallRecord(entry))
  }
  const started = performance.now()
  const verdict = await replay(source, records)
  if (!verdict.ok) throw new Error(`engine.replay of the bench log diverged: ${JSON.stringify(verdict.divergence)}`)
  return records.length / ((performance.now() - started) / 1000)
}

const entriesPerSecond = (run: ChildRun) => run.entries / (run.ms / 1000)

export async function benchVerify ({ quick, before }: BenchOptions): Promise<BenchResult[]> {
  const calls = 20_000
  const big = quick ? 20_000 : 100_000
  const root = await benchDir('verify')
  const rate = (served: Served, fetch: Fetch, checkout: string | null = null) => async () => entriesPerSecond(await verifyInChild(served, fetch, checkout))
  const main = (served: Served) => before === null ? [] : [['main', rate(served, 'bulk', before)] as ['main', () => Promise<number>]]
  try {
    const results: BenchResult[] = []
    const counter = await serve(root, 'counter.js', calls)
    try {
      const afterFetch: number[] = []
      const rates = await interleave(ROUNDS, [
        ['engine', () => engineReplayRate(counter)],
        ['bulk', rate(counter, 'bulk')],
        ['replicate', async () => {
          const run = await verifyInChild(counter, 'replicate')
          afterFetch.push(run.entries / ((run.ms - run.fetchMs) / 1000))
          return entriesPerSecond(run)
        }],
        ...main(counter)
      ])
      const row = fromRounds('verify.replay_rate', 'entries/s', 0, rates.bulk, 'replication', rates.replicate,
        { text: `≥ 30000 entries/s (${calls} entries, end to end)`, met: (_, value) => value >= 30_000 })
      against(row, rates.bulk, 'engine.replay', rates.engine, 0)
      if (before !== null) against(row, rates.bulk, 'main', rates.main, 0)
      results.push(row, fromRounds('verify.replay_after_fetch', 'entries/s', 0, afterFetch, 'engine.replay', rates.engine))
    } finally {
      await stop(counter)
    }

    const files = await serve(root, 'persistent-counter.js', calls)
    try {
      const fetchOnly = (fetch: Fetch) => async () => entriesPerSecond(await verifyInChild(files, fetch, null, true))
      const rates = await interleave(ROUNDS, [
        ['bulk', rate(files, 'bulk')], ['replicate', rate(files, 'replicate')], ...main(files),
        ['fetchBulk', fetchOnly('bulk')], ['fetchReplicate', fetchOnly('replicate')]
      ])
      const row = fromRounds('verify.files_rate', 'entries/s', 0, rates.bulk, 'replication', rates.replicate,
        { text: `≥ 6000 entries/s (${calls} file-writing calls, end to end)`, met: (_, value) => value >= 6000 })
      if (before !== null) against(row, rates.bulk, 'main', rates.main, 0)
      results.push(row, fromRounds('verify.fetch_rate', 'entries/s', 0, rates.fetchBulk, 'replication', rates.fetchReplicate))
    } finally {
      await stop(files)
    }

    const long = await serve(root, 'counter.js', big)
    let bigRss = 0
    try {
      bigRss = (await verifyInChild(long, 'bulk')).rssMb
    } finally {
      await stop(long)
    }
    const short = await serve(root, 'counter.js', big / 5)
    let smallRss = 0
    try {
      smallRss = (await verifyInChild(short, 'bulk')).rssMb
    } finally {
      await stop(short)
    }
    results.push({ name: 'verify.memory', value: round(bigRss, 0), unit: 'MB', baseline: round(smallRss, 0), baselineName: `${big / 5} entries`, ratio: round(bigRss / smallRss, 3), target: `≤ 300 MB (${big} entries)`, met: bigRss <= 300 })
    return results
  } finally {
    await rm(root, { recursive: true, force: true })
  }
}

// Run on its own: node dist/bench/verify.js [--quick] [--before DIR]
if (process.argv[1] === self) {
  const at = process.argv.indexOf('--child')
  const beforeAt = process.argv.indexOf('--before')
  if (at !== -1) await child(process.argv[at + 1], process.argv.includes('--replicate') ? 'replicate' : 'bulk', process.argv.includes('--fetch-only'))
  else process.stdout.write(formatTable(await benchVerify({ quick: process.argv.includes('--quick'), before: beforeAt === -1 ? null : process.argv[beforeAt + 1] })))
}
