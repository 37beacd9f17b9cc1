// RPC speed, over ws from the same client code (nodevms/client), 32 clients on loopback, each server in its own
// child process, measured in interleaved rounds (rounds.ts: 3 rounds, median ratio):
//   rpc.throughput          `nodevms exec fixtures/counter.js` calls/s        target ≥ 0.35 of echo
//                           against rpc.baseline_durable (synced, as the host's commit)  target ≥ 0.5
//   rpc.baseline_durable    a plain JSON-RPC counter, durable in RocksDB with group commit and an audit record
//                           per call, each group's WAL fdatasynced before its replies (durable-server.ts)
//   rpc.baseline_durable_nosync  the same without the fdatasync: "durable" as RocksDB writes it
//   rpc.files_throughput    `nodevms exec fixtures/persistent-counter.js` (a file written per call) calls/s
//   rpc.latency_p50         one client's round trip, ms                        target ≤ 2× echo
//   rpc.latency_p99
// With --before DIR, the same nodevms measures run against that checkout's CLI in the same rounds (`…@main`).
// Two more rows explain what bounds those, measured once in this process (no target):
//   rpc.host_ceiling      durable calls/s through Host.call with 32 callers in flight (engine and group
//                         commit, no ws); a served call does all of that plus the ws work, on one thread
//   rpc.commit_floor_p50  one 300-byte append plus atom.flush() on a bare Corestore, ms: the storage work
//                         every durable call waits for, without a host, an engine or a socket
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Corestore from 'corestore'
import type Hypercore from 'hypercore'
import { connect } from '../client/node.js'
import { hostRate } from './host.js'
import { benchDir } from './interrupt.js'
import { formatTable, round, type BenchResult } from './report.js'
import { against, fromRounds, interleave, type BenchOptions } from './rounds.js'
import { anonymous, startDurableBaseline, startEcho, startHost, stopServer, throughput, type Server } from './serve.js'

const CLIENTS = 32
const ROUNDS = 3

/** Round-trip times in ms of `n` sequential calls from one client, sorted. */
async function roundTrips (port: number, n: number): Promise<number[]> {
  const client = await connect(`127.0.0.1:${port}`)
  try {
    for (let i = 0; i < Math.min(100, n); i++) await client.increment()
    const times: number[] = []
    for (let i = 0; i < n; i++) {
      const t = performance.now()
      await client.increment()
      times.push(performance.now() - t)
    }
    return times.sort((a, b) => a - b)
  } finally {
    await client.close()
  }
}

/** Times in ms of `n` durable one-block appends through a storage atom (what the host's commit does per group), sorted. */
async function commitTimes (dir: string, n: number): Promise<number[]> {
  const store = new Corestore(dir)
  const core = store.get({ name: 'floor' })
  await core.ready()
  const atom = (core as unknown as { state: { storage: { createAtom (): { flush (): Promise<void> } } } }).state.storage.createAtom()
  const session: Hypercore = core.session({ atom })
  await session.ready()
  const block = Buffer.alloc(300, 'x')
  try {
    for (let i = 0; i < Math.min(100, n); i++) { await session.append([block]); await atom.flush() }
    const times: number[] = []
    for (let i = 0; i < n; i++) {
      const t = performance.now()
      await session.append([block])
      await atom.flush()
      times.push(performance.now() - t)
    }
    return times.sort((a, b) => a - b)
  } finally {
    await session.close()
    await core.close()
    await store.close()
  }
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]

function single (name: string, value: number, unit: string, baselineName: string, baseline: number, digits: number): BenchResult {
  return { name, value: round(value, digits), unit, baseline: round(baseline, digits), baselineName, ratio: round(value / baseline, 3) }
}

export async function benchRpc ({ quick, before }: BenchOptions): Promise<BenchResult[]> {
  const dir = await benchDir('rpc')
  const servers: Server[] = []
  const start = async (server: Promise<Server>): Promise<Server> => { const s = await server; servers.push(s); return s }
  try {
    const echo = await start(startEcho())
    const host = await start(startHost(join(dir, 'host')))
    const files = await start(startHost(join(dir, 'files'), 'persistent-counter.js'))
    const durable = await start(startDurableBaseline(join(dir, 'durable'), true))
    const nosync = await start(startDurableBaseline(join(dir, 'durable-nosync'), false))
    const main = before === null ? null : await start(startHost(join(dir, 'main'), 'counter.js', before))
    const mainFiles = before === null ? null : await start(startHost(join(dir, 'main-files'), 'persistent-counter.js', before))
    const ms = quick ? 1200 : 3000
    const rate = (server: Server) => () => throughput(server.port, anonymous(CLIENTS), ms)
    const rates = await interleave(ROUNDS, [
      ['echo', rate(echo)], ['host', rate(host)], ['durable', rate(durable)], ['nosync', rate(nosync)], ['files', rate(files)],
      ...(main !== null ? [['main', rate(main)] as ['main', () => Promise<number>]] : []),
      ...(mainFiles !== null ? [['mainFiles', rate(mainFiles)] as ['mainFiles', () => Promise<number>]] : [])
    ])
    const n = quick ? 500 : 2000
    const p99s: Record<string, number[]> = { echo: [], host: [], main: [] }
    // Each round's p50 is the interleaved measure; its p99 is kept beside it.
    const p99 = (name: string, server: Server) => async () => {
      const times = await roundTrips(server.port, n)
      p99s[name].push(percentile(times, 0.99))
      return percentile(times, 0.5)
    }
    const latency = await interleave(ROUNDS, [
      ['echo', p99('echo', echo)], ['host', p99('host', host)],
      ...(main !== null ? [['main', p99('main', main)] as ['main', () => Promise<number>]] : [])
    ])
    const ceiling = await hostRate(dir, 'counter.js', ms, CLIENTS)
    const floorTimes = await commitTimes(join(dir, 'floor'), n)

    const throughputRow = fromRounds('rpc.throughput', 'calls/s', 0, rates.host, 'echo', rates.echo, { text: '≥ 0.35 of echo', met: (r) => r >= 0.35 })
    against(throughputRow, rates.host, 'rpc.baseline_durable', rates.durable, 0, { text: '≥ 0.5 of rpc.baseline_durable', met: (r) => r >= 0.5 })
    against(throughputRow, rates.host, 'rpc.baseline_durable_nosync', rates.nosync, 0)
    const filesRow = fromRounds('rpc.files_throughput', 'calls/s', 0, rates.files, 'echo', rates.echo)
    against(filesRow, rates.files, 'rpc.baseline_durable', rates.durable, 0)
    const results: BenchResult[] = [
      throughputRow,
      fromRounds('rpc.baseline_durable', 'calls/s', 0, rates.durable, 'echo', rates.echo),
      fromRounds('rpc.baseline_durable_nosync', 'calls/s', 0, rates.nosync, 'echo', rates.echo),
      filesRow,
      fromRounds('rpc.latency_p50', 'ms', 3, latency.host, 'echo', latency.echo, { text: '≤ 2× echo', met: (r) => r <= 2 }),
      fromRounds('rpc.latency_p99', 'ms', 3, p99s.host, 'echo', p99s.echo)
    ]
    if (main !== null) {
      against(throughputRow, rates.host, 'main', rates.main, 0)
      against(filesRow, rates.files, 'main', rates.mainFiles, 0, { text: '≥ 1.5 of main', met: (r) => r >= 1.5 })
      const mainRow = fromRounds('rpc.throughput@main', 'calls/s', 0, rates.main, 'echo', rates.echo)
      against(mainRow, rates.main, 'rpc.baseline_durable', rates.durable, 0)
      results.push(
        mainRow,
        fromRounds('rpc.files_throughput@main', 'calls/s', 0, rates.mainFiles, 'echo', rates.echo),
        fromRounds('rpc.latency_p50@main', 'ms', 3, latency.main, 'echo', latency.echo)
      )
    }
    results.push(
      single('rpc.host_ceiling', ceiling.rate, 'calls/s', 'echo', Math.max(...rates.echo), 0),
      single('rpc.commit_floor_p50', percentile(floorTimes, 0.5), 'ms', 'echo p50', Math.min(...latency.echo), 3)
    )
    return results
  } finally {
    for (const s of servers) await stopServer(s)
    await rm(dir, { recursive: true, force: true })
  }
}

// Run on its own: node dist/bench/rpc.js [--quick] [--before DIR]
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const at = process.argv.indexOf('--before')
  process.stdout.write(formatTable(await benchRpc({ quick: process.argv.includes('--quick'), before: at === -1 ? null : process.argv[at + 1] })))
}
