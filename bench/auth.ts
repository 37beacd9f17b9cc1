// Signed-call speed: a real `nodevms exec` child serving fixtures/counter.js, driven by 32 clients that each
// sign with their own identity, against 32 unsigned clients, alternating in one run.
//   auth.signed_throughput   signed increment() calls/s       target ≥ 70% of unsigned
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import crypto from 'hypercore-crypto'
import { WebSocket } from 'ws'
import { connect, type Client } from '../host/client.js'
import type { Identity } from '../host/identity.js'
import { formatTable, round, type BenchResult } from './report.js'

const root = fileURLToPath(new URL('../../', import.meta.url))
const cliPath = fileURLToPath(new URL('../cli/index.js', import.meta.url))
const counterPath = join(root, 'fixtures', 'counter.js')
const CLIENTS = 32

interface Server { port: number, child: ChildProcess }

function startHost (dir: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, 'exec', counterPath, '--port', '0', '--dir', dir], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`bench host did not start within 20 s: ${err}`)) }, 20_000)
    child.stderr!.on('data', (d) => { err += d })
    child.stdout!.on('data', (d) => {
      out += d
      const match = /Serving at [^\s:]+:(\d+)/.exec(out)
      if (match) { clearTimeout(timer); resolve({ port: Number(match[1]), child }) }
    })
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`bench host exited (${code}) before serving: ${err}`)) })
  })
}

async function stopHost ({ child }: Server): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
  await exited
  clearTimeout(timer)
}

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

/** Calls/s: `clients` connections each calling increment() back to back for `ms`, after a warm-up. */
async function throughput (port: number, identities: Array<Identity | undefined>, ms: number): Promise<number> {
  const conns: Client[] = await Promise.all(identities.map((identity) => connect(`127.0.0.1:${port}`, { identity })))
  try {
    const warm = performance.now() + ms / 3
    await Promise.all(conns.map(async (c) => { while (performance.now() < warm) await c.increment() }))
    let calls = 0
    const until = performance.now() + ms
    const started = performance.now()
    await Promise.all(conns.map(async (c) => {
      while (performance.now() < until) { await c.increment(); calls++ }
    }))
    return calls / ((performance.now() - started) / 1000)
  } finally {
    await Promise.all(conns.map((c) => c.close()))
  }
}

export async function benchAuth (quick: boolean): Promise<BenchResult[]> {
  const dir = await mkdtemp(join(tmpdir(), 'nodevms-bench-auth-'))
  let host: Server | null = null
  try {
    host = await startHost(join(dir, 'host'))
    await assertHostVerifies(host.port)
    const ms = quick ? 1500 : 4000
    const rounds = quick ? 1 : 2
    const identities = Array.from({ length: CLIENTS }, () => crypto.keyPair())
    const anonymous = Array.from({ length: CLIENTS }, () => undefined)
    let unsigned = 0
    let signed = 0
    // Alternating, so drift (thermal, a growing log, other load) hits both alike.
    for (let i = 0; i < rounds; i++) {
      unsigned += await throughput(host.port, anonymous, ms)
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
    if (host) await stopHost(host)
    await rm(dir, { recursive: true, force: true })
  }
}

// Run on its own: node dist/bench/auth.js [--quick]
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(formatTable(await benchAuth(process.argv.includes('--quick'))))
}
