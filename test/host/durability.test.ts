// A power cut loses no acknowledged call: a call's result is given only after its group is on stable
// storage, in a record of the answer journal (one write, one fdatasync), and the journal only starts again
// from its beginning once the cores hold everything in it on stable storage (an fdatasync of RocksDB's
// write-ahead log, then the acknowledged record). A power cut cannot be staged here, so these tests watch
// the syncs happen, and happen before each answer; the journal and the record are read from disk.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import fs from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect } from '../../client/node.js'
import { Host } from '../../host/index.js'
import { readAcknowledged } from '../../host/acknowledged.js'
import { readJournal } from '../../host/answer-journal.js'
import { decodeEntry } from '../../host/call-log.js'
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
const isJournal = (e: SyncEvent) => e.op === 'fdatasync' && e.path.endsWith('/JOURNAL')

/** The results of the call entries in the journal on disk, by log index. */
function journaled (dir: string, key: string): Map<number, unknown> {
  const out = new Map<number, unknown>()
  for (const record of readJournal(dir, key).records) {
    record.entries.forEach((block, i) => {
      const entry = decodeEntry(block, record.start + i, key)
      if (entry.type === 'call') out.set(record.start + i, entry.result)
    })
  }
  return out
}

test('each answer comes after an fdatasync of the answer journal, which holds the call on disk', async (ctx) => {
  await watchingSyncs(async (events) => {
    const host = new Host({ source: PERSISTENT_COUNTER, filename: 'counter.js', dir: ctx.dir, warn: () => {}, audit: false })
    await host.ready()
    try {
      for (let i = 1; i <= 20; i++) {
        const from = events.length
        const entry = await host.call('increment', [], { beforeCores: true })
        assert.is(entry.result, i)
        const since = events.slice(from)
        assert.ok(since.some(isJournal), `call ${i}: the journal was fdatasynced before the answer (saw: ${since.map((e) => `${e.op} ${e.path}`).join(', ') || 'no sync'})`)
        // The init entry is block 0, so call i is block i.
        assert.is(journaled(ctx.dir, host.callLogKey).get(i), i, `call ${i}: the journal on disk holds it when it is answered`)
      }
      const from = events.length
      await host.close()
      const closing = events.slice(from)
      const wal = closing.findIndex(isWal)
      assert.ok(wal !== -1 && closing.slice(wal + 1).some(isAck), 'at close, the cores are synced and then the acknowledged record')
      assert.is(readAcknowledged(ctx.dir)!.log.length, 21, 'the acknowledged record covers every call after close')
    } finally {
      await host.close()
    }
  })
})

test('under concurrent calls (group commit), no answer runs ahead of the journal on disk', async (ctx) => {
  const host = new Host({ source: PERSISTENT_COUNTER, filename: 'counter.js', dir: ctx.dir, warn: () => {}, audit: false })
  await host.ready()
  try {
    const behind: string[] = []
    await Promise.all(Array.from({ length: 200 }, async () => {
      const { result } = await host.call('increment', [], { beforeCores: true })
      if (journaled(ctx.dir, host.callLogKey).get(result as number) !== result) behind.push(`call ${String(result)} was answered before the journal on disk held it`)
    }))
    assert.equal(behind, [], 'every answer found its call in the journal')
    assert.ok(host.groupSizes.some((n) => n > 1), 'calls were committed in groups')
  } finally {
    await host.close()
  }
})

// 128 KiB a call, and a journal that starts again after 1 MiB: it does so every 8 calls or so.
const BIG_FILES = `exports.write = async function (n) {
  await System.files.writeFile('/big/' + n, 'x'.repeat(128 * 1024 - 8) + String(n).padStart(8, '0'))
  return n
}
`

test('the journal starts again only after the cores hold what it held, on stable storage (WAL fdatasync, then the acknowledged record)', async (ctx) => {
  await watchingSyncs(async (events) => {
    const host = new Host({ source: BIG_FILES, filename: 'big.js', dir: ctx.dir, warn: () => {}, audit: false, journalBytes: 1024 * 1024 })
    await host.ready()
    try {
      let restarts = 0
      for (let n = 1; n <= 24; n++) {
        const from = events.length
        await host.call('write', [n], { beforeCores: true })
        const { records } = readJournal(ctx.dir, host.callLogKey)
        const start = records[0].start
        if (start > 1) {
          // Whatever the journal no longer holds, the cores hold durably: the record names at least that much.
          assert.ok(readAcknowledged(ctx.dir)!.log.length >= start, `call ${n}: the journal starts at ${start}, the acknowledged record covers it`)
        }
        const since = events.slice(from)
        const wal = since.findIndex(isWal)
        if (wal !== -1) {
          restarts++
          const ack = since.findIndex(isAck)
          const journal = since.map(isJournal).lastIndexOf(true)
          assert.ok(ack > wal && journal > ack, `call ${n}: WAL, then the acknowledged record, then the journal's new record (saw: ${since.map((e) => e.path).join(', ')})`)
        }
        assert.is(journaled(ctx.dir, host.callLogKey).get(n), n, `call ${n} is in the journal on disk`)
      }
      assert.ok(restarts >= 2, `the journal started again (${restarts} times)`)
    } finally {
      await host.close()
    }
  })
  const verified = await runCli(['verify', '--dir', ctx.dir])
  assert.is(verified.code, 0, verified.stdout + verified.stderr)
})

test('a real exec: every answer finds its call in the journal on disk; after SIGKILL the host continues from it', async (ctx) => {
  const script = join(ctx.dir, 'counter.js')
  await writeFile(script, PERSISTENT_COUNTER)
  const dir = join(ctx.dir, 'host')
  const host = await spawnCli(['exec', script, '--dir', dir, '--port', '0'])
  const client = await connect(`localhost:${host.port}`)
  for (let i = 1; i <= 30; i++) {
    assert.is(await client.increment(), i)
    assert.is(journaled(dir, host.logKey).get(i), i, `answer ${i}: the journal on disk already holds it`)
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
