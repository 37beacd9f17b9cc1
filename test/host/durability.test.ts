// A power cut loses no acknowledged call: a call's result is given only after its group is on stable
// storage (an fdatasync of RocksDB's write-ahead log) and the acknowledged record names it. A power cut
// cannot be staged here, so these tests watch the syncs happen, and happen before each answer.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import fs from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect } from '../../client/node.js'
import { Host } from '../../host/index.js'
import { readAcknowledged } from '../../host/acknowledged.js'
import { PERSISTENT_COUNTER } from '../helpers.js'
import { runCli, spawnCli, stopAll } from '../cli/helpers.js'

interface Ctx { dir: string }
const test = suite<Ctx>('durable before the reply', { dir: '' })
test.before.each(async (ctx) => { ctx.dir = await mkdtemp(join(tmpdir(), 'nodevms-durable-')) })
test.after.each(async (ctx) => {
  await stopAll()
  await rm(ctx.dir, { recursive: true, force: true })
})

type SyncEvent = { op: 'fdatasync' | 'fsync', path: string }

/** Records every fdatasync and fsync this process makes (with the file's path) while fn runs. */
async function watchingSyncs<T> (fn: (events: SyncEvent[]) => Promise<T>): Promise<T> {
  const events: SyncEvent[] = []
  const original = { fdatasync: fs.fdatasync, fsync: fs.fsync }
  const path = (fd: number) => { try { return fs.readlinkSync(`/proc/self/fd/${fd}`) } catch { return `fd ${fd}` } }
  const spy = (op: SyncEvent['op']) => ((fd: number, cb: fs.NoParamCallback) => {
    original[op](fd, (err) => {
      if (err === null) events.push({ op, path: path(fd) })
      cb(err)
    })
  }) as typeof fs.fdatasync
  fs.fdatasync = spy('fdatasync')
  fs.fsync = spy('fsync')
  try {
    return await fn(events)
  } finally {
    fs.fdatasync = original.fdatasync
    fs.fsync = original.fsync
  }
}

const isWal = (e: SyncEvent) => e.op === 'fdatasync' && /\/db\/\d+\.log$/.test(e.path)
const isAck = (e: SyncEvent) => e.op === 'fdatasync' && e.path.endsWith('/ACKNOWLEDGED')

test('each answer comes after an fdatasync of the write-ahead log, then of the acknowledged record naming the call', async (ctx) => {
  await watchingSyncs(async (events) => {
    const host = new Host({ source: PERSISTENT_COUNTER, filename: 'counter.js', dir: ctx.dir, warn: () => {}, audit: false })
    await host.ready()
    try {
      for (let i = 1; i <= 20; i++) {
        const from = events.length
        const entry = await host.call('increment')
        assert.is(entry.result, i)
        const since = events.slice(from)
        const wal = since.findIndex(isWal)
        assert.ok(wal !== -1, `call ${i}: the write-ahead log was fdatasynced before the answer (saw: ${since.map((e) => `${e.op} ${e.path}`).join(', ') || 'no sync'})`)
        assert.ok(since.slice(wal + 1).some(isAck), `call ${i}: the acknowledged record was synced after the log and before the answer`)
        // The init entry is block 0, so call i is block i: the record on disk covers it already.
        assert.ok(readAcknowledged(ctx.dir)!.log.length >= i + 1, `call ${i}: the acknowledged record on disk covers it when it is answered`)
      }
    } finally {
      await host.close()
    }
  })
})

test('under concurrent calls (group commit), no answer runs ahead of the acknowledged record', async (ctx) => {
  const host = new Host({ source: PERSISTENT_COUNTER, filename: 'counter.js', dir: ctx.dir, warn: () => {}, audit: false })
  await host.ready()
  try {
    const behind: string[] = []
    await Promise.all(Array.from({ length: 200 }, async () => {
      const { result } = await host.call('increment')
      const acked = readAcknowledged(ctx.dir)!.log.length
      if (acked < (result as number) + 1) behind.push(`call ${String(result)} answered with the record at ${acked}`)
    }))
    assert.equal(behind, [], 'every answer found its call in the acknowledged record')
    assert.ok(host.groupSizes.some((n) => n > 1), 'calls were committed in groups')
  } finally {
    await host.close()
  }
})

test('a real exec: every answer finds its call in the record on disk; after SIGKILL the host continues from it', async (ctx) => {
  const script = join(ctx.dir, 'counter.js')
  await writeFile(script, PERSISTENT_COUNTER)
  const dir = join(ctx.dir, 'host')
  const host = await spawnCli(['exec', script, '--dir', dir, '--port', '0'])
  const client = await connect(`localhost:${host.port}`)
  for (let i = 1; i <= 30; i++) {
    assert.is(await client.increment(), i)
    assert.ok(readAcknowledged(dir)!.log.length >= i + 1, `answer ${i}: the record on disk already covers it`)
  }
  await client.close()
  await host.stop('SIGKILL')
  const again = await spawnCli(['exec', script, '--dir', dir, '--port', '0'])
  const next = await connect(`localhost:${again.port}`)
  assert.is(await next.increment(), 31, 'nothing acknowledged was lost')
  await next.close()
  assert.is((await again.stop()).code, 0)
  const verified = await runCli(['verify', '--dir', dir])
  assert.is(verified.code, 0, verified.stdout + verified.stderr)
})

test.run()
