// Serving and driving for the wire benchmarks: a server child (a real `nodevms exec` or a baseline), and
// the same client code calling increment() back to back against either.
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { connect, type Client, type Identity } from '../client/node.js'
import { tracked } from './interrupt.js'

const root = fileURLToPath(new URL('../../', import.meta.url))
const cliPath = fileURLToPath(new URL('../cli/index.js', import.meta.url))
const durableServerPath = fileURLToPath(new URL('./durable-server.js', import.meta.url))

export interface Server { port: number, child: ChildProcess }

/** Spawns `node <args>` in the repo root and resolves once it prints "Serving at …:PORT". */
export function startServer (args: string[]): Promise<Server> {
  return new Promise((resolve, reject) => {
    const child = tracked(spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] }))
    let out = ''
    let err = ''
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`bench server did not start within 20 s: ${err}`)) }, 20_000)
    child.stderr!.on('data', (d) => { err += d })
    child.stdout!.on('data', (d) => {
      out += d
      const match = /Serving at [^\s:]+:(\d+)/.exec(out)
      if (match) { clearTimeout(timer); resolve({ port: Number(match[1]), child }) }
    })
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`bench server exited (${code}) before serving: ${err}`)) })
  })
}

/**
 * `nodevms exec fixtures/<script>` on a free port, its state in dir; with `checkout`, the CLI of that built
 * checkout (--before: the code being compared with) serves the same fixture.
 */
export function startHost (dir: string, script = 'counter.js', checkout: string | null = null): Promise<Server> {
  const cli = checkout === null ? cliPath : join(checkout, 'dist', 'cli', 'index.js')
  return startServer([cli, 'exec', join(root, 'fixtures', script), '--port', '0', '--dir', dir])
}

/** `nodevms exec fixtures/counter.js` on a free port, its state in dir. */
export function startCounterHost (dir: string): Promise<Server> {
  return startHost(dir)
}

/** rpc.baseline_durable (durable-server.ts): with `sync`, each group's WAL is fdatasynced before the replies. */
export function startDurableBaseline (dir: string, sync: boolean): Promise<Server> {
  return startServer([durableServerPath, '--dir', dir, ...(sync ? ['--sync'] : [])])
}

// The echo baseline: parse each request, answer it, nothing else. It answers `handshake` so the same client connects.
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

/** A bare ws JSON echo server: the floor of any server over this client and socket. */
export function startEcho (): Promise<Server> {
  return startServer(['-e', ECHO_SERVER])
}

/** SIGTERM, then SIGKILL after 5 s; resolves once the child is gone. */
export async function stopServer ({ child }: Server): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
  await exited
  clearTimeout(timer)
}

/** Called around the measured part of a throughput run (after its warm-up), with the calls it made. */
export interface MeasuredWindow { begin (): void, end (calls: number): void }

/**
 * CPU time (µs) of one thread of a child so far, from /proc (Linux; 10 ms ticks): the main thread by default.
 * Null where /proc has no such thread.
 */
export function threadCpuUs (pid: number, tid = pid): number | null {
  try {
    const fields = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ')
    return (Number(fields[11]) + Number(fields[12])) * 10_000 // utime + stime, at 100 ticks a second
  } catch {
    return null
  }
}

/** A MeasuredWindow that records the server's main-thread CPU µs per call of each measured run into `out`. */
export function mainThreadCost (server: Server, out: number[]): MeasuredWindow {
  let before: number | null = null
  return {
    begin: () => { before = threadCpuUs(server.child.pid!) },
    end: (calls) => {
      const after = threadCpuUs(server.child.pid!)
      if (before !== null && after !== null && calls > 0) out.push((after - before) / calls)
    }
  }
}

/** `n` clients that do not sign. */
export const anonymous = (n: number): undefined[] => Array.from({ length: n }, () => undefined)

/** Calls/s: one connection per identity (undefined: unsigned), each calling increment() back to back for `ms`. */
export async function throughput (port: number, identities: Array<Identity | undefined>, ms: number, window?: MeasuredWindow): Promise<number> {
  const conns: Client[] = await Promise.all(identities.map((identity) => connect(`127.0.0.1:${port}`, { identity })))
  try {
    // Warm up (JIT, sockets, the host's first commits) for a third of the run, then measure.
    const warm = performance.now() + ms / 3
    await Promise.all(conns.map(async (c) => { while (performance.now() < warm) await c.increment() }))
    let calls = 0
    const until = performance.now() + ms
    window?.begin()
    const started = performance.now()
    await Promise.all(conns.map(async (c) => {
      while (performance.now() < until) { await c.increment(); calls++ }
    }))
    window?.end(calls)
    return calls / ((performance.now() - started) / 1000)
  } finally {
    await Promise.all(conns.map((c) => c.close()))
  }
}
