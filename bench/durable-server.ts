// rpc.baseline_durable: the server nodevms is measured against. A plain JSON-RPC counter over ws, durable in
// RocksDB with group commit, plus an audit record per call: what a backend you have to trust would do.
// Calls that arrive while a write is in flight go into the next write, as the host's group commit does.
// With --sync, each group's write is followed by an fdatasync of RocksDB's current write-ahead log (rocksdb-native
// writes without sync and has no per-write sync): the durability the host's synced commit gives. Without it,
// "durable" means written by RocksDB, as the host on main does.
//   node dist/bench/durable-server.js --dir DIR [--sync]      prints "Serving at localhost:PORT"
import { createRequire } from 'node:module'
import { closeSync, fdatasyncSync, openSync } from 'node:fs'
import { open, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { WebSocketServer, type WebSocket } from 'ws'

// rocksdb-native is what hypercore-storage writes with: the same engine, the same defaults.
const RocksDB = createRequire(import.meta.url)('rocksdb-native') as new (path: string) => Rocks

interface Rocks {
  ready (): Promise<void>
  get (key: string): Promise<Buffer | null>
  write (): { put (key: string, value: string): void, flush (): Promise<void>, destroy (): void }
  currentWalFile (): Promise<{ path: string, number: number }>
  close (): Promise<void>
}

interface Pending { ws: WebSocket, id: unknown, method: string, params: unknown }

class WalSync {
  private file: FileHandle | null = null
  private number = -1
  constructor (private readonly db: Rocks, private readonly dir: string) {}

  async sync (): Promise<void> {
    const wal = await this.db.currentWalFile()
    if (wal.number !== this.number) {
      const previous = this.file
      this.file = await open(join(this.dir, wal.path), 'r')
      this.number = wal.number
      if (previous !== null) { await previous.datasync(); await previous.close() }
      // The new log's name must be durable too.
      const dirFd = openSync(this.dir, 'r')
      try { fdatasyncSync(dirFd) } finally { closeSync(dirFd) }
    }
    await this.file!.datasync() // fdatasync(2)
  }
}

async function main (): Promise<void> {
  const args = process.argv.slice(2)
  const dir = args[args.indexOf('--dir') + 1]
  const synced = args.includes('--sync')
  const db = new RocksDB(dir)
  await db.ready()
  const wal = synced ? new WalSync(db, dir) : null
  let counter = Number((await db.get('counter'))?.toString() ?? 0)
  let queue: Pending[] = []
  let writing = false

  // One write per group; the callers are answered once it (and, with --sync, the WAL) is durable.
  const commit = async (): Promise<void> => {
    writing = true
    while (queue.length > 0) {
      const group = queue
      queue = []
      const batch = db.write()
      const replies: Array<[WebSocket, string]> = []
      for (const call of group) {
        const result = ++counter
        batch.put(`audit/${String(result).padStart(12, '0')}`, JSON.stringify({ method: call.method, params: call.params, result, time: Date.now() }))
        replies.push([call.ws, JSON.stringify({ jsonrpc: '2.0', id: call.id, result })])
      }
      batch.put('counter', String(counter))
      await batch.flush()
      batch.destroy()
      if (wal !== null) await wal.sync()
      for (const [ws, text] of replies) if (ws.readyState === ws.OPEN) ws.send(text)
    }
    writing = false
  }

  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false })
  wss.on('connection', (ws) => ws.on('message', (data) => {
    const req = JSON.parse(String(data)) as { id: unknown, method: string, params?: unknown }
    if (req.method === 'handshake') {
      ws.send(JSON.stringify({ jsonrpc: '2.0', id: req.id, result: { methods: ['increment'] } }))
      return
    }
    queue.push({ ws, id: req.id, method: req.method, params: req.params ?? [] })
    if (!writing) commit().catch((err) => { process.stderr.write(`${err?.stack ?? err}\n`); process.exit(1) })
  }))
  wss.on('listening', () => process.stdout.write(`Serving at localhost:${(wss.address() as { port: number }).port}\n`))
  process.once('SIGTERM', () => { wss.close(); db.close().then(() => process.exit(0), () => process.exit(1)) })
}

await main()
