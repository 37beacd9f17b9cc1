// Writing calls to the cores through one Hypercore 11 storage atom (`core.state.storage.createAtom()`,
// sessions opened with `{ atom }`): the blobs of a batch of calls in one append to the blobs core, each
// call's changes as its own hyperbee batch, and the entries in one append to the call log. `atom.flush()`
// is one RocksDB write, so an entry and its file changes reach the cores together.
// Each call keeps its own hyperbee batch: a batch's blocks other than its last carry no tree root
// (hyperbee's toBlocks() drops it), so one batch for several calls would leave every call's filesVersion but
// the last without a readable checkout (see drive-files.ts). Each call's batch must land on the filesVersion
// its entry predicted.
// Hyperdrive cannot write through an atom, so the bee entries are written in Hyperdrive's own on-disk layout.
// The atom and its sessions live as long as the host: after open(), every write to the log and the drive
// goes through them (an atom's flush overwrites blocks appended beside it).
import type Hypercore from 'hypercore'
import type Hyperdrive from 'hyperdrive'
import { normalizePath } from '../engine/index.js'
import { CallLog } from './call-log.js'
import type { Answered } from './commit.js'
import { writeCounterSnapshot } from './counter-snapshot.js'
import { predictVersion } from './drive-files.js'
import { HostError } from './errors.js'
import { StateRoot } from './state-root.js'

// Hyperdrive's on-disk layout, which a Hyperdrive reads back: file entries live in its hyperbee under
// 'files' 0x00 <path> (sub-encoder), with JSON values, and blobs are cut in 64 KiB blocks (hyperblobs).
const FILES_PREFIX = Buffer.from('files\u0000', 'utf8')
export const BLOB_BLOCK = 65536

interface Bee { version: number, ready (): Promise<void>, close (): Promise<void>, batch (): BeeBatch }
interface BeeBatch { put (key: Buffer, value: unknown): Promise<void>, del (key: Buffer): Promise<void>, flush (): Promise<void> }
type BeeClass = new (core: Hypercore, opts: Record<string, unknown>) => Bee
interface Atom { flush (): Promise<void> }
interface BlobId { blockOffset: number, blockLength: number, byteOffset: number, byteLength: number }

/** The atom and the atomic sessions of the call log, the drive's index and its blobs. */
export class AtomWriter {
  private constructor (
    readonly atom: Atom,
    /** The call log through the atom. */
    readonly log: CallLog,
    readonly logCore: Hypercore,
    private readonly blobs: Hypercore,
    /** The blobs core's default session (for its tree hash). */
    readonly blobsCore: Hypercore,
    private readonly beeCore: Hypercore,
    private readonly bee: Bee
  ) {}

  /**
   * Opens the atom and its sessions. Call it after recovery: from here on, nothing may write these cores
   * any other way, since an atom's flush overwrites what was appended beside it.
   */
  static async open (log: CallLog, drive: Hyperdrive): Promise<AtomWriter> {
    const atom = (drive.core as unknown as { state: { storage: { createAtom (): Atom } } }).state.storage.createAtom()
    const blobs = (await drive.getBlobs()) as { core: Hypercore }
    const logCore = log.core.session({ atom })
    const beeCore = drive.core.session({ atom })
    const Bee = drive.db.constructor as BeeClass
    const writer = new AtomWriter(
      atom, new CallLog(logCore), logCore, blobs.core.session({ atom }), blobs.core, beeCore,
      new Bee(beeCore, { keyEncoding: 'binary', valueEncoding: 'json', metadata: drive.db.metadata, extension: false })
    )
    await Promise.all([logCore.ready(), writer.blobs.ready(), writer.bee.ready()])
    return writer
  }

  /**
   * Stages the blobs, per-call bee batches and entries of calls in the atom (with the counter snapshot, when
   * given), then writes them at once.
   */
  async write (calls: readonly Answered[], counters: ReadonlyMap<string, number> | null): Promise<void> {
    if (calls.some((call) => call.changes.length > 0)) {
      const ids = await appendBlobs(this.blobs, calls)
      let version = Math.max(1, this.beeCore.length)
      for (let c = 0; c < calls.length; c++) {
        const { entry, changes, hashes } = calls[c]
        if (changes.length === 0) continue
        const batch = this.bee.batch()
        for (let i = 0; i < changes.length; i++) {
          const [path, data] = changes[i]
          const key = fileKey(path)
          if (data === null) await batch.del(key)
          else await batch.put(key, { executable: false, linkname: null, blob: ids[c][i], metadata: { sha256: Buffer.from(hashes[i] ?? StateRoot.hashContent(data)).toString('hex') } })
        }
        await batch.flush()
        version = predictVersion(version, changes)
        if (this.bee.version !== version || entry.filesVersion !== version) throw HostError.FILES_VERSION_MISMATCH(entry.filesVersion, this.bee.version)
      }
    }
    await this.log.appendEncoded(calls.map((call) => call.block))
    if (counters !== null) await writeCounterSnapshot(this.logCore, { length: this.log.length, counters: Object.fromEntries(counters) })
    await this.atom.flush()
  }

  /** Closes the atomic sessions (what is staged but unflushed is dropped). */
  async close (): Promise<void> {
    await Promise.all([this.bee.close(), this.blobs.close(), this.logCore.close()].map((p) => p.catch(() => {})))
  }
}

/** One append of every blob of the calls; returns each change's blob id (null for a delete). */
async function appendBlobs (core: Hypercore, calls: readonly Answered[]): Promise<Array<Array<BlobId | null>>> {
  let blockOffset = core.length
  let byteOffset = core.byteLength
  const blocks: Uint8Array[] = []
  const ids = calls.map(({ changes }) => changes.map(([, data]) => {
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
