// RPC speed: a real `nodevms exec` child serving fixtures/counter.js (every call durably logged) against a
// bare ws JSON echo server in another child, both driven by the same client code (nodevms/client) in one run.
//   rpc.throughput   calls/s from 32 concurrent clients on loopback   target ≥ 40% of echo
//   rpc.latency_p50  single-client round trip, ms                     target ≤ 3× echo
//   rpc.latency_p99  single-client round trip, ms
// Two more rows explain what bounds those two, measured in this process in the same run (no target):
//   rpc.host_ceiling      durable calls/s through Host.call with 32 callers in flight (engine and group
//                         commit, no ws); a served call does all of that plus the ws work, on one thread
//   rpc.commit_floor_p50  one 300-byte append plus atom.flush() on a bare Corestore, ms: the storage work
//                         every durable call waits for, without a host, an engine or a socket
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Corestore from 'corestore'
import type Hypercore from 'hypercore'
import { connect } from '../client/node.js'
import { hostRate } from './host.js'
import { formatTable, round, type BenchResult } from './report.js'
import { anonymous, startCounterHost, startServer, stopServer, throughput, type Server } from './serve.js'

// The baseline: parse each request, answer it, nothing else. It answers `handshake` so the same client connects.
const ECHO_SERVER = `
const { WebSocketServer } = require('ws')
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false })
let n = 0
wss.on('connection', (ws) => ws.on('message', (data) => {
  const req = JSON.parse(String(data))
  const result = req.method === 'handshake' ? { methods: ['increment'] } : ++n
  ws.send(JSON.stringify({ jsonrpc: '2.0', id: req.id, result }))
}))
wss.on('listening', () => process.stdout.write('Serving at localhost:' + wss.address().port + '\\n'))
`

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

function result (name: string, value: number, unit: string, baseline: number, digits: number, target?: { text: string, met: (ratio: number) => boolean }): BenchResult {
  const ratio = value / baseline
  const r: BenchResult = { name, value: round(value, digits), unit, baseline: round(baseline, digits), ratio: round(ratio, 3) }
  if (target) { r.target = target.text; r.met = target.met(ratio) }
  return r
}

export async function benchRpc (quick: boolean): Promise<BenchResult[]> {
  const dir = await mkdtemp(join(tmpdir(), 'nodevms-bench-rpc-'))
  const servers: Server[] = []
  try {
    const host = await startCounterHost(join(dir, 'host'))
    servers.push(host)
    const echo = await startServer(['-e', ECHO_SERVER])
    servers.push(echo)
    const ms = quick ? 1500 : 5000
    const n = quick ? 500 : 3000
    // Baseline and subject alternate so drift (thermal, other load) hits both.
    const echoRate = await throughput(echo.port, anonymous(32), ms)
    const servedRate = await throughput(host.port, anonymous(32), ms)
    const ceiling = await hostRate(dir, 'counter.js', ms, 32)
    const echoTimes = await roundTrips(echo.port, n)
    const hostTimes = await roundTrips(host.port, n)
    const floorTimes = await commitTimes(join(dir, 'floor'), n)
    return [
      result('rpc.throughput', servedRate, 'calls/s', echoRate, 0, { text: '≥ 40% of echo', met: (r) => r >= 0.4 }),
      result('rpc.host_ceiling', ceiling.rate, 'calls/s', echoRate, 0),
      result('rpc.latency_p50', percentile(hostTimes, 0.5), 'ms', percentile(echoTimes, 0.5), 3, { text: '≤ 3× echo', met: (r) => r <= 3 }),
      result('rpc.latency_p99', percentile(hostTimes, 0.99), 'ms', percentile(echoTimes, 0.99), 3),
      result('rpc.commit_floor_p50', percentile(floorTimes, 0.5), 'ms', percentile(echoTimes, 0.5), 3)
    ]
  } finally {
    for (const s of servers) await stopServer(s)
    await rm(dir, { recursive: true, force: true })
  }
}

// Run on its own: node dist/bench/rpc.js [--quick]
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(formatTable(await benchRpc(process.argv.includes('--quick'))))
}
