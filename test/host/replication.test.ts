import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Duplex } from 'node:stream'
import Corestore from 'corestore'
import Hyperdrive from 'hyperdrive'
import type Hypercore from 'hypercore'
import { RpcServer } from '../../host/rpc/index.js'
import { replicateCores, type Replication } from '../../host/replication.js'
import { openReplicationStream } from '../../host/verify/index.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

interface World {
  dirs: string[]
  writer: Corestore, log: Hypercore, drive: Hyperdrive, server: RpcServer, hostSides: Replication[]
  reader: Corestore
}

/** A writer corestore (a log Hypercore and a Hyperdrive) served by a real RpcServer, and an empty reader corestore. */
async function world (): Promise<World> {
  const dirs = [await mkdtemp(join(tmpdir(), 'nodevms-repl-w-')), await mkdtemp(join(tmpdir(), 'nodevms-repl-r-'))]
  const writer = new Corestore(dirs[0])
  const log = writer.get({ name: 'call-log' })
  await log.ready()
  await log.append(['entry 0', 'entry 1'])
  const drive = new Hyperdrive(writer.session())
  await drive.ready()
  await drive.put('/counter', '41')
  await drive.put('/photos/a.txt', 'x'.repeat(200_000)) // several blob blocks
  const hostSides: Replication[] = []
  const server = new RpcServer({
    host: '127.0.0.1',
    port: 0,
    service: {
      methods: [],
      handshakeInfo: () => ({ methods: [] }),
      call: async () => ({ result: null }),
      replicate: (stream: Duplex) => { hostSides.push(replicateCores(writer, stream, { isInitiator: false })) }
    }
  })
  await server.open()
  return { dirs, writer, log, drive, server, hostSides, reader: new Corestore(dirs[1]) }
}

async function teardown (w: World, extra: Array<{ close (): Promise<void> }> = []): Promise<void> {
  for (const r of extra) await r.close()
  await w.reader.close()
  await w.server.close()
  await Promise.all(w.hostSides.map((r) => r.closed))
  await w.drive.close()
  await w.log.close()
  await w.writer.close()
  for (const dir of w.dirs) await rm(dir, { recursive: true, force: true })
}

/** The reader side, as verify does it: findingPeers, connect, wait for the protocol to open, then done(). */
async function connectReader (w: World): Promise<Replication> {
  const done = w.reader.findingPeers()
  const stream = await openReplicationStream(`localhost:${w.server.port}`)
  const rep = replicateCores(w.reader, stream, { isInitiator: true })
  await rep.opened
  done()
  return rep
}

test('a reader fetches the call log and the files archive by key over ws://host:port/replicate', async () => {
  const w = await world()
  const log = w.reader.get({ key: w.log.key! })
  await log.ready()
  const rep = await connectReader(w)
  await log.update({ wait: true })
  assert.is(log.length, 2, 'the reader sees the whole log')
  assert.is(String(await log.get(1)), 'entry 1')
  assert.not.ok(log.writable, 'the reader cannot write the host log')
  const drive = new Hyperdrive(w.reader.session(), w.drive.key)
  await drive.ready()
  await drive.update({ wait: true })
  assert.is(drive.version, w.drive.version, 'the reader has the host drive version')
  assert.is(String(await drive.get('/counter')), '41')
  assert.is(String(await drive.get('/photos/a.txt'))?.length, 200_000)
  rep.destroy()
  await rep.closed
  await teardown(w, [drive, log])
})

test('a live log: entries appended after the reader connected arrive by update({ wait }) and a live stream', async () => {
  const w = await world()
  const log = w.reader.get({ key: w.log.key! })
  await log.ready()
  const rep = await connectReader(w)
  await log.update({ wait: true })
  assert.is(log.length, 2)
  const seen: string[] = []
  const live = log.createReadStream({ start: 0, live: true }) as unknown as Duplex
  const reading = new Promise<void>((resolve, reject) => {
    live.on('error', reject)
    live.on('data', (block: Buffer) => { seen.push(String(block)); if (seen.length === 4) resolve() })
  })
  await w.log.append('entry 2')
  for (let i = 0; log.length < 3 && i < 500; i++) { await log.update({ wait: true }); await sleep(10) }
  assert.is(String(await log.get(2)), 'entry 2', 'update({ wait }) brought the new entry')
  await w.log.append('entry 3')
  await reading
  live.destroy()
  assert.equal(seen, ['entry 0', 'entry 1', 'entry 2', 'entry 3'], 'the live stream saw the new entries in order')
  await log.update({ wait: true })
  assert.is(log.length, 4)
  rep.destroy()
  await rep.closed
  await teardown(w, [log])
})

test('read-only host: a core the reader offers is never created or downloaded on the host', async () => {
  const w = await world()
  const mine = w.reader.get({ name: 'reader-own' })
  await mine.ready()
  await mine.append(['a', 'b', 'c'])
  const log = w.reader.get({ key: w.log.key! })
  await log.ready()
  const rep = await connectReader(w)
  await log.update({ wait: true })
  await new Promise((resolve) => setTimeout(resolve, 200)) // give the host every chance to pick it up
  const storage = (w.writer as unknown as { storage: { hasCore (dk: Buffer): Promise<boolean> } }).storage
  assert.not.ok(await storage.hasCore(mine.discoveryKey!), 'the host store has no copy of the reader core')
  assert.ok(await storage.hasCore(w.log.discoveryKey!), 'sanity: hasCore sees the host own log')
  rep.destroy()
  await rep.closed
  await teardown(w, [log, mine])
})

test('closing the server ends replication on both sides', async () => {
  const w = await world()
  const rep = await connectReader(w)
  assert.is(w.server.clientCount, 1)
  await w.server.close()
  await rep.closed
  await Promise.all(w.hostSides.map((r) => r.closed))
  await teardown(w)
})

test.run()
