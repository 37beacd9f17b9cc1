// Group commit: calls are answered once their group is durable in one write, and reach the cores behind it.
//
// Calls execute one at a time; each call's entry (encoded once, by the host) and its net file changes wait
// here. A flush writes a whole group as one record of the answer journal (answer-journal.ts: one writev, one
// fdatasync) and then answers its callers: an answered call survives SIGKILL and power loss from then on.
// Calls that execute while a flush runs form the next group, as do calls submitted in the same tick.
// Behind the replies, the core writer writes answered calls to the cores (several groups at once: it waits
// up to CORE_DELAY_MS for more), each time in one RocksDB write through one storage atom (atom-writer.ts).
// The cores are synced (a WAL fdatasync, wal-sync.ts, then the acknowledged record, acknowledged.ts) only
// when the journal starts again from its beginning, at a lifecycle entry, and at close: until then the
// journal holds whatever the cores might lose. Start-up (complete()) writes every journaled entry the log
// lacks before the host serves or replicates anything, so the log never runs behind what was answered.
// While the host runs, the cores trail the replies by one core write; settled() waits until they hold
// every call answered so far (the block endpoint asks it before it names a length).
// A write that fails is classified (disk full, damage, other) by the host store; the host then takes no
// calls until it has reopened the store and completed the log from the journal.
// The index of the newest init/restart/upgrade entry is kept in the log core's user data, written in
// the same atom as the entry, so start-up (recovery.ts) reads only the tail of the log; so is where the
// script's memory and source start (memory-segment.ts).
import type Hypercore from 'hypercore'
import type Hyperdrive from 'hyperdrive'
import type { CallEntry, CallLog, LogEntry } from './call-log.js'
import type { Change } from './drive-files.js'
import type { PendingFiles } from './pending-files.js'
import { AtomWriter } from './atom-writer.js'
import type { Acknowledged, AcknowledgedWriter } from './acknowledged.js'
import type { WalSync } from './wal-sync.js'
import type { AnswerJournal } from './answer-journal.js'

/** How the committer makes a group durable, and names a failure. */
export interface Durability {
  /** The answer journal: each group is durable once its record is written and fdatasynced. */
  journal: AnswerJournal
  /** fdatasync of RocksDB's write-ahead log when the cores are synced; null leaves it to the kernel (bench baseline only). */
  wal: WalSync | null
  /** Journal bytes after which it starts again from its beginning (default JOURNAL_RESTART_BYTES). */
  journalRestartBytes?: number
  /** The acknowledged record, written after the cores are synced. */
  acknowledged: AcknowledgedWriter
  /** The HostError that says what a failed write means (DISK_FULL, STORE_DAMAGED, STORE_FAILED). */
  problem (err: unknown): Error
}

/** What is durable: what the host may report (handshake) and what replies were sent for. */
export interface DurableState { logLength: number, filesVersion: number }

/** One executed call on its way to the cores: its entry, the entry encoded once, net changes, and their content hashes. */
export interface Answered {
  entry: CallEntry
  /** The entry encoded once, by the host (call-entry.ts keeps it within a block). */
  block: Buffer
  changes: readonly Change[]
  hashes: ReadonlyArray<Uint8Array | null>
}

/** A call waiting for its group's journal record. */
interface Waiting extends Answered {
  resolve: () => void
  reject: (err: Error) => void
}

// Bytes (entries and file content) one journal record or one core write holds at most (one entry may take
// 15 MiB): later calls wait for the next one, so a write stays bounded however many big calls queue up.
const GROUP_BYTES = 64 * 1024 * 1024
// Once the journal holds this much, the next group waits for the cores to catch up and be synced, and the
// journal starts again from its beginning: the journal stays bounded, and so does start-up's work.
export const JOURNAL_RESTART_BYTES = 32 * 1024 * 1024
// The core writer waits this long after an answer for more answered calls to write with it (fewer RocksDB
// writes, Merkle tree updates and signatures on the host's thread), unless someone waits for the cores
// (settled(), a lifecycle entry, close) or this many calls or bytes are behind.
// (NODEVMS_TEST_CORE_DELAY_MS: a test hook, to hold the cores behind the replies for longer.)
const CORE_DELAY_MS = Number(process.env.NODEVMS_TEST_CORE_DELAY_MS ?? 10)
const CORE_BATCH_CALLS = 1024
const CORE_BATCH_BYTES = 4 * 1024 * 1024
// Flush sizes kept for diagnostics: the most recent ones only, so a long-running host stays bounded.
const GROUP_HISTORY = 4096
// Test hook (test/host/journal-completion.test.ts): answered groups never reach the cores, so a test can
// kill the host between "answered" and "in the Hypercore".
const HOLD_CORE_WRITES = process.env.NODEVMS_TEST_HOLD_CORE_WRITES === '1'
// The user-data key (on the log core) holding the index of the newest lifecycle entry, uint32 LE.
export const LIFECYCLE_KEY = 'nodevms/lifecycle-index'
// The user-data key holding, as two uint32 LE, the index of the newest entry that began with empty memory and
// the index of the newest init or upgrade entry (the script that runs): where a restore starts (memory-segment.ts).
export const MEMORY_KEY = 'nodevms/memory-segment'
export { BLOB_BLOCK } from './atom-writer.js'

export class GroupCommitter {
  private waiting: Waiting[] = []
  private flushing: Promise<void> | null = null
  /** Answered calls the cores do not hold yet, oldest first. */
  private behind: Answered[] = []
  private writing: Promise<void> | null = null
  private behindBytes = 0
  private coreTimer: NodeJS.Timeout | null = null
  private settledWaiters: Array<{ length: number, resolve: () => void }> = []
  private failure: Error | null = null
  private writers: AtomWriter | null = null
  /** Calls per flush, for diagnostics and the bench. */
  readonly groupSizes: number[] = []
  /** The last logged counter per signing key: the snapshot kept in user data. */
  private readonly counters = new Map<string, number>()
  /** The log length and files version of everything answered (journaled or in the cores). */
  durable: DurableState
  /**
   * Entries this committer knows the log core holds. Counted, not read from the core: a core truncated under
   * the host (a forging test, a lying host) must not leave settled() waiting for a length that never comes.
   */
  private inCores: number

  constructor (
    private readonly log: CallLog,
    private readonly drive: Hyperdrive,
    private readonly pending: PendingFiles,
    private readonly durability: Durability
  ) {
    this.durable = { logLength: log.length, filesVersion: drive.version }
    this.inCores = log.length
  }

  /**
   * Opens the atom and the atomic sessions (log, drive index, blobs) that every later write goes through.
   * Call it after recovery: from here on, nothing may write these cores any other way, since an atom's
   * flush overwrites what was appended beside it.
   */
  async open (): Promise<void> {
    this.writers = await AtomWriter.open(this.log, this.drive)
    this.caughtUp()
  }

  /**
   * The cores hold everything and nothing is in flight (after recovery, completion or a lifecycle entry): what
   * is durable and what the cores hold are then read from the cores themselves.
   */
  private caughtUp (): void {
    this.inCores = this.log.length
    this.durable = { logLength: this.log.length, filesVersion: this.drive.version }
  }

  /**
   * Start-up, after open(): writes the calls the journal holds and the log does not (journal-recovery.ts:
   * answered before the host stopped, not yet in the cores), then syncs the cores.
   */
  async complete (missing: readonly Answered[]): Promise<void> {
    if (missing.length === 0) return
    for (let from = 0; from < missing.length;) {
      const take = groupLength(missing, from)
      await this.writeGroup(missing.slice(from, from + take))
      from += take
    }
    await this.syncCores()
    this.caughtUp()
  }

  /**
   * The lengths and tree hashes of the three cores as flushed, for the acknowledged record. Read from the
   * cores' default sessions: an atomic session's treeHash() can wait forever once the core was truncated
   * beside it.
   */
  async acknowledgedState (): Promise<Acknowledged> {
    const w = this.writable()
    const hashed = async (core: Hypercore) => ({ length: core.length, treeHash: (await core.treeHash()).toString('hex') })
    const [log, files, blobs] = await Promise.all([hashed(this.log.core), hashed(this.drive.core), hashed(w.blobsCore)])
    return { logKey: this.log.key, log, files, blobs }
  }

  /**
   * Waits for the last flush and for the cores to hold every answered call, syncs them (so the acknowledged
   * record covers everything), then closes the atomic sessions (what is staged but unflushed is dropped).
   */
  async close (): Promise<void> {
    await this.idle()
    if (this.coreTimer !== null) clearTimeout(this.coreTimer)
    this.coreTimer = null
    if (this.failure === null && this.writers !== null) await this.syncCores().catch(() => {})
    const w = this.writers
    this.writers = null
    await w?.close()
    await this.durability.wal?.close().catch(() => {})
    await this.durability.acknowledged.close().catch(() => {})
    await this.durability.journal.close().catch(() => {})
  }

  /** Resolves once the entry and its file changes are durable (one journal record with the rest of its group). */
  submit (entry: CallEntry, block: Buffer, changes: readonly Change[], hashes: ReadonlyArray<Uint8Array | null>): Promise<void> {
    if (this.failure !== null) return Promise.reject(this.failure)
    const done = new Promise<void>((resolve, reject) => this.waiting.push({ entry, block, changes, hashes, resolve, reject }))
    this.kick()
    return done
  }

  /** Starts the counter snapshot from what the log holds at open. */
  seedCounters (counters: ReadonlyMap<string, number>): void {
    for (const [key, counter] of counters) this.counters.set(key, counter)
  }

  /** The last logged counter of every signing key (a copy). */
  lastCounters (): Map<string, number> {
    return new Map(this.counters)
  }

  /**
   * Appends a lifecycle entry (init, restart, upgrade) and records its index, and where the script's memory
   * and source now start (`segment` gets the entry's index); waits for calls first. Returns the index.
   */
  async appendLifecycle (entry: LogEntry, segment: (index: number) => { memoryStart: number, sourceIndex: number }): Promise<number> {
    await this.idle()
    const w = this.writable()
    const index = w.log.length
    const { memoryStart, sourceIndex } = segment(index)
    await w.log.append([entry])
    await w.logCore.setUserData(LIFECYCLE_KEY, uint32(index))
    await w.logCore.setUserData(MEMORY_KEY, Buffer.concat([uint32(memoryStart), uint32(sourceIndex)]))
    await w.atom.flush()
    await this.syncCores()
    this.caughtUp()
    return index
  }

  /** Resolves once no group is being journaled and the cores hold every answered call (or the committer failed). */
  async idle (): Promise<void> {
    while (this.flushing !== null || ((this.writing !== null || this.behind.length > 0) && this.failure === null && !HOLD_CORE_WRITES)) {
      this.kickCores(true)
      await (this.flushing ?? this.writing)
    }
  }

  /** Resolves once the cores hold `length` entries, by default every call answered before now (what a verifier must be shown). */
  settled (length = this.durable.logLength): Promise<void> {
    if (this.failure !== null || this.inCores >= length) return Promise.resolve()
    const settled = new Promise<void>((resolve) => this.settledWaiters.push({ length, resolve }))
    this.kickCores(true)
    return settled
  }

  private writable (): AtomWriter {
    if (this.writers === null) throw new Error('GroupCommitter is not open')
    return this.writers
  }

  private kick (): void {
    if (this.flushing !== null || this.waiting.length === 0 || this.failure !== null) return
    // The group forms on the next tick, once the calls submitted in this one are in: the host takes an engine
    // batch's records one after another, and a flush started at the first took it alone (groups then went
    // 1, 31, 1, 31 under 32 callers).
    this.flushing = new Promise((resolve) => process.nextTick(resolve)).then(() => this.flush()).finally(() => {
      this.flushing = null
      this.kick()
    })
  }

  /** Journals the next group, answers it, and hands it to the core writer. */
  private async flush (): Promise<void> {
    if (this.waiting.length === 0 || this.failure !== null) return
    const group = this.waiting.splice(0, groupLength(this.waiting, 0))
    this.groupSizes.push(group.length)
    if (this.groupSizes.length > GROUP_HISTORY) this.groupSizes.splice(0, this.groupSizes.length - GROUP_HISTORY)
    const start = this.durable.logLength
    try {
      if (this.durability.journal.size >= (this.durability.journalRestartBytes ?? JOURNAL_RESTART_BYTES)) await this.restartJournal()
      const content = group.flatMap((call) => call.changes.flatMap(([, data]) => data === null ? [] : [data]))
      await this.durability.journal.append({ start, entries: group.map((call) => call.block), content })
    } catch (err) {
      this.fail(err, group)
      return
    }
    this.durable = { logLength: start + group.length, filesVersion: group[group.length - 1].entry.filesVersion }
    for (const call of group) {
      this.behind.push({ entry: call.entry, block: call.block, changes: call.changes, hashes: call.hashes })
      this.behindBytes += sizeOf(call)
    }
    this.kickCores(this.settledWaiters.length > 0 || this.behind.length >= CORE_BATCH_CALLS || this.behindBytes >= CORE_BATCH_BYTES)
    for (const call of group) call.resolve()
  }

  /** Waits until the cores hold everything journaled, syncs them, and starts the journal from its beginning. */
  private async restartJournal (): Promise<void> {
    while (this.writing !== null || this.behind.length > 0) {
      this.kickCores(true)
      await this.writing
      if (this.failure !== null) throw this.failure
    }
    await this.syncCores()
  }

  /** Starts the core writer now (`now`), or after CORE_DELAY_MS so that more answered calls go with it. */
  private kickCores (now = false): void {
    if (this.writing !== null || this.behind.length === 0 || this.failure !== null) return
    if (!now) {
      this.coreTimer ??= setTimeout(() => { this.coreTimer = null; this.kickCores(true) }, CORE_DELAY_MS)
      return
    }
    if (this.coreTimer !== null) clearTimeout(this.coreTimer)
    this.coreTimer = null
    this.writing = this.writeCores().finally(() => {
      this.writing = null
      this.kickCores(this.settledWaiters.length > 0)
    })
  }

  /** Writes the oldest answered calls to the cores (one atom), then tells settled() callers. */
  private async writeCores (): Promise<void> {
    if (HOLD_CORE_WRITES) return await new Promise<void>(() => {})
    const calls = this.behind.splice(0, groupLength(this.behind, 0))
    for (const call of calls) this.behindBytes -= sizeOf(call)
    try {
      await this.writeGroup(calls)
    } catch (err) {
      this.fail(err, [])
      return
    }
    this.pending.shift(calls.map((call) => call.changes))
    this.inCores += calls.length
    const length = this.inCores
    this.settledWaiters = this.settledWaiters.filter((waiter) => {
      if (waiter.length > length) return true
      waiter.resolve()
      return false
    })
  }

  /**
   * Memory (and the atom) are ahead of storage now: refuse everything until the host reopens the store and
   * completes the log from the journal (the host does that itself once a full disk has room again).
   */
  private fail (err: unknown, group: Waiting[]): void {
    if (this.failure !== null) {
      for (const w of group) w.reject(this.failure)
      return
    }
    this.failure = this.durability.problem(err)
    for (const w of [...group, ...this.waiting.splice(0)]) w.reject(this.failure)
    for (const waiter of this.settledWaiters.splice(0)) waiter.resolve()
    this.onFailure?.(this.failure)
  }

  /** Called once, with the error, when a write fails and the committer stops. */
  onFailure: ((err: Error) => void) | null = null

  /**
   * The sync, then the acknowledged record: after this, the cores hold durably all they were given, and the
   * journal may start again from its beginning.
   */
  private async syncCores (): Promise<void> {
    await this.durability.wal?.sync()
    const state = await this.acknowledgedState()
    await this.durability.acknowledged.write(state)
    this.durability.journal.restart()
  }

  /** Writes calls to the cores in one atom, with the counter snapshot when any of them was signed. */
  private async writeGroup (group: readonly Answered[]): Promise<void> {
    let signed = false
    for (const { entry } of group) {
      if (entry.auth === undefined || !('pubkey' in entry.auth)) continue
      this.counters.set(entry.auth.pubkey, entry.auth.counter)
      signed = true
    }
    await this.writable().write(group, signed ? this.counters : null)
  }
}

/** Bytes of a call's entry and new file content. */
function sizeOf (call: Answered): number {
  return call.changes.reduce((sum, [, data]) => sum + (data?.byteLength ?? 0), call.block.byteLength)
}

/** How many calls from `from` go into one write: at least one, then up to GROUP_BYTES of entries and content. */
function groupLength (calls: readonly Answered[], from: number): number {
  let take = 1
  for (let bytes = sizeOf(calls[from]); from + take < calls.length; take++) {
    bytes += sizeOf(calls[from + take])
    if (bytes > GROUP_BYTES) break
  }
  return take
}

function uint32 (n: number): Buffer {
  const buf = Buffer.alloc(4)
  buf.writeUInt32LE(n)
  return buf
}
