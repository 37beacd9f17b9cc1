import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createHash } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Corestore from 'corestore'
import Hyperdrive from 'hyperdrive'
import crypto from 'hypercore-crypto'
import { createEngine, ENGINE_NAME, ENGINE_VERSION, wasmSha256 } from '../../../engine/index.js'
import type { Engine, Files } from '../../../engine/index.js'
import { CallLog, logChanges, type CallAuth, type CallEntry, type EngineInfo, type UpgradeEntry, type Limits, type Mode } from '../../../host/call-log.js'
import { applyChanges, DriveFiles, FilesTransaction, predictVersion, type Change } from '../../../host/drive-files.js'
import { HostError } from '../../../host/errors.js'
import { MAX_ENTRY_BYTES, tooLarge } from '../../../host/call-entry.js'
import { computeStateRoot, StateRoot } from '../../../host/state-root.js'
import { asLogged, hadNoEffect } from '../../../host/limit-hit.js'
import { LogVerifier, openRemote, verifyLog, type VerifyOptions, type VerifyReport } from '../../../host/verify/index.js'
import { signedPayload } from '../../../client/wire.js'
import { Host } from '../../../host/host.js'
import { hostService, RpcServer } from '../../../host/rpc/index.js'
import { LIMITED, PERSISTENT_COUNTER } from '../../helpers.js'

const COUNTER = 'let i = 0\nexports.increment = function () { i++; return i }\n'
const PERSISTENT = PERSISTENT_COUNTER + `exports.note = async (name, text) => { await fs.writeFile('/notes/' + name, text); return name }
exports.forget = async (name) => { await fs.unlink('/notes/' + name) }
`
const ORACLE = 'exports.roll = async () => { const r = await System.oracle(() => Math.random()); return r }\n'
const SEEDED = 'exports.now = () => ({ t: Date.now(), r: Math.random() })\n'
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex')
const LIMITS: Limits = { gas: 10_000, memory: 32 * 1024 * 1024, timeoutMs: 5000 }

/** The files a call sees: the current transaction over the drive, as the host runs it. */
class CallFiles implements Files {
  tx: FilesTransaction
  constructor (readonly base: DriveFiles) { this.tx = new FilesTransaction(base) }
  get (path: string) { return this.tx.get(path) }
  put (path: string, data: Uint8Array) { return this.tx.put(path, data) }
  del (path: string) { return this.tx.del(path) }
  list (dir: string) { return this.tx.list(dir) }
}

interface CallOpts {
  caller?: string | null
  auth?: CallAuth
  /** Alters the net changes before they are logged and applied (a crafted, self-consistent entry). */
  changes?: (changes: Change[]) => Change[]
  /** Alters the entry after it is computed (a lie in the log only). */
  tamper?: (entry: CallEntry) => void
  /** Applies these to the drive instead of the logged changes. */
  applied?: Change[]
}

/** Writes a log exactly as the host does (CONTRACT §6), with hooks for a dishonest host. */
class TestHost {
  readonly log: CallLog
  readonly drive: Hyperdrive
  readonly root = new StateRoot()
  private engine: Engine | null = null
  private files: CallFiles
  source = ''
  mode: Mode = 'deterministic'
  engineInfo: EngineInfo = { name: ENGINE_NAME, version: ENGINE_VERSION, wasmSha256: wasmSha256() }

  constructor (readonly store: Corestore) {
    this.log = new CallLog(store.get({ name: 'nodevms-call-log' }))
    this.drive = new Hyperdrive(store.session())
    this.files = new CallFiles(new DriveFiles(this.drive))
  }

  limits: Limits = LIMITS

  async init (source: string, opts: { seeded?: boolean, sourceHash?: string, limits?: Limits } = {}): Promise<void> {
    await this.log.core.ready()
    await this.drive.ready()
    this.mode = opts.seeded === true ? 'seeded' : 'deterministic'
    this.limits = opts.limits ?? LIMITS
    await this.load(source)
    await this.log.append([{
      type: 'init', version: 1, filename: 'script.js', source, sourceHash: opts.sourceHash ?? sha256(source),
      engine: this.engineInfo, mode: this.mode, limits: this.limits, filesKey: this.drive.key.toString('hex')
    }])
  }

  async call (method: string, args: unknown[] = [], opts: CallOpts = {}): Promise<CallEntry> {
    this.files.tx = new FilesTransaction(this.files.base)
    const record = asLogged(await this.engine!.call(method, args, { caller: opts.caller ?? null }))
    // A call that hit a limit has no effect: an honest host logs no changes for it (CONTRACT §7).
    let changes = hadNoEffect(record) ? [] : this.files.tx.changes()
    if (opts.changes !== undefined) changes = opts.changes(this.files.tx.changes())
    for (const [path, data] of changes) this.root.set(path, data === null ? null : StateRoot.hashContent(data))
    const entry: CallEntry = {
      type: 'call', ...record, changes: logChanges(changes),
      filesVersion: predictVersion(this.drive.version, changes), stateRoot: this.root.digest()
    }
    if (opts.auth !== undefined) entry.auth = opts.auth
    opts.tamper?.(entry)
    await this.log.append([entry])
    await applyChanges(this.drive, [opts.applied ?? changes])
    return entry
  }

  /**
   * A restart entry. Without `restored`, as logs before the field: the memory starts empty. With it, the entry
   * says whether the memory was restored; `memory` is what this host really does (default: what it says).
   */
  async restart (opts: { stateRoot?: string, restored?: boolean, memory?: 'kept' | 'emptied', limits?: Limits } = {}): Promise<void> {
    const kept = opts.memory === undefined ? opts.restored === true : opts.memory === 'kept'
    if (opts.limits !== undefined) this.limits = opts.limits
    if (!kept) await this.load(this.source)
    await this.log.append([{
      type: 'restart', sourceHash: sha256(this.source), engine: this.engineInfo, mode: this.mode, limits: this.limits,
      filesVersion: this.drive.version, stateRoot: opts.stateRoot ?? this.root.digest(), ...(opts.restored !== undefined ? { restored: opts.restored } : {})
    }])
  }

  async upgrade (source: string): Promise<void> {
    await this.load(source)
    await this.log.append([{ type: 'upgrade', filename: 'script.js', source, sourceHash: sha256(source), engine: this.engineInfo, mode: this.mode, limits: this.limits, filesVersion: this.drive.version, stateRoot: this.root.digest() }])
  }

  async close (): Promise<void> {
    await this.engine?.close()
    await this.drive.close()
    await this.log.core.close()
  }

  private async load (source: string): Promise<void> {
    await this.engine?.close()
    this.source = source
    this.engine = await createEngine(source, { files: this.files, seeded: this.mode === 'seeded', gasLimit: this.limits.gas, memoryLimit: this.limits.memory, timeoutMs: this.limits.timeoutMs, log: () => {} })
  }
}

interface Ctx { dir: string, store: Corestore, host: TestHost }
const test = suite<Ctx>('verifier', {} as Ctx)

test.before.each(async (ctx) => {
  ctx.dir = await mkdtemp(join(tmpdir(), 'nodevms-verify-'))
  ctx.store = new Corestore(ctx.dir)
  ctx.host = new TestHost(ctx.store)
})

test.after.each(async (ctx) => {
  await ctx.host.close()
  await ctx.store.close()
  await rm(ctx.dir, { recursive: true, force: true })
})

const verify = (ctx: Ctx, opts?: VerifyOptions) => verifyLog(ctx.host.log, ctx.host.drive, opts)

function passes (report: VerifyReport, entries: number, calls: number): void {
  assert.equal(report.divergence, undefined, 'no divergence')
  assert.ok(report.ok, 'the report says ok')
  assert.is(report.entries, entries, 'every entry is checked')
  assert.is(report.calls, calls, 'every call is counted')
}

function diverges (report: VerifyReport, index: number, field: string): NonNullable<VerifyReport['divergence']> {
  assert.not.ok(report.ok, 'the report is not ok')
  assert.ok(report.divergence, 'there is a divergence')
  assert.is(report.divergence!.field, field, `the field is ${field}: ${report.divergence!.message}`)
  assert.is(report.divergence!.index, index, 'the right entry is named')
  return report.divergence!
}

test('an honest counter log verifies: every call replays, and progress reaches the end', async (ctx) => {
  await ctx.host.init(COUNTER)
  for (let n = 0; n < 5; n++) await ctx.host.call('increment')
  const progress: Array<[number, number]> = []
  const report = await verify(ctx, { onProgress: (done, total) => progress.push([done, total]) })
  passes(report, 6, 5)
  assert.is(report.stateRoot, computeStateRoot([]), 'no files: the empty root')
  assert.equal(progress.at(-1), [6, 6], 'the last progress report is the end')
  assert.is(report.logKey, ctx.host.log.key)
})

test('an honest persistent counter verifies: its files, state roots and final archive match', async (ctx) => {
  await ctx.host.init(PERSISTENT)
  for (let n = 0; n < 3; n++) await ctx.host.call('increment')
  await ctx.host.call('note', ['a', 'hello'])
  await ctx.host.call('note', ['b', 'world'])
  await ctx.host.call('forget', ['a'])
  await ctx.host.call('note', ['b', 'world']) // a no-op write: no changes
  const report = await verify(ctx)
  passes(report, 8, 7)
  assert.is(report.stateRoot, computeStateRoot([['/counter', Buffer.from('3')], ['/notes/b', Buffer.from('world')]]))
  assert.is(report.filesVersion, ctx.host.drive.version, 'the replay ends at the drive version')
})

test('oracle and seeded logs verify with the recorded oracle values, time and seed', async (ctx) => {
  await ctx.host.init(ORACLE)
  await ctx.host.call('roll')
  await ctx.host.call('roll')
  const report = await verify(ctx)
  passes(report, 3, 2)
  assert.is(report.oracles, 2, 'two oracle outcomes used')

  const dir = await mkdtemp(join(tmpdir(), 'nodevms-verify-'))
  const store = new Corestore(dir)
  const seeded = new TestHost(store)
  await seeded.init(SEEDED, { seeded: true })
  const first = await seeded.call('now')
  assert.type(first.time, 'number', 'seeded calls record a time')
  await seeded.call('now')
  passes(await verifyLog(seeded.log, seeded.drive), 3, 2)
  await seeded.close()
  await store.close()
  await rm(dir, { recursive: true, force: true })
})

test('a restart rebuilds in-memory state and an upgrade switches the source', async (ctx) => {
  await ctx.host.init(COUNTER)
  await ctx.host.call('increment')
  await ctx.host.call('increment')
  await ctx.host.restart()
  const after = await ctx.host.call('increment')
  assert.is(after.result, 1, 'in-memory state started fresh')
  await ctx.host.upgrade(PERSISTENT)
  await ctx.host.call('increment')
  await ctx.host.call('note', ['x', 'y'])
  await ctx.host.restart()
  await ctx.host.call('increment')
  const report = await verify(ctx)
  passes(report, 10, 6)
  assert.is(report.restarts, 2)
  assert.is(report.upgrades, 1)
})

test('a restart that restored the memory keeps the replayed engine; one that did not starts a fresh one', async (ctx) => {
  await ctx.host.init(COUNTER)
  await ctx.host.call('increment')
  await ctx.host.call('increment')
  await ctx.host.restart({ restored: true })
  assert.is((await ctx.host.call('increment')).result, 3, 'the host restored its memory')
  await ctx.host.restart({ restored: false })
  assert.is((await ctx.host.call('increment')).result, 1, 'and then started one afresh')
  await ctx.host.restart({ restored: true })
  assert.is((await ctx.host.call('increment')).result, 2)
  const report = await verify(ctx)
  passes(report, 9, 5)
  assert.is(report.restarts, 3)
})

test('a host that claims a restore it did not do, or denies one it did, is caught at the next call', async (ctx) => {
  await ctx.host.init(COUNTER)
  await ctx.host.call('increment')
  await ctx.host.call('increment')
  await ctx.host.restart({ restored: true, memory: 'emptied' })
  await ctx.host.call('increment')
  const claimed = diverges(await verify(ctx), 4, 'result')
  assert.equal([claimed.expected, claimed.actual], [3, 1], 'the replay carried the memory on (3); the host served it empty (1)')

  const dir = await mkdtemp(join(tmpdir(), 'nodevms-verify-'))
  const store = new Corestore(dir)
  const denier = new TestHost(store)
  try {
    await denier.init(COUNTER)
    await denier.call('increment')
    await denier.restart({ restored: false, memory: 'kept' })
    await denier.call('increment')
    const denied = diverges(await verifyLog(denier.log, denier.drive), 3, 'result')
    assert.equal([denied.expected, denied.actual], [1, 2], 'the replay started afresh (1); the host kept its memory (2)')
  } finally {
    await denier.close()
    await store.close()
    await rm(dir, { recursive: true, force: true })
  }
})

test('a restart that says it restored the memory under other limits is caught at that entry', async (ctx) => {
  await ctx.host.init(COUNTER)
  await ctx.host.call('increment')
  await ctx.host.restart({ restored: true, limits: { ...LIMITS, gas: LIMITS.gas * 2 } })
  await ctx.host.call('increment')
  const d = diverges(await verify(ctx), 2, 'limits')
  assert.match(d.message, `gas ${LIMITS.gas * 2}`)
})

// The deadline is long enough that a memory bomb on a busy machine runs out of memory first.
const TIGHT: Limits = { gas: 200, memory: 4 * 1024 * 1024, timeoutMs: 3000 }

test('calls that hit their gas, memory or deadline limit are logged with no changes and the files where they were; verify checks that and does not run them', async (ctx) => {
  await ctx.host.init(LIMITED, { limits: TIGHT })
  const errors: string[] = []
  for (const method of ['bomb', 'spin', 'stall']) {
    await ctx.host.call('next')
    const entry = await ctx.host.call(method)
    errors.push(entry.error!.name)
    assert.equal(entry.changes, [], `${method}: no changes logged`)
  }
  assert.equal(errors, ['OutOfMemoryError', 'GasExhaustedError', 'DeadlineExceededError'], 'each call hit its limit')
  assert.is((await ctx.host.call('next')).result, 4, 'the memory never saw the calls that hit a limit')
  const report = await verify(ctx)
  passes(report, 8, 7)
  assert.is(report.limitHits, 3, 'the three are counted as calls that had no effect')
})

test('a host that logs a call that hit a limit WITH its changes, or at another state root, is caught at that entry', async (ctx) => {
  await ctx.host.init(LIMITED, { limits: TIGHT })
  await ctx.host.call('next')
  await ctx.host.call('bomb', [], { changes: (made) => made }) // keeps what the call wrote before it ran out of memory
  const d = diverges(await verify(ctx), 2, 'changes')
  assert.match(d.message, 'a call that ended in OutOfMemoryError has no effect, but the log records 1 file change(s) for it')

  const dir = await mkdtemp(join(tmpdir(), 'nodevms-verify-'))
  const store = new Corestore(dir)
  const liar = new TestHost(store)
  try {
    await liar.init(LIMITED, { limits: TIGHT })
    await liar.call('next')
    await liar.call('spin', [], { tamper: (e) => { e.stateRoot = 'c'.repeat(64) } })
    const root = diverges(await verifyLog(liar.log, liar.drive), 2, 'stateRoot')
    assert.match(root.message, 'GasExhaustedError has no effect')
  } finally {
    await liar.close()
    await store.close()
    await rm(dir, { recursive: true, force: true })
  }
})

test('signed calls verify; a bad signature or a reused counter is named', async (ctx) => {
  await ctx.host.init(COUNTER)
  const { publicKey, secretKey } = crypto.keyPair()
  const pubkey = publicKey.toString('hex')
  const sign = (counter: number): CallAuth => ({ pubkey, counter, signature: crypto.sign(signedPayload(ctx.host.log.key, 'increment', [], counter), secretKey).toString('hex') })
  await ctx.host.call('increment', [], { caller: pubkey, auth: sign(1) })
  await ctx.host.call('increment', [], { caller: pubkey, auth: sign(5) })
  passes(await verify(ctx), 3, 2)
  await ctx.host.call('increment', [], { caller: pubkey, auth: sign(5) })
  const reused = diverges(await verify(ctx), 3, 'auth')
  assert.match(reused.message, 'counter')
})

test('a forged signature is caught at its entry', async (ctx) => {
  await ctx.host.init(COUNTER)
  const { publicKey } = crypto.keyPair()
  const pubkey = publicKey.toString('hex')
  await ctx.host.call('increment')
  await ctx.host.call('increment', [], { caller: pubkey, auth: { pubkey, counter: 1, signature: 'ab'.repeat(64) } })
  diverges(await verify(ctx), 2, 'auth')
})

test('a wrong result is caught at its entry, with method, caller, expected and actual', async (ctx) => {
  await ctx.host.init(COUNTER)
  await ctx.host.call('increment')
  await ctx.host.call('increment', [], { caller: 'alice', auth: { debug: true }, tamper: (e) => { e.result = 42 } })
  await ctx.host.call('increment')
  const d = diverges(await verify(ctx), 2, 'result')
  assert.is(d.method, 'increment')
  assert.is(d.caller, 'alice')
  assert.is(d.expected, 2, 'expected: what the replay gives')
  assert.is(d.actual, 42, 'actual: what the log says')
})

test('a report names only the unsigned callers of entries found right: none from the divergence or past it', async (ctx) => {
  await ctx.host.init(COUNTER)
  // Runs are replayed 256 calls at a time, the next one read while one replays: the wrong call (300) and the
  // calls after it, up to the end of the log, have all been read by the time it is found.
  for (let i = 1; i <= 600; i++) {
    const caller = i < 300 ? 'bob' : i === 300 ? 'carol' : 'dave'
    await ctx.host.call('increment', [], { caller, auth: { debug: true }, ...(i === 300 ? { tamper: (e: CallEntry) => { e.result = -1 } } : {}) })
  }
  const report = await verify(ctx)
  diverges(report, 300, 'result')
  assert.equal(report.unsignedCallers, { calls: 299, callers: [{ caller: 'bob', calls: 299, first: [1, 2, 3, 4, 5], looksLikeKey: false }], otherCalls: 0 })
})

test('calls that log no file changes are replayed together, and a wrong one deep in a long run is still named at its entry', async (ctx) => {
  await ctx.host.init(COUNTER)
  for (let i = 1; i <= 700; i++) await ctx.host.call('increment', [], i === 450 ? { tamper: (e) => { e.result = -1 } } : {})
  const seen: number[] = []
  const d = diverges(await verifyLog(ctx.host.log, ctx.host.drive, { onEntry: (index, _, wrong) => { if (wrong === null) seen.push(index) } }), 450, 'result')
  assert.is(d.expected, 450)
  assert.equal(seen, Array.from({ length: 450 }, (_, i) => i), 'every entry before it was reported right, in order, and none after')
})

test('a write hidden in one of many calls replayed together is caught at that call, with its path', async (ctx) => {
  await ctx.host.init(`exports.read = () => 1
exports.sneaky = async () => { await System.files.writeFile('/taken', 'yes'); return 2 }`)
  for (let i = 0; i < 4; i++) await ctx.host.call('read')
  await ctx.host.call('sneaky', [], { changes: () => [] })
  for (let i = 0; i < 4; i++) await ctx.host.call('read')
  const d = diverges(await verify(ctx), 5, 'changes')
  assert.equal(d.paths, ['/taken'])
  assert.match(d.message, 'the log records other file changes than the replay makes: /taken')
})

test('calls that change files are replayed together too, and each reads what the calls before it wrote: a wrong one deep in a run is named at its entry', async (ctx) => {
  await ctx.host.init(PERSISTENT)
  for (let i = 1; i <= 600; i++) await ctx.host.call('increment', [], i === 377 ? { tamper: (e) => { e.result = -1 } } : {})
  const seen: number[] = []
  const d = diverges(await verifyLog(ctx.host.log, ctx.host.drive, { onEntry: (index, _, wrong) => { if (wrong === null) seen.push(index) } }), 377, 'result')
  assert.is(d.expected, 377, 'the replay read the counter the calls before it wrote')
  assert.equal(seen, Array.from({ length: 377 }, (_, i) => i), 'every entry before it was reported right, in order, and none after')
})

test('a wrong oracle value is caught: the replay with it gives another result', async (ctx) => {
  await ctx.host.init(ORACLE)
  await ctx.host.call('roll')
  await ctx.host.call('roll', [], { tamper: (e) => { e.oracles = [{ value: 0.5 }] } })
  diverges(await verify(ctx), 2, 'result')
})

test('a wrong gas is caught at its entry', async (ctx) => {
  await ctx.host.init(PERSISTENT)
  await ctx.host.call('increment', [], { tamper: (e) => { e.gas += 1 } })
  diverges(await verify(ctx), 1, 'gas')
})

test('a wrong state root is caught at its entry', async (ctx) => {
  await ctx.host.init(PERSISTENT)
  await ctx.host.call('increment')
  await ctx.host.call('increment', [], { tamper: (e) => { e.stateRoot = 'f'.repeat(64) } })
  const d = diverges(await verify(ctx), 2, 'stateRoot')
  assert.is(d.actual, 'f'.repeat(64))
})

for (const [what, change] of [
  ['added', (d: Hyperdrive) => d.put('/extra.txt', Buffer.from('sneaky'))],
  ['changed', (d: Hyperdrive) => d.put('/counter', Buffer.from('100'))],
  ['deleted', (d: Hyperdrive) => d.del('/counter')]
] as const) {
  test(`a file ${what} in the drive after the last call is reported as not in the log`, async (ctx) => {
    await ctx.host.init(PERSISTENT)
    await ctx.host.call('increment')
    await ctx.host.call('increment')
    await change(ctx.host.drive)
    const d = diverges(await verify(ctx), 3, 'files.unlogged')
    assert.equal(d.paths, [what === 'added' ? '/extra.txt' : '/counter'], 'the unlogged path is named')
    assert.match(d.message, 'the files archive changed after the last logged call: 1 change(s) not in the log')
  })

  test(`a file ${what} in the drive between two calls is reported at the next entry`, async (ctx) => {
    await ctx.host.init(PERSISTENT)
    await ctx.host.call('increment')
    await change(ctx.host.drive)
    await ctx.host.call('note', ['n', 'text'])
    await ctx.host.call('increment')
    const d = diverges(await verify(ctx), 2, 'files.unlogged')
    assert.equal(d.paths, [what === 'added' ? '/extra.txt' : '/counter'])
  })
}

test('a crafted entry that logs a change the script did not make is caught', async (ctx) => {
  await ctx.host.init(PERSISTENT)
  await ctx.host.call('increment')
  await ctx.host.call('increment', [], { changes: (c) => [...c, ['/owner', Buffer.from('mallory')]] })
  const d = diverges(await verify(ctx), 2, 'changes')
  assert.equal(d.paths, ['/owner'])
})

test('a call logged as EntryTooLargeError is not run: without changes it passes as a refusal, with changes it is caught', async (ctx) => {
  await ctx.host.init(PERSISTENT)
  await ctx.host.call('increment')
  const refuse = (e: CallEntry) => {
    const logged = tooLarge(e, MAX_ENTRY_BYTES + 1, { filesVersion: e.filesVersion - e.changes.length, stateRoot: ctx.host.root.digest() })
    delete e.result
    Object.assign(e, logged)
  }
  await ctx.host.call('note', ['big', 'text'], { changes: () => [], tamper: refuse })
  await ctx.host.call('increment')
  const report = await verify(ctx)
  passes(report, 4, 3)
  assert.is(report.limitHits, 1, 'the refused call is counted, not run')
  await ctx.host.call('note', ['big', 'text'], { tamper: (e) => { const changes = e.changes; refuse(e); e.changes = changes } })
  const d = diverges(await verify(ctx), 4, 'changes')
  assert.match(d.message, 'a call that ended in EntryTooLargeError has no effect, but the log records 1 file change(s) for it')
})

test('a logged change names its content by sha256 and size; a wrong hash is caught with both sides shown', async (ctx) => {
  await ctx.host.init(PERSISTENT)
  const entry = await ctx.host.call('increment')
  assert.equal(entry.changes, [['/counter', { sha256: sha256('1'), size: 1 }]], 'the bytes are not in the log')
  await ctx.host.call('increment', [], { tamper: (e) => { e.changes = [['/counter', { sha256: sha256('7'), size: 1 }]] } })
  const d = diverges(await verify(ctx), 2, 'changes')
  assert.equal(d.paths, ['/counter'])
  assert.match(String(d.previews?.[0].expected), `sha256 ${sha256('2').slice(0, 16)}… (1 bytes) "2"`)
  assert.match(String(d.previews?.[0].actual), `sha256 ${sha256('7').slice(0, 16)}… (1 bytes)`)
})

test('a drive that holds other bytes than the logged change is caught at that entry, or at the end without history', async (ctx) => {
  await ctx.host.init(PERSISTENT)
  await ctx.host.call('increment')
  await ctx.host.call('increment', [], { applied: [['/counter', Buffer.from('99')]] })
  const d = diverges(await verify(ctx), 2, 'files.history')
  assert.equal(d.paths, ['/counter'])
  const end = diverges(await verify(ctx, { history: false }), 3, 'files')
  assert.equal(end.paths, ['/counter'])
  assert.equal(end.previews?.[0], { path: '/counter', expected: '"2"', actual: '"99"' }, 'a byte preview of both sides')
})

test('files changed while the host was stopped are named at the restart entry; a wrong restart root too', async (ctx) => {
  await ctx.host.init(PERSISTENT)
  await ctx.host.call('increment')
  await ctx.host.drive.put('/offline.txt', Buffer.from('x'))
  await ctx.host.drive.put('/counter', Buffer.from('7'))
  await ctx.host.restart()
  const d = diverges(await verify(ctx), 2, 'files.unlogged')
  assert.equal(d.paths, ['/offline.txt', '/counter'], 'both paths changed outside the log are named')
  assert.match(d.message, 'outside the log before this restart entry: 2 change(s) not in the log, between files version 2 (where the log leaves it) and 4')
  assert.match(d.message, '/offline.txt (the log implies no such file; the archive holds "x")', 'an added file: implied vs held')
  assert.match(d.message, '/counter (the log implies "1"; the archive holds "7")', 'a changed file: implied vs held')
})

test('a restart entry with a wrong state root is caught', async (ctx) => {
  await ctx.host.init(PERSISTENT)
  await ctx.host.call('increment')
  await ctx.host.restart({ stateRoot: 'e'.repeat(64) })
  diverges(await verify(ctx), 2, 'stateRoot')
})

test('a nondeterministic script fails its calls with the clear error, and its log still verifies', async (ctx) => {
  await ctx.host.init('exports.now = () => Date.now()\n')
  const entry = await ctx.host.call('now')
  assert.match(entry.error?.message ?? '', 'System.oracle', 'the call failed, naming System.oracle')
  passes(await verify(ctx), 2, 1)
})

test('an upgrade entry whose source hash is not its source is caught at that entry', async (ctx) => {
  await ctx.host.init(COUNTER)
  await ctx.host.call('increment')
  await ctx.host.upgrade(PERSISTENT)
  await ctx.host.log.append([{ ...(await ctx.host.log.get(2) as UpgradeEntry), sourceHash: 'b'.repeat(64) }])
  diverges(await verify(ctx), 3, 'sourceHash')
})

test('an init entry whose source hash is wrong is caught at entry 0', async (ctx) => {
  await ctx.host.init(COUNTER, { sourceHash: 'a'.repeat(64) })
  await ctx.host.call('increment')
  const d = diverges(await verify(ctx), 0, 'sourceHash')
  assert.is(d.actual, 'a'.repeat(64))
})

test('another engine version fails, unless allowEngineMismatch (then a warning)', async (ctx) => {
  ctx.host.engineInfo = { ...ctx.host.engineInfo, version: '0.0.1-other' }
  await ctx.host.init(COUNTER)
  await ctx.host.call('increment')
  const d = diverges(await verify(ctx), 0, 'engine')
  assert.match(d.message, '0.0.1-other')
  const report = await verify(ctx, { allowEngineMismatch: true })
  passes(report, 2, 1)
  assert.is(report.warnings.length, 1, 'one warning')
  assert.match(report.warnings[0], '0.0.1-other')
})

/** A call log that records where each read starts. */
class ReadCountingLog extends CallLog {
  readonly starts: number[] = []
  override read (start = 0, end?: number) {
    this.starts.push(start)
    return super.read(start, end)
  }
}

test('an incremental verifier replays only the entries appended since its last advance, and ends where verifyLog does', async (ctx) => {
  await ctx.host.init(PERSISTENT)
  for (let n = 0; n < 3; n++) await ctx.host.call('increment')
  const log = new ReadCountingLog(ctx.host.log.core)
  const verifier = new LogVerifier(log, ctx.host.drive)
  try {
    passes(await verifier.advance(), 4, 3)
    assert.is(await verifier.checkArchive(), null, 'the archive matches after the first advance')
    await ctx.host.call('note', ['a', 'hello'])
    await ctx.host.restart()
    await ctx.host.call('increment')
    const report = await verifier.advance()
    passes(report, 7, 5)
    assert.equal(log.starts, [0, 4], 'the second advance starts at the first new entry')
    assert.is(await verifier.checkArchive(), null, 'the archive matches after the second advance')
    assert.is(report.restarts, 1)
    const whole = await verify(ctx)
    assert.equal({ ...report, ms: 0 }, { ...whole, ms: 0 }, 'the same report as one verifyLog over the whole log')
  } finally {
    await verifier.close()
  }
})

test('an incremental verifier: an archive difference is reported but not kept, an entry divergence is kept', async (ctx) => {
  await ctx.host.init(PERSISTENT)
  await ctx.host.call('increment')
  const verifier = new LogVerifier(ctx.host.log, ctx.host.drive)
  try {
    passes(await verifier.advance(), 2, 1)
    await ctx.host.drive.put('/extra.txt', Buffer.from('sneaky'))
    const end = await verifier.checkArchive()
    assert.is(end?.field, 'files.unlogged', 'the change outside the log is found at the current point')
    assert.is(end?.index, 2, 'named after the last checked entry')
    assert.is(verifier.report(end).ok, false, 'a report with it fails')
    passes(await verifier.advance(), 2, 1) // nothing new: the replay itself is still right
    await ctx.host.call('increment')
    const first = await verifier.advance()
    assert.is(first.divergence?.field, 'files.unlogged', 'the next call names the change before it')
    assert.is(first.divergence?.index, 2)
    const again = await verifier.advance()
    assert.equal(again.divergence, first.divergence, 'a later advance reports the same divergence')
    assert.is(again.entries, 2, 'and checks nothing past it')
  } finally {
    await verifier.close()
  }
})

test('a verifier of a partly replicated log reads the local entries from storage and waits for the others', async (ctx) => {
  await ctx.host.init(PERSISTENT)
  for (let n = 0; n < 40; n++) await ctx.host.call('increment')
  const dir = await mkdtemp(join(tmpdir(), 'nodevms-verify-clone-'))
  const store = new Corestore(dir)
  const a = ctx.store.replicate(true)
  const b = store.replicate(false)
  a.pipe(b).pipe(a)
  const core = store.get({ key: ctx.host.log.core.key! })
  const drive = new Hyperdrive(store.session(), ctx.host.drive.key)
  try {
    await core.ready()
    await drive.ready()
    await core.update({ wait: true })
    for (const index of [0, 3, 4, 17, 40]) await core.get(index) // a few local, the rest still on the peer
    passes(await verifyLog(new CallLog(core), drive), 41, 40)
  } finally {
    a.destroy()
    b.destroy()
    await drive.close()
    await core.close()
    await store.close()
    await rm(dir, { recursive: true, force: true })
  }
})

test('openRemote over replication fetches the log, the drive and its blobs before it returns: verify passes after the host is gone', async (ctx) => {
  const host = new Host({ source: PERSISTENT, filename: 'script.js', dir: join(ctx.dir, 'host'), warn: () => {}, log: () => {} })
  await host.ready()
  for (let n = 0; n < 30; n++) await host.call('increment')
  await host.call('note', ['a', 'x'.repeat(100_000)]) // a blob of two blocks
  const server = new RpcServer({ service: hostService(host), port: 0, onError: () => {} })
  await server.open()
  const source = await openRemote(`localhost:${server.port}`, { fetch: 'replicate' })
  try {
    await server.close()
    await host.close()
    passes(await verifyLog(source.log, source.drive), 32, 31)
  } finally {
    await source.close()
    await server.close()
    await host.close()
  }
})

test('a core that is not a nodevms log is refused with NOT_A_NODEVMS_LOG', async (ctx) => {
  await ctx.host.drive.ready()
  const core = ctx.store.get({ name: 'something-else' })
  await core.append(['hello', 'world'])
  let error: unknown = null
  try { await verifyLog(new CallLog(core), ctx.host.drive) } catch (err) { error = err }
  assert.instance(error, HostError)
  assert.is((error as HostError).code, 'NOT_A_NODEVMS_LOG')
  const empty = ctx.store.get({ name: 'empty' })
  error = null
  try { await verifyLog(new CallLog(empty), ctx.host.drive) } catch (err) { error = err }
  assert.is((error as HostError).code, 'NOT_A_NODEVMS_LOG', 'an empty core is not a log either')
  await core.close()
  await empty.close()
})

test.run()
