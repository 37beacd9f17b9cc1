// Signed-call speed: a real `nodevms exec` child serving fixtures/counter.js, driven by 32 clients that each
// sign with their own identity, against 32 unsigned clients, in interleaved rounds (3 rounds, median ratio).
//   auth.signed_throughput   signed increment() calls/s       target ≥ 0.75 of unsigned
// With --before DIR, that checkout's CLI is measured the same way in the same rounds (auth.signed_throughput@main).
//   auth.main_thread_per_call  the host's main-thread CPU µs per signed call, against per unsigned call (from
//                            /proc, Linux only): what signing costs the thread that bounds throughput
//   auth.check_main_thread   µs of main-thread time per signature check through the host's worker pool, in
//                            batches of 32 (32 clients in flight), against checking on the main thread itself
//                            (hypercore-crypto), and against batches of 8 and of 1: what the channel costs
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import crypto from 'hypercore-crypto'
import { WebSocket } from 'ws'
import { signCall } from '../client/node.js'
import { signatureCovers } from '../host/index.js'
import { SignaturePool } from '../host/rpc/signature-pool.js'
import { benchDir } from './interrupt.js'
import { formatTable, type BenchResult } from './report.js'
import { against, fromRounds, interleave, type BenchOptions } from './rounds.js'
import { anonymous, mainThreadCost, startHost, stopServer, throughput, type Server } from './serve.js'

const CLIENTS = 32

/** Refuses to measure a host that does not check signatures: the numbers would mean nothing. */
async function assertHostVerifies (port: number): Promise<void> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`)
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject) })
  const reply = new Promise<{ error?: { code: number } }>((resolve) => ws.once('message', (d) => resolve(JSON.parse(String(d)))))
  ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'increment', params: [], auth: { pubkey: '0'.repeat(64), counter: 1, signature: '0'.repeat(128) } }))
  const { error } = await reply
  ws.close()
  if (error?.code !== -32001) throw new Error('the host ran a call with a bad signature: signed calls are not wired into Host.asService yet')
}

const LOG_KEY = 'ab'.repeat(32)

/** Main-thread µs per check of a signed increment(): in batches of `batch` through the pool (null: on this thread, as main did). */
async function checkCost (pool: SignaturePool | null, batch: number, checks: number): Promise<number> {
  const auth = signCall(crypto.keyPair(), LOG_KEY, 'increment', [], 1_700_000_000_000_000)
  const rounds = Math.ceil(checks / batch)
  const start = performance.eventLoopUtilization()
  for (let r = 0; r < rounds; r++) {
    if (pool === null) {
      for (let i = 0; i < batch; i++) if (!signatureCovers(LOG_KEY, 'increment', [], auth)) throw new Error('a good signature failed')
    } else {
      const answers = await Promise.all(Array.from({ length: batch }, () => pool.check('increment', [], auth)))
      if (!answers.every(Boolean)) throw new Error('a good signature failed in the pool')
    }
  }
  return performance.eventLoopUtilization(start).active * 1000 / (rounds * batch)
}

async function benchChannel (quick: boolean): Promise<BenchResult> {
  const pool = new SignaturePool(LOG_KEY, 1)
  try {
    const checks = quick ? 2000 : 8000
    await checkCost(pool, 32, 256)
    const costs = await interleave(3, [
      ['inline', () => checkCost(null, 32, checks)], ['batch32', () => checkCost(pool, 32, checks)],
      ['batch8', () => checkCost(pool, 8, checks)], ['batch1', () => checkCost(pool, 1, checks / 8)]
    ])
    const row = fromRounds('auth.check_main_thread', 'µs/check', 2, costs.batch32, 'on the main thread', costs.inline)
    against(row, costs.batch32, 'batches of 8', costs.batch8, 2)
    return against(row, costs.batch32, 'batches of 1', costs.batch1, 2)
  } finally {
    await pool.close()
  }
}

export async function benchAuth ({ quick, before }: BenchOptions): Promise<BenchResult[]> {
  const dir = await benchDir('auth')
  const servers: Server[] = []
  try {
    const host = await startHost(join(dir, 'host'))
    servers.push(host)
    await assertHostVerifies(host.port)
    const main = before === null ? null : await startHost(join(dir, 'main'), 'counter.js', before)
    if (main !== null) servers.push(main)
    const ms = quick ? 1500 : 3000
    const identities = Array.from({ length: CLIENTS }, () => crypto.keyPair())
    // Each run also records the host's main-thread CPU per call: what a signed call costs the thread that
    // bounds throughput, which the machine's other load cannot hide the way it hides a rate.
    const cost: Record<string, number[]> = { unsigned: [], signed: [], mainUnsigned: [], mainSigned: [] }
    const unsigned = (server: Server, name: string) => () => throughput(server.port, anonymous(CLIENTS), ms, mainThreadCost(server, cost[name]))
    const signed = (server: Server, name: string) => () => throughput(server.port, identities, ms, mainThreadCost(server, cost[name]))
    const rates = await interleave(3, [
      ['unsigned', unsigned(host, 'unsigned')], ['signed', signed(host, 'signed')],
      ...(main !== null ? [['mainUnsigned', unsigned(main, 'mainUnsigned')], ['mainSigned', signed(main, 'mainSigned')]] as Array<['mainUnsigned' | 'mainSigned', () => Promise<number>]> : [])
    ])
    const row = fromRounds('auth.signed_throughput', 'calls/s', 0, rates.signed, 'unsigned', rates.unsigned, { text: '≥ 0.75 of unsigned', met: (r) => r >= 0.75 })
    const results = [row]
    if (cost.signed.length === 3) results.push(fromRounds('auth.main_thread_per_call', 'µs/call', 1, cost.signed, 'unsigned', cost.unsigned))
    if (main !== null) {
      against(row, rates.signed, 'main signed', rates.mainSigned, 0)
      results.push(fromRounds('auth.signed_throughput@main', 'calls/s', 0, rates.mainSigned, 'unsigned', rates.mainUnsigned))
      if (cost.mainSigned.length === 3) results.push(fromRounds('auth.main_thread_per_call@main', 'µs/call', 1, cost.mainSigned, 'unsigned', cost.mainUnsigned))
    }
    results.push(await benchChannel(quick))
    return results
  } finally {
    for (const s of servers) await stopServer(s)
    await rm(dir, { recursive: true, force: true })
  }
}

// Run on its own: node dist/bench/auth.js [--quick] [--before DIR]
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const at = process.argv.indexOf('--before')
  process.stdout.write(formatTable(await benchAuth({ quick: process.argv.includes('--quick'), before: at === -1 ? null : process.argv[at + 1] })))
}
