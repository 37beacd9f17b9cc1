// Group commit, and crash recovery at start-up.
//
// Calls execute one at a time; each call's entry and its net file changes wait here. A flush writes a
// whole group through one storage atom (hypercore 11: `core.state.storage.createAtom()`, sessions
// opened with `{ atom }`): the group's blobs in one append to the blobs core, each call's changes as its
// own hyperbee batch (so every call's filesVersion stays a readable checkout, see drive-files.ts), and
// the group's entries in one append to the call log. `atom.flush()` is one RocksDB write, so a call's
// entry and its file changes become durable together, and only then does its caller hear the result.
// Calls that execute while a flush runs form the next group.
// Durable means on stable storage: after the write, the group waits for an fdatasync of RocksDB's write-ahead
// log (wal-sync.ts) and then for the acknowledged record (acknowledged.ts) to name its new lengths; only then
// are its callers answered. A write that fails is classified (disk full, damage, other) by the host store.
// The atom and its sessions live as long as the host: after open(), every write to the log and the
// drive goes through them (an atom's flush overwrites blocks appended beside it). Hyperdrive cannot
// write through an atom, so the bee entries are written in Hyperdrive's own on-disk layout (below).
// Each call's batch must land on the filesVersion its entry predicted, checked before the flush; on any
// failure nothing of the group is written and the host stops taking calls.
// The index of the newest init/restart/upgrade entry is kept in the log core's user data, written in
// the same atom as the entry, so start-up (recovery.ts) reads only the tail of the log.
import type Hypercore from 'hypercore'
import type Hyperdrive from 'hyperdrive'
import { normalizePath } from '../engine/index.js'
import { CallLog, type CallEntry, type LogEntry } from './call-log.js'
import { predictVersion, type Change } from './drive-files.js'
import { HostError } from './errors.js'
import type { PendingFiles } from './pending-files.js'
import { writeCounterSnapshot } from './counter-snapshot.js'
import { StateRoot } from './state-root.js'
import type { Acknowledged, AcknowledgedWriter } from './acknowledged.js'
import type { WalSync } from './wal-sync.js'

/** How the committer makes a group durable, and names a failure. */
export interface Durability {
  /** fdatasync of RocksDB's write-ahead log after each write; null leaves it to the kernel (bench baseline only). */
  wal: WalSync | null
  /** The acknowledged record, written after the sync and before any reply. */
  acknowledged: AcknowledgedWriter
  /** The HostError that says what a failed write means (DISK_FULL, STORE_DAMAGED, STORE_FAILED). */
  problem (err: unknown): Error
}

/** What is durable: what the host may report (handshake) and what replies were sent for. */
export interface DurableState { logLength: number, filesVersion: number }

/** One executed call waiting for its group: its entry, net changes, and their content hashes. */
interface Waiting {
  entry: CallEntry
  /** The entry encoded once, by the host (call-entry.ts keeps it within a block). */
  block: Buffer
  changes: readonly Change[]
  hashes: ReadonlyArray<Uint8Array | null>
  resolve: () => void
  reject: (err: Error) => void
}

// Encoded entries one flush writes at most (one entry may take 15 MiB): later calls wait for the next group,
// so one RocksDB write stays bounded however many big calls queue up.
const GROUP_BYTES = 64 * 1024 * 1024
// Flush sizes kept for diagnostics: the most recent ones only, so a long-running host stays bounded.
const GROUP_HISTORY = 4096
// The user-data key (on the log core) holding the index of the newest lifecycle entry, uint32 LE.
export const LIFECYCLE_KEY = 'nodevms/lifecycle-index'
// Hyperdrive's on-disk layout, which a Hyperdrive reads back: file entries live in its hyperbee under
// 'files' 0x00 <path> (sub-encoder), with JSON values, and blobs are cut in 64 KiB blocks (hyperblobs).
const FILES_PREFIX = Buffer.from('files\u0000', 'utf8')
export const BLOB_BLOCK = 65536

interface Bee { version: number, ready (): Promise<void>, close (): Promise<void>, batch (): BeeBatch }
interface BeeBatch { put (key: Buffer, value: unknown): Promise<void>, del (key: Buffer): Promise<void>, flush (): Promise<void> }
type BeeClass = new (core: Hypercore, opts: Record<string, unknown>) => Bee
interface Atom { flush (): Promise<void> }
interface UserData { setUserData (key: string, value: Buffer): Promise<void>, getUserData (key: string): Promise<Buffer | null> }
interface BlobId { blockOffset: number, blockLength: number, byteOffset: number, byteLength: number }

interface Writers { atom: Atom, log: CallLog, logCore: Hypercore, blobs: Hypercore, beeCore: Hypercore, bee: Bee, blobsCore: Hypercore }

export class GroupCommitter {
  private waiting: Waiting[] = []
  private flushing: Promise<void> | null = null
  private failure: Error | null = null
  private writers: Writers | null = null
  /** Calls per flush, for diagnostics and the bench. */
  readonly groupSizes: number[] = []
  /** The last logged counter per signing key: the snapshot kept in user data. */
  private readonly counters = new Map<string, number>()
  /** The log length and files version as of the last durable write. */
  durable: DurableState

  constructor (
    private readonly log: CallLog,
    private readonly drive: Hyperdrive,
    private readonly pending: PendingFiles,
    private readonly durability: Durability
  ) {
    this.durable = { logLength: log.length, filesVersion: drive.version }
  }

  /**
   * Opens the atom and the atomic sessions (log, drive index, blobs) that every later write goes through.
   * Call it after recovery: from here on, nothing may write these cores any other way, since an atom's
   * flush overwrites what was appended beside it.
   */
  async open (): Promise<void> {
    const atom = (this.drive.core as unknown as { state: { storage: { createAtom (): Atom } } }).state.storage.createAtom()
    const blobs = (await this.drive.getBlobs()) as { core: Hypercore }
    const logCore = this.log.core.session({ atom })
    const beeCore = this.drive.core.session({ atom })
    const Bee = this.drive.db.constructor as BeeClass
    this.writers = {
      atom,
      log: new CallLog(logCore),
      logCore,
      blobs: blobs.core.session({ atom }),
      blobsCore: blobs.core,
      beeCore,
      bee: new Bee(beeCore, { keyEncoding: 'binary', valueEncoding: 'json', metadata: this.drive.db.metadata, extension: false })
    }
    await Promise.all([logCore.ready(), this.writers.blobs.ready(), this.writers.bee.ready()])
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

  /** Waits for the last flush, then closes the atomic sessions (what is staged but unflushed is dropped). */
  async close (): Promise<void> {
    await this.idle()
    const w = this.writers
    this.writers = null
    if (w !== null) await Promise.all([w.bee.close(), w.blobs.close(), w.logCore.close()].map((p) => p.catch(() => {})))
    await this.durability.wal?.close().catch(() => {})
    await this.durability.acknowledged.close().catch(() => {})
  }

  /** Resolves once the entry and its file changes are durable (one atom with the rest of its group). */
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

  /** Appends a lifecycle entry (init, restart, upgrade) and records its index; waits for calls first. */
  async appendLifecycle (entry: LogEntry): Promise<void> {
    await this.idle()
    const w = this.writable()
    const index = w.log.length
    await w.log.append([entry])
    await (w.logCore as unknown as UserData).setUserData(LIFECYCLE_KEY, uint32(index))
    await w.atom.flush()
    await this.makeDurable()
  }

  get failed (): Error | null { return this.failure }

  async idle (): Promise<void> {
    while (this.flushing !== null) await this.flushing
  }

  private writable (): Writers {
    if (this.writers === null) throw new Error('GroupCommitter is not open')
    return this.writers
  }

  private kick (): void {
    if (this.flushing !== null || this.waiting.length === 0 || this.failure !== null) return
    this.flushing = this.flush().finally(() => {
      this.flushing = null
      this.kick()
    })
  }

  private async flush (): Promise<void> {
    let take = 1
    for (let bytes = this.waiting[0].block.byteLength; take < this.waiting.length; take++) {
      bytes += this.waiting[take].block.byteLength
      if (bytes > GROUP_BYTES) break
    }
    const group = this.waiting.splice(0, take)
    this.groupSizes.push(group.length)
    if (this.groupSizes.length > GROUP_HISTORY) this.groupSizes.splice(0, this.groupSizes.length - GROUP_HISTORY)
    try {
      await this.writeGroup(group)
      this.pending.shift(group.map((w) => w.changes))
      await this.makeDurable()
    } catch (err) {
      // Memory (and the atom) are ahead of storage now: refuse everything until the host reopens the store
      // and starts again from the log (the host does that itself once a full disk has room again).
      this.failure = this.durability.problem(err)
      for (const w of [...group, ...this.waiting.splice(0)]) w.reject(this.failure)
      this.onFailure?.(this.failure)
      return
    }
    for (const w of group) w.resolve()
  }

  /** Called once, with the error, when a write fails and the committer stops. */
  onFailure: ((err: Error) => void) | null = null

  /** The sync, then the acknowledged record: after this, what was written is what the host may acknowledge. */
  private async makeDurable (): Promise<void> {
    await this.durability.wal?.sync()
    const state = await this.acknowledgedState()
    await this.durability.acknowledged.write(state)
    this.durable = { logLength: state.log.length, filesVersion: Math.max(1, state.files.length) }
  }

  /** Stages a group's blobs, per-call bee batches and entries in the atom, then writes it at once. */
  private async writeGroup (group: readonly Waiting[]): Promise<void> {
    const w = this.writable()
    if (group.some((call) => call.changes.length > 0)) {
      const ids = await appendBlobs(w.blobs, group)
      let version = Math.max(1, w.beeCore.length)
      for (let c = 0; c < group.length; c++) {
        const { entry, changes, hashes } = group[c]
        if (changes.length === 0) continue
        const batch = w.bee.batch()
        for (let i = 0; i < changes.length; i++) {
          const [path, data] = changes[i]
          const key = fileKey(path)
          if (data === null) await batch.del(key)
          else await batch.put(key, { executable: false, linkname: null, blob: ids[c][i], metadata: { sha256: Buffer.from(hashes[i] ?? StateRoot.hashContent(data)).toString('hex') } })
        }
        await batch.flush()
        version = predictVersion(version, changes)
        if (w.bee.version !== version || entry.filesVersion !== version) throw HostError.FILES_VERSION_MISMATCH(entry.filesVersion, w.bee.version)
      }
    }
    await w.log.appendEncoded(group.map((call) => call.block))
    let signed = false
    for (const { entry } of group) {
      if (entry.auth === undefined || !('pubkey' in entry.auth)) continue
      this.counters.set(entry.auth.pubkey, entry.auth.counter)
      signed = true
    }
    if (signed) {
      await writeCounterSnapshot(w.logCore, { length: w.log.length, counters: Object.fromEntries(this.counters) })
    }
    await w.atom.flush()
  }
}

/** One append of every blob of the group; returns each change's blob id (null for a delete). */
async function appendBlobs (core: Hypercore, group: readonly Waiting[]): Promise<Array<Array<BlobId | null>>> {
  let blockOffset = core.length
  let byteOffset = core.byteLength
  const blocks: Uint8Array[] = []
  const ids = group.map(({ changes }) => changes.map(([, data]) => {
    if (data === null) return null
    const id = { blockOffset, blockLength: 0, byteOffset, byteLength: data.byteLength }
    for (let at = 0; at < data.byteLength; at += BLOB_BLOCK) {
      blocks.push(data.subarray(at, at + BLOB_BLOCK))
      id.blockLength++
    }
    blockOffset += id.blockLength
    byteOffset += data.byteLength
    return id
  }))
  if (blocks.length > 0) await core.append(blocks)
  return ids
}

function fileKey (path: string): Buffer {
  if (path === '/' || normalizePath(path) !== path) throw new TypeError(`Not a normalised file path: ${JSON.stringify(path)}`)
  return Buffer.concat([FILES_PREFIX, Buffer.from(path, 'utf8')])
}

function uint32 (n: number): Buffer {
  const buf = Buffer.alloc(4)
  buf.writeUInt32LE(n)
  return buf
}
