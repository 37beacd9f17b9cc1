// The Host on real corestores in temp dirs: persistence, the script-wide lock, the queue bound, the
// log's entries, group commit, recovery, and every bad input the host must refuse cleanly.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { readFileSync } from 'node:fs'
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Corestore from 'corestore'
import Hyperdrive from 'hyperdrive'
import { EngineError } from '../../engine/index.js'
import { CallLog, DriveFiles, Host, HostError, LOG_CORE_NAME, computeStateRoot, sha256Hex } from '../../host/index.js'
import type { CallEntry, HostOptions, LogEntry } from '../../host/index.js'
import { logChanges, sameContent } from '../../host/call-log.js'
import { readTail } from '../../host/recovery.js'
import { verifyLog } from '../../host/verify/index.js'
import { openStore } from './stopped-store.js'

const fixtures = new URL('../../../fixtures/', import.meta.url)
const PERSISTENT = readFileSync(new URL('persistent-counter.js', fixtures), 'utf8')

// In-memory and persistent state side by side, one file per call, and a delete.
const LEDGER = `
var calls = 0
const fs = System.files
async function next () {
  var n = 0
  try { n = await fs.readFile('/counter', 'json') } catch (e) { if (e.name !== 'NotFoundError') throw e }
  return n + 1
}
exports.add = async function (note) {
  calls++
  const n = await next()
  await fs.writeFile('/counter', n)
  await fs.writeFile('/calls/' + n + '.json', { n: n, note: note === undefined ? null : note })
  return { n: n, calls: calls }
}
exports.remove = async function (n) { await fs.unlink('/calls/' + n + '.json'); return n }
exports.count = async function () { return (await fs.readdir('/calls')).length }
`

const temps: string[] = []
const hosts: Host[] = []

async function tempDir (): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'nodevms-host-'))
  temps.push(dir)
  return dir
}

async function open (dir: string, source = LEDGER, options: Partial<HostOptions> = {}): Promise<Host> {
  const host = new Host({ source, filename: 'ledger.js', dir, warn: () => {}, ...options })
  hosts.push(host)
  await host.ready()
  return host
}

async function entries (log: CallLog): Promise<LogEntry[]> {
  const out: LogEntry[] = []
  for await (const entry of log.read()) out.push(entry)
  return out
}

async function rejects (promise: Promise<unknown>, codes: string[], what: string): Promise<Error & { code: string }> {
  try {
    await promise
  } catch (err) {
    assert.ok(codes.includes((err as { code?: string }).code ?? ''), `${what}: expected ${codes.join(' or ')}, got ${String(err)}`)
    return err as Error & { code: string }
  }
  assert.unreachable(`${what}: expected ${codes.join(' or ')}, but it succeeded`)
  throw new Error('unreachable')
}

const after = async () => {
  for (const host of hosts.splice(0)) await host.close().catch(() => {})
  for (const dir of temps.splice(0)) {
    await chmod(dir, 0o700).catch(() => {})
    await rm(dir, { recursive: true, force: true })
  }
}

// ---------------------------------------------------------------------------------------------------

const persistence = suite('host persistence')
persistence.after.each(after)

persistence('a restart keeps both keys and the files, restores the script\'s memory, and logs a restart entry that says so', async () => {
  const dir = await tempDir()
  const first = await open(dir)
  const keys = [first.filesKey, first.callLogKey]
  for (let i = 1; i <= 3; i++) assert.equal((await first.call('add')).result, { n: i, calls: i }, `call ${i} before the restart`)
  const lastCall = (await first.log.get(first.log.length - 1)) as CallEntry
  await first.close()

  const second = await open(dir, LEDGER, { checkpoints: false })
  assert.equal([second.filesKey, second.callLogKey], keys, 'the files and call log keys survive the restart')
  assert.is(second.report.created, false, 'the restart does not count as a new host')
  assert.equal((await second.call('add')).result, { n: 4, calls: 4 }, 'files persisted (n = 4), and so did the in-memory count (calls = 4)')
  assert.equal(second.report.restored && { checkpoint: second.report.restored.checkpoint, replayed: second.report.restored.replayed }, { checkpoint: 4, replayed: 0 }, 'the first host left a checkpoint of its 4 entries when it closed: nothing to replay')
  const log = await entries(second.log)
  assert.equal(log.map((e) => e.type), ['init', 'call', 'call', 'call', 'restart', 'call'], 'entry types in order')
  const restart = log[4] as Extract<LogEntry, { type: 'restart' }>
  assert.is(restart.restored, true, 'the restart entry says the memory was restored')
  assert.is(restart.sourceHash, sha256Hex(LEDGER), 'the restart entry names the source it runs')
  assert.is(restart.filesVersion, lastCall.filesVersion, 'the restart entry records the files version it starts from')
  assert.is(restart.stateRoot, lastCall.stateRoot, 'the restart entry records the state root it starts from')
  assert.is((await second.drive.get('/calls/3.json'))?.toString(), '{"n":3,"note":null}', 'a file written before the restart is still there')
  await second.close()

  const fresh = await open(dir, LEDGER, { fresh: true })
  assert.equal((await fresh.call('add')).result, { n: 5, calls: 1 }, 'fresh: the files carry on, the memory starts empty')
  assert.is(fresh.report.restored, null, 'fresh: nothing was restored')
  const freshEntry = await fresh.log.get(6)
  assert.is(freshEntry.type === 'restart' && freshEntry.restored, false, 'fresh: the restart entry says restored: false')
  await fresh.close()
  await rm(join(dir, 'checkpoints'), { recursive: true })
  const again = await open(dir, LEDGER, { checkpoints: false })
  assert.equal((await again.call('add')).result, { n: 6, calls: 2 }, 'without checkpoints, a restore after a fresh restart replays only the calls since it')
  assert.equal(again.report.restored && { checkpoint: again.report.restored.checkpoint, replayed: again.report.restored.replayed }, { checkpoint: null, replayed: 1 })
})

persistence('a changed script is refused with both hashes unless upgrade is asked for, which logs an upgrade entry with its full source', async () => {
  const dir = await tempDir()
  const first = await open(dir, PERSISTENT)
  await first.call('increment')
  await first.close()

  const changed = PERSISTENT + '\nexports.twice = async function () { await exports.increment(); return exports.increment() }\n'
  const refused = new Host({ source: changed, filename: 'persistent-counter.js', dir, warn: () => {} })
  const err = await rejects(refused.ready(), ['SCRIPT_CHANGED'], 'a changed script without upgrade')
  assert.instance(err, HostError)
  assert.match(err.message, dir, 'the refusal names the directory')
  assert.match(err.message, sha256Hex(PERSISTENT), 'and the log\'s script hash')
  assert.match(err.message, sha256Hex(changed), 'and the new one')
  assert.match(err.message, '--upgrade', 'and the way on')
  await refused.close()
  const store = await openStore(dir)
  assert.is(store.log.length, 2, 'the refused start appended nothing')
  await store.close()

  const upgraded = await open(dir, changed, { upgrade: true })
  assert.ok(upgraded.report.upgraded, 'the report says the script was upgraded')
  assert.is(upgraded.report.restored, null, 'the new script starts with empty memory')
  assert.is((await upgraded.call('twice')).result, 3, 'the upgraded script runs on the old files')
  const upgrade = await upgraded.log.get(2)
  assert.is(upgrade.type, 'upgrade', 'block 2 is the upgrade entry')
  if (upgrade.type !== 'upgrade') return
  assert.is(upgrade.source, changed, 'the upgrade entry carries the full new source')
  assert.is(upgrade.sourceHash, sha256Hex(changed), 'and its sha256')
  await upgraded.close()
  const again = await open(dir, changed, { upgrade: true })
  const last = await again.log.get(again.log.length - 1)
  assert.is(last.type === 'restart' && last.restored, true, 'the same script again is a plain (restored) restart, even with upgrade')
})

persistence('a restore refuses other limits or another mode, unless fresh', async () => {
  const dir = await tempDir()
  const first = await open(dir, PERSISTENT, { gasLimit: 5000 })
  await first.call('increment')
  await first.close()
  for (const [what, options] of [['gas', { gasLimit: 6000 }], ['memory', { gasLimit: 5000, memoryLimit: 32 * 1048576 }], ['timeout', { gasLimit: 5000, timeoutMs: 2000 }], ['mode', { gasLimit: 5000, seeded: true }]] as const) {
    const refused = new Host({ source: PERSISTENT, filename: 'p.js', dir, warn: () => {}, ...options })
    const err = await rejects(refused.ready(), ['LIMITS_CHANGED'], `another ${what}`)
    assert.match(err.message, 'gas 5000, memory 64 MB, timeout 5 s, deterministic mode', `${what}: names the limits the memory was built under`)
    assert.match(err.message, '--fresh', `${what}: and the way on`)
    await refused.close()
  }
  const fresh = await open(dir, PERSISTENT, { gasLimit: 6000, fresh: true })
  assert.is((await fresh.call('increment')).result, 2, 'with fresh, the new limits run on the files')
})

persistence.run()

// ---------------------------------------------------------------------------------------------------

const lock = suite('host lock, queue and group commit')
lock.after.each(after)

lock('200 concurrent increments run one at a time: results are exactly 1..200 and the log holds them in order', async () => {
  const host = await open(await tempDir(), PERSISTENT)
  const outcomes = await Promise.all(Array.from({ length: 200 }, () => host.call('increment')))
  const results = outcomes.map((o) => o.result as number)
  assert.equal([...results].sort((a, b) => a - b), Array.from({ length: 200 }, (_, i) => i + 1), 'no lost update, no duplicate')
  const calls = (await entries(host.log)).filter((e): e is CallEntry => e.type === 'call')
  assert.equal(calls.map((e) => e.result), Array.from({ length: 200 }, (_, i) => i + 1), 'the log holds results 1..200 in order')
  for (const o of outcomes) assert.equal(o, calls[(o.result as number) - 1], 'each caller got exactly its logged entry')
  assert.ok(host.groupSizes.some((n) => n > 1), `concurrent calls share group commits (groups: ${host.groupSizes.slice(0, 20).join(',')}...)`)
  assert.is(host.groupSizes.reduce((a, b) => a + b, 0), 200, 'every call was committed exactly once')
})

lock('calls that ran in one engine batch are journaled as one group, not the first alone', async () => {
  const host = await open(await tempDir(), PERSISTENT)
  const firstGroups: number[] = []
  for (let round = 0; round < 5; round++) {
    const before = host.groupSizes.length
    await Promise.all(Array.from({ length: 32 }, () => host.call('increment')))
    firstGroups.push(host.groupSizes[before])
  }
  // A worker that stalls past 10 ms sends a batch's records in two messages: allow one such round.
  assert.ok(firstGroups.filter((n) => n >= 16).length >= 4, `the first group of each round of 32 calls: ${firstGroups.join(', ')}`)
})

lock('over the queue bound, calls are refused with QUEUE_FULL and nothing is logged for them', async () => {
  const host = await open(await tempDir(), PERSISTENT, { queueLimit: 2 })
  const settled = await Promise.allSettled(Array.from({ length: 10 }, () => host.call('increment')))
  const done = settled.filter((s) => s.status === 'fulfilled')
  const refused = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected')
  assert.is(done.length, 3, 'one running call and two waiting ones are accepted')
  assert.is(refused.length, 7, 'the rest are refused')
  for (const r of refused) {
    assert.is(r.reason.code, 'QUEUE_FULL', 'refused with QUEUE_FULL')
    assert.match(r.reason.message, /try again/, 'the message says to try again')
  }
  assert.is(host.log.length, 4, 'the log holds init and the 3 accepted calls: nothing for refused calls')
  assert.is((await host.call('increment')).result, 4, 'the host serves again once the queue drains')
})

lock('a call before ready() or after close() is refused clearly', async () => {
  const host = new Host({ source: PERSISTENT, filename: 'p.js', dir: await tempDir(), warn: () => {} })
  hosts.push(host)
  await rejects(host.call('increment'), ['HOST_NOT_READY'], 'call before ready')
  await host.ready()
  await host.close()
  await rejects(host.call('increment'), ['HOST_CLOSING'], 'call after close')
  await host.close() // twice is fine
})

lock.run()

// ---------------------------------------------------------------------------------------------------

const log = suite('host call log entries')
log.after.each(after)

log('the init entry records the source, engine, mode, limits and files key', async () => {
  const host = await open(await tempDir(), LEDGER, { seeded: true, gasLimit: 12345, timeoutMs: 2000 })
  const init = await host.log.get(0)
  assert.is(init.type, 'init', 'block 0 is the init entry')
  if (init.type !== 'init') return
  assert.is(init.source, LEDGER, 'the full source')
  assert.is(init.sourceHash, sha256Hex(LEDGER), 'its sha256')
  assert.is(init.filename, 'ledger.js', 'the file name')
  assert.is(init.engine.name, 'nodevms-quickjs', 'the engine name')
  assert.match(init.engine.wasmSha256, /^[0-9a-f]{64}$/, 'the QuickJS wasm sha256')
  assert.is(init.mode, 'seeded', 'the mode')
  assert.is(init.limits.gas, 12345, 'the gas limit')
  assert.is(init.limits.timeoutMs, 2000, 'the timeout')
  assert.is(init.filesKey, host.filesKey, 'the files archive key')
  assert.ok(host.report.created, 'the report says the host is new')
})

log('every call entry\'s filesVersion is a checkout whose recomputed state root is the logged one', async () => {
  const host = await open(await tempDir())
  await Promise.all(Array.from({ length: 12 }, (_, i) => host.call('add', [`note ${i}`])))
  await host.call('remove', [3])
  await host.call('remove', [7])
  const outcome = await host.call('add', ['last'])
  assert.is(outcome.error, undefined, 'the calls succeed')
  const calls = (await entries(host.log)).filter((e): e is CallEntry => e.type === 'call')
  let previous = 1
  for (const entry of calls) {
    assert.is(entry.filesVersion, previous + entry.changes.length, `${entry.method}: filesVersion moves by its number of changes`)
    previous = entry.filesVersion
    const files = DriveFiles.checkout(host.drive, entry.filesVersion)
    const content: Array<[string, Uint8Array]> = []
    for (const path of await files.list('/')) content.push([path, (await files.get(path))!])
    await files.close()
    assert.is(entry.stateRoot, computeStateRoot(content), `${entry.method}(${JSON.stringify(entry.args)}): the state root matches the files at version ${entry.filesVersion}`)
    for (const [path, logged] of entry.changes) {
      const found = content.find(([p]) => p === path)
      assert.ok(sameContent(logged, found === undefined ? null : found[1]), `${path}: the logged change (${JSON.stringify(logged)}) names what the checkout holds`)
      assert.ok(logged === null || typeof logged === 'object', `${path}: the entry names the content by hash and size; the bytes are not in the log`)
    }
  }
  assert.is(host.drive.version, calls[calls.length - 1].filesVersion, 'the drive is at the last entry\'s version')
  assert.equal(calls[calls.length - 2].changes, [['/calls/7.json', null]], 'a delete is logged as [path, null]')
  const verdict = await verifyLog(host.log, host.drive)
  assert.ok(verdict.ok, `the verifier replays the log to the same files, version by version: ${JSON.stringify(verdict.divergence)}`)
})

log('reads and listings during group commits see every earlier call, across a restart (the verifier agrees)', async () => {
  const dir = await tempDir()
  const mixed = (host: Host, n: number) => Promise.all(Array.from({ length: n }, (_, i) =>
    i % 3 === 0 ? host.call('add', [i]) : i % 3 === 1 ? host.call('remove', [i]) : host.call('count')))
  const first = await open(dir)
  await Promise.all(Array.from({ length: 30 }, (_, i) => first.call('add', [i])))
  const counts = (await mixed(first, 90)).filter((o) => o.method === 'count').map((o) => o.result as number)
  assert.ok(counts.some((c, i) => i > 0 && c !== counts[0]), `listings change as calls land: ${counts.join(',')}`)
  await first.close()
  const second = await open(dir)
  await mixed(second, 90)
  const verdict = await verifyLog(second.log, second.drive)
  assert.ok(verdict.ok, `a fresh replay gets every result, listing and file: ${JSON.stringify(verdict.divergence)}`)
  assert.ok(verdict.calls >= 210, `all calls were checked (${verdict.calls})`)
})

log('start-up reads only the tail of a long log', async () => {
  const dir = await tempDir()
  const host = await open(dir, PERSISTENT)
  await Promise.all(Array.from({ length: 300 }, () => host.call('increment')))
  await host.close()
  const store = await openStore(dir)
  let reads = 0
  const get = store.log.get.bind(store.log)
  store.log.get = (index: number) => { reads++; return get(index) }
  const tail = await readTail(store.log, store.drive.version)
  assert.is(tail.lifecycle.type, 'init', 'the newest lifecycle entry is the init entry')
  assert.is(tail.unapplied.length, 0, 'nothing to recover')
  assert.ok(reads < 70, `read ${reads} of ${store.log.length} entries`)
  await store.close()
})

/** A call entry that reached the log but not the drive (what a store that lost the drive's writes would hold). */
async function callAheadOfDrive (dir: string, content: Uint8Array, changes: (data: Uint8Array) => CallEntry['changes']): Promise<CallEntry> {
  const host = await open(dir)
  await host.call('add', ['one'])
  const last = (await host.log.get(host.log.length - 1)) as CallEntry
  await host.close()
  const store = await openStore(dir)
  const files: Array<[string, Uint8Array]> = [['/calls/1.json', (await store.drive.get('/calls/1.json'))!], ['/counter', (await store.drive.get('/counter'))!], ['/calls/99.json', content]]
  const entry: CallEntry = {
    ...last, args: ['never run'], result: { n: 99, calls: 99 },
    changes: changes(content), filesVersion: last.filesVersion + 1, stateRoot: computeStateRoot(files)
  }
  await store.log.append([entry])
  await store.close()
  return entry
}

async function expectRecovered (dir: string, entry: CallEntry): Promise<void> {
  const warnings: string[] = []
  // The crafted entry's result was never computed by the script, so its memory is not restored (fresh).
  const again = await open(dir, LEDGER, { warn: (m) => warnings.push(m), fresh: true })
  assert.is(again.report.recovered, 1, 'one call was recovered')
  assert.is((await again.drive.get('/calls/99.json'))?.toString(), '{"n":99,"note":"recovered"}', 'its change is on the drive')
  assert.is(again.drive.version, entry.filesVersion, 'the drive is at the recovered entry\'s version')
  assert.is(again.handshakeInfo().filesVersion, entry.filesVersion, 'and the handshake says so before any call')
  assert.equal((await again.call('add')).result, { n: 2, calls: 1 }, 'the script did not run for the recovered call (counter unchanged)')
  assert.ok(warnings.some((w) => /Recovered 1/.test(w)), 'recovery is reported')
  assert.not.ok(warnings.some((w) => /outside the log/.test(w)), 'and it is not mistaken for a change outside the log')
}

const RECOVERED = new TextEncoder().encode('{"n":99,"note":"recovered"}')

log('a log ahead of the drive (an older log, content in base64) is completed from the log at start-up, without running anything', async () => {
  const dir = await tempDir()
  const entry = await callAheadOfDrive(dir, RECOVERED, (data) => [['/calls/99.json', Buffer.from(data).toString('base64')]])
  await expectRecovered(dir, entry)
})

log('a log ahead of the drive whose content is named by hash takes the bytes from the archive\'s blobs, checked against the hash', async () => {
  const dir = await tempDir()
  const entry = await callAheadOfDrive(dir, RECOVERED, (data) => logChanges([['/calls/99.json', data]]))
  // The blob landed (the committer writes it in the same atom as the entry); the drive's index entry did not.
  const again = await openStore(dir)
  const blobs = (await again.drive.getBlobs()) as unknown as { core: { append (b: Buffer): Promise<unknown> } }
  await blobs.core.append(Buffer.from(RECOVERED))
  await again.close()
  await expectRecovered(dir, entry)
})

log('a log ahead of the drive naming content the archive never got is refused, and nothing is changed', async () => {
  const dir = await tempDir()
  await callAheadOfDrive(dir, RECOVERED, (data) => logChanges([['/calls/99.json', data]]))
  const host = new Host({ source: LEDGER, filename: 'ledger.js', dir, warn: () => {} })
  const err = await rejects(host.ready(), ['FILES_BEHIND_LOG'], 'start-up')
  assert.match(err.message, '/calls/99.json', 'the message names the file')
  await host.close()
})

log.run()

// ---------------------------------------------------------------------------------------------------

const bad = suite('host bad input')
bad.after.each(after)

bad('arguments over 1 MiB are refused before the call runs (ARGS_TOO_LARGE), and nothing is logged', async () => {
  const host = await open(await tempDir())
  const length = host.log.length
  const err = await rejects(host.call('add', ['x'.repeat(1024 * 1024)]), ['ARGS_TOO_LARGE'], 'a 1 MiB note')
  assert.match(err.message, /more than the 1\.00 MiB a call may carry/)
  assert.is(host.log.length, length, 'nothing was logged')
  assert.equal((await host.call('add', ['small'])).result, { n: 1, calls: 1 }, 'the refused call never ran; the next one does')
})

bad('a second Host on a directory in use fails at once with DIR_LOCKED, and the first keeps serving', async () => {
  const dir = await tempDir()
  const first = await open(dir, PERSISTENT)
  await first.call('increment')
  const length = first.log.length
  const started = Date.now()
  const second = new Host({ source: PERSISTENT, filename: 'p.js', dir, warn: () => {} })
  const err = await rejects(second.ready(), ['DIR_LOCKED'], 'second host on the same dir')
  assert.ok(Date.now() - started < 2000, `fails fast (${Date.now() - started} ms)`)
  assert.match(err.message, dir, 'the message names the directory')
  await second.close()
  assert.is(first.log.length, length, 'the second host appended nothing')
  assert.is((await first.call('increment')).result, 2, 'the first host still serves')
})

bad('a directory path under a regular file is refused with DIR_UNUSABLE', async () => {
  const root = await tempDir()
  await writeFile(join(root, 'file.txt'), 'not a directory')
  const dir = join(root, 'file.txt', 'sub')
  const err = await rejects(new Host({ source: PERSISTENT, filename: 'p.js', dir }).ready(), ['DIR_UNUSABLE'], 'dir under a file')
  assert.match(err.message, dir, 'the message names the directory')
})

bad('a non-empty directory that is not a nodevms corestore is refused with DIR_NOT_NODEVMS and left alone', async () => {
  const dir = await tempDir()
  await writeFile(join(dir, 'notes.txt'), 'mine')
  await rejects(new Host({ source: PERSISTENT, filename: 'p.js', dir }).ready(), ['DIR_NOT_NODEVMS'], 'foreign dir')
  assert.is(readFileSync(join(dir, 'notes.txt'), 'utf8'), 'mine', 'the foreign file is untouched')
})

bad('a corestore whose default drive was written by another tool, with no call log, is refused', async () => {
  const dir = await tempDir()
  const store = new Corestore(dir)
  const drive = new Hyperdrive(store.session())
  await drive.put('/theirs.txt', Buffer.from('theirs'))
  await drive.close()
  await store.close()
  await rejects(new Host({ source: PERSISTENT, filename: 'p.js', dir, warn: () => {} }).ready(), ['DIR_NOT_NODEVMS'], 'foreign corestore')
  const again = await openStore(dir)
  assert.is(again.log.length, 0, 'no init entry was written')
  await again.close()
})

bad('a log whose first block is not an init entry is refused, and the core is not rewritten', async () => {
  const dir = await tempDir()
  const store = new Corestore(dir)
  const core = store.get({ name: LOG_CORE_NAME })
  await core.append(Buffer.from('not a nodevms entry'))
  await core.close()
  await store.close()
  const err = await rejects(new Host({ source: PERSISTENT, filename: 'p.js', dir, warn: () => {} }).ready(), ['LOG_CORRUPT', 'NOT_A_NODEVMS_LOG'], 'foreign log')
  assert.instance(err, HostError)
  const after = await openStore(dir)
  assert.is(after.log.length, 1, 'the core keeps its length')
  assert.is((await after.log.core.get(0, { valueEncoding: 'binary' }) as Buffer).toString(), 'not a nodevms entry', 'block 0 is unchanged')
  await after.close()
})

bad('a script with a syntax error fails with SCRIPT_SYNTAX and appends nothing to an existing log', async () => {
  const dir = await tempDir()
  const first = await open(dir, PERSISTENT)
  await first.call('increment')
  const length = first.log.length
  await first.close()
  const broken = new Host({ source: 'exports.f = function ( {', filename: 'broken.js', dir, upgrade: true, warn: () => {} })
  const err = await rejects(broken.ready(), ['SCRIPT_SYNTAX'], 'syntax error')
  assert.instance(err, EngineError)
  await broken.close()
  const store = await openStore(dir)
  assert.is(store.log.length, length, 'the log is unchanged')
  await store.close()
  const fresh = await tempDir()
  await rejects(new Host({ source: 'exports.f = function ( {', filename: 'broken.js', dir: fresh }).ready(), ['SCRIPT_SYNTAX'], 'syntax error, new dir')
  const empty = await openStore(fresh)
  assert.is(empty.log.length, 0, 'a new directory gets no init entry for a script that does not load')
  await empty.close()
})

bad('files changed outside the log are warned about at start-up and left as they are', async () => {
  const dir = await tempDir()
  const first = await open(dir)
  await first.call('add')
  await first.close()
  const store = await openStore(dir)
  await store.drive.put('/intruder.txt', Buffer.from('not in the log'))
  const version = store.drive.version
  await store.close()

  const warnings: string[] = []
  const again = await open(dir, LEDGER, { warn: (m) => warnings.push(m) })
  assert.ok(warnings.some((w) => /outside the log/.test(w)), `a warning says the files changed outside the log: ${warnings.join(' | ')}`)
  assert.is(again.report.recovered, 0, 'nothing is "recovered"')
  assert.is(again.drive.version, version, 'the drive is left at its version')
  assert.is((await again.drive.get('/intruder.txt'))?.toString(), 'not in the log', 'the foreign file is left in place')
  assert.equal((await again.call('add')).result, { n: 2, calls: 2 }, 'the host still serves, with its memory restored')
})

bad.run()
