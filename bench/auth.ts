// Signed-call speed: a real `nodevms exec` child serving fixtures/counter.js, driven by 32 clients that each
// sign with their own identity, against 32 unsigned clients, alternating in one run.
//   auth.signed_throughput   signed increment() calls/s       target ≥ 70% of unsigned
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import crypto from 'hypercore-crypto'
import { WebSocket } from 'ws'
import { formatTable, round, type BenchResult } from './report.js'
import { anonymous, startCounterHost, stopServer, throughput, type Server } from './serve.js'

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

export async function benchAuth (quick: boolean): Promise<BenchResult[]> {
  const dir = await mkdtemp(join(tmpdir(), 'nodevms-bench-auth-'))
  let host: Server | null = null
  try {
    host = await startCounterHost(join(dir, 'host'))
    await assertHostVerifies(host.port)
    const ms = quick ? 1500 : 4000
    const rounds = quick ? 1 : 2
    const identities = Array.from({ length: CLIENTS }, () => crypto.keyPair())
    let unsigned = 0
    let signed = 0
    // Alternating, so drift (thermal, a growing log, other load) hits both alike.
    for (let i = 0; i < rounds; i++) {
      unsigned += await throughput(host.port, anonymous(CLIENTS), ms)
      signed += await throughput(host.port, identities, ms)
    }
    unsigned /= rounds
    signed /= rounds
    const ratio = signed / unsigned
    return [{
      name: 'auth.signed_throughput', value: round(signed, 0), unit: 'calls/s', baseline: round(unsigned, 0),
      ratio: round(ratio, 3), target: '≥ 70% of unsigned', met: ratio >= 0.7
    }]
  } finally {
    if (host) await stopServer(host)
    await rm(dir, { recursive: true, force: true })
  }
}

// Run on its own: node dist/bench/auth.js [--quick]
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(formatTable(await benchAuth(process.argv.includes('--quick'))))
}
