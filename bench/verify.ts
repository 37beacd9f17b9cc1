// Verify speed, end to end from the host's URL (openRemote + verifyLog, as `nodevms verify` runs them):
//   verify.replay_rate  entries/s for a 100,000-entry counter log, fetch included   target ≥ 50% of engine.replay
//                       alone on the same records in the same run
//   verify.files_rate   entries/s for a 20,000-entry persistent-counter log          target ≥ 5,000/s
//   verify.memory       peak RSS (MB) verifying the 100,000-entry log                 target ≤ 300 MB
//                       baseline: the peak for a 20,000-entry log (flat in log length: the ratio). The V8
//                       heap stays flat; what grows is RocksDB's memtables and block cache, up to their caps.
//   verify.*_after_fetch  the same runs without the fetch (openRemote's replication): replay and checks only
// --quick: 20,000 entries instead of 100,000 (and 4,000 for the memory baseline).
// The logs are written by a real Host (Host.call, 64 callers in flight: group commits, as in production)
// and served by a real RpcServer. Each verify runs in a child process, so its RSS and CPU are its own.
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { replay, type CallRecord } from '../engine/index.js'
import { toCallRecord } from '../host/call-log.js'
import { Host } from '../host/index.js'
import { hostService, RpcServer } from '../host/rpc/index.js'
import { openRemote, verifyLog } from '../host/verify/index.js'
import { formatTable, round, type BenchResult } from './report.js'

const self = fileURLToPath(import.meta.url)
const fixtures = fileURLToPath(new URL('../../fixtures/', import.meta.url))
const CALLERS = 64

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

/** Verifies `url` in a fresh process: its time (connect to verdict) and its peak RSS. */
function verifyInChild (served: Served): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [self, '--child', served.url], { stdio: ['ignore', 'pipe', 'inherit'] })
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

/** The child: verify once, print a ChildRun. */
async function child (url: string): Promise<void> {
  const started = performance.now()
  const source = await openRemote(url)
  const fetchMs = performance.now() - started
  try {
    const report = await verifyLog(source.log, source.drive)
    if (!report.ok) throw new Error(`verify failed: ${report.divergence?.message}`)
    const ms = performance.now() - started
    const run: ChildRun = { entries: report.entries, ms, fetchMs, rssMb: process.resourceUsage().maxRSS / 1024 }
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

export async function benchVerify (quick: boolean): Promise<BenchResult[]> {
  const big = quick ? 20_000 : 100_000
  const small = quick ? 4_000 : 20_000
  const rounds = quick ? 1 : 2
  const root = await mkdtemp(join(tmpdir(), 'nodevms-bench-verify-'))
  try {
    const counter = await serve(root, 'counter.js', big)
    const verifyRates: number[] = []
    const localRates: number[] = []
    const engineRates: number[] = []
    let bigRss = 0
    try {
      for (let r = 0; r < rounds; r++) { // alternate, so drift hits both
        engineRates.push(await engineReplayRate(counter))
        const run = await verifyInChild(counter)
        verifyRates.push(run.entries / (run.ms / 1000))
        localRates.push(run.entries / ((run.ms - run.fetchMs) / 1000))
        bigRss = Math.max(bigRss, run.rssMb)
      }
    } finally {
      await stop(counter)
    }
    const shortLog = await serve(root, 'counter.js', small)
    let smallRss = 0
    try {
      smallRss = (await verifyInChild(shortLog)).rssMb
    } finally {
      await stop(shortLog)
    }
    const files = await serve(root, 'persistent-counter.js', 20_000)
    const filesRates: number[] = []
    const filesLocalRates: number[] = []
    try {
      for (let r = 0; r < rounds; r++) {
        const run = await verifyInChild(files)
        filesRates.push(run.entries / (run.ms / 1000))
        filesLocalRates.push(run.entries / ((run.ms - run.fetchMs) / 1000))
      }
    } finally {
      await stop(files)
    }
    const rate = Math.max(...verifyRates)
    const engine = Math.max(...engineRates)
    const filesRate = Math.max(...filesRates)
    const local = Math.max(...localRates)
    const filesLocal = Math.max(...filesLocalRates)
    return [
      { name: 'verify.replay_rate', value: round(rate, 0), unit: 'entries/s', baseline: round(engine, 0), ratio: round(rate / engine, 3), target: `≥ 50% of engine.replay (${big} entries)`, met: rate / engine >= 0.5 },
      { name: 'verify.replay_after_fetch', value: round(local, 0), unit: 'entries/s', baseline: round(engine, 0), ratio: round(local / engine, 3), target: '(the same, replay and checks only)' },
      { name: 'verify.files_rate', value: round(filesRate, 0), unit: 'entries/s', baseline: 5000, ratio: round(filesRate / 5000, 3), target: '≥ 5000 entries/s (20000 entries)', met: filesRate >= 5000 },
      { name: 'verify.files_after_fetch', value: round(filesLocal, 0), unit: 'entries/s', baseline: 5000, ratio: round(filesLocal / 5000, 3), target: '(the same, replay and checks only)' },
      { name: 'verify.memory', value: round(bigRss, 0), unit: 'MB', baseline: round(smallRss, 0), ratio: round(bigRss / smallRss, 3), target: `≤ 300 MB (baseline: the ${small}-entry peak)`, met: bigRss <= 300 }
    ]
  } finally {
    await rm(root, { recursive: true, force: true })
  }
}

// Run on its own: node dist/bench/verify.js [--quick]
if (process.argv[1] === self) {
  const at = process.argv.indexOf('--child')
  if (at !== -1) await child(process.argv[at + 1])
  else process.stdout.write(formatTable(await benchVerify(process.argv.includes('--quick'))))
}
