// Files over a Hyperdrive, and per-call transactions so that a call's changes reach the log before the drive.
//
// Each file's sha256 is kept in its drive entry's metadata ({ sha256: hex }), so the state root can be
// rebuilt at start-up from the drive's index alone, without reading any blob.
//
// Drive versions: the drive's version is its hyperbee length, and each effective put or del is one bee
// block, so the version after a call is the version before plus the number of its changes (the empty
// drive reports version 1: the bee header is written with the first block). That only holds for *net*
// changes, which FilesTransaction.changes() guarantees: hyperbee writes nothing for a del of a missing
// key, or for a put whose entry equals the current one.
// A version inside a multi-block bee batch cannot be checked out (hyperbee writes the tree index only
// with the batch's last block), so applyChanges commits each call's changes as its own atomic batch:
// every call's recorded filesVersion is then a readable checkout, and a crash leaves the drive at a
// call boundary.

import Hyperdrive from 'hyperdrive'
import type { Files } from '../engine/index.js'
import { HostError } from './errors.js'
import { StateRoot } from './state-root.js'

/** One file change: new content, or null for a delete. */
export type Change = [path: string, data: Uint8Array | null]

/** A Files that can give a file's sha256 more cheaply than reading it. */
export interface ContentHashes {
  contentHash (path: string): Promise<Uint8Array | null>
}

const HEX64 = /^[0-9a-f]{64}$/

function metadataHash (metadata: unknown): Uint8Array | null {
  const hex = (metadata as { sha256?: unknown } | null)?.sha256
  return typeof hex === 'string' && HEX64.test(hex) ? Buffer.from(hex, 'hex') : null
}

function byCodeUnit (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

async function hashVia (files: Files, path: string): Promise<Uint8Array | null> {
  if (typeof (files as Partial<ContentHashes>).contentHash === 'function') return (files as Files & ContentHashes).contentHash(path)
  const data = await files.get(path)
  return data === null ? null : StateRoot.hashContent(data)
}

/** The files archive: Files read and written straight on a Hyperdrive. */
export class DriveFiles implements Files, ContentHashes {
  readonly drive: Hyperdrive
  readonly readOnly: boolean
  private owned = false

  constructor (drive: Hyperdrive, opts: { readOnly?: boolean } = {}) {
    this.drive = drive
    this.readOnly = opts.readOnly === true // not drive.writable: that is false until the drive is ready
  }

  /** A read-only view of the drive as it was at version; close() closes the checkout. */
  static checkout (drive: Hyperdrive, version: number): DriveFiles {
    const files = new DriveFiles(drive.checkout(version), { readOnly: true })
    files.owned = true
    return files
  }

  get version (): number { return this.drive.version }

  async get (path: string): Promise<Uint8Array | null> {
    return this.drive.get(path) // null for a missing path (and for a symlink: only blobs are files)
  }

  async put (path: string, data: Uint8Array): Promise<void> {
    if (this.readOnly) throw HostError.FILES_READ_ONLY(path)
    const sha256 = Buffer.from(StateRoot.hashContent(data)).toString('hex')
    await this.drive.put(path, data, { metadata: { sha256 } })
  }

  async del (path: string): Promise<void> {
    if (this.readOnly) throw HostError.FILES_READ_ONLY(path)
    await this.drive.del(path)
  }

  async list (dir: string): Promise<string[]> {
    const out: string[] = []
    for await (const entry of this.drive.list(dir, { recursive: true })) {
      if (entry.value.blob !== null) out.push(entry.key)
    }
    return out.sort(byCodeUnit)
  }

  /** The file's sha256 from its entry metadata, hashing the blob only when the metadata is missing. */
  async contentHash (path: string): Promise<Uint8Array | null> {
    const entry = await this.drive.entry(path)
    if (entry === null || entry.value.blob === null) return null
    return metadataHash(entry.value.metadata) ?? StateRoot.hashContent(await this.drive.get(path) ?? new Uint8Array(0))
  }

  /**
   * The state root from the drive's entries (metadata hashes; blobs only where metadata is missing).
   * It trusts the metadata: verify recomputes from content with StateRoot.fromFiles instead.
   */
  async stateRoot (): Promise<StateRoot> {
    const root = new StateRoot()
    for await (const entry of this.drive.list('/', { recursive: true })) {
      if (entry.value.blob === null) continue
      const hash = metadataHash(entry.value.metadata) ?? StateRoot.hashContent(await this.drive.get(entry.key) ?? new Uint8Array(0))
      root.set(entry.key, hash)
    }
    return root
  }

  /** Closes the drive only when this DriveFiles opened it (a checkout). */
  async close (): Promise<void> {
    if (this.owned) await this.drive.close()
  }
}

/** One call's view of the files: writes stay in an overlay until the host commits them. */
export class FilesTransaction implements Files, ContentHashes {
  readonly base: Files
  private readonly overlay = new Map<string, Uint8Array | null>()
  // The base's sha256 of each written path, taken at its first write, so changes() can drop no-ops.
  private readonly before = new Map<string, Uint8Array | null>()
  // The sha256 of each written file, computed once: changes() needs it to drop no-ops, and the caller
  // needs it again for the state root.
  private readonly hashes = new Map<string, Uint8Array>()

  constructor (base: Files) {
    this.base = base
  }

  /** The archive this transaction is one call's view of (the engine's worker keeps what it knows across calls). */
  get viewOf (): Files { return this.base }

  async get (path: string): Promise<Uint8Array | null> {
    if (this.overlay.has(path)) return this.overlay.get(path) ?? null
    return this.base.get(path)
  }

  async put (path: string, data: Uint8Array): Promise<void> {
    await this.remember(path)
    this.overlay.set(path, Uint8Array.from(data)) // a copy: the caller may reuse its buffer
    this.hashes.delete(path)
  }

  async del (path: string): Promise<void> {
    await this.remember(path)
    this.overlay.set(path, null)
    this.hashes.delete(path)
  }

  async list (dir: string): Promise<string[]> {
    const prefix = dir === '/' ? '/' : dir + '/'
    const paths = new Set(await this.base.list(dir))
    for (const [path, data] of this.overlay) {
      if (!path.startsWith(prefix)) continue
      if (data === null) paths.delete(path)
      else paths.add(path)
    }
    return [...paths].sort(byCodeUnit)
  }

  async contentHash (path: string): Promise<Uint8Array | null> {
    if (!this.overlay.has(path)) return hashVia(this.base, path)
    return this.hashOf(path)
  }

  /** The sha256 of what this transaction wrote at path; null for a delete or a path it did not write. */
  hashOf (path: string): Uint8Array | null {
    const data = this.overlay.get(path) ?? null
    if (data === null) return null
    let hash = this.hashes.get(path)
    if (hash === undefined) {
      hash = StateRoot.hashContent(data)
      this.hashes.set(path, hash)
    }
    return hash
  }

  /** Net changes against the base, sorted by path: writes of the base's own content and deletes of missing files are left out. */
  changes (): Change[] {
    const out: Change[] = []
    for (const path of [...this.overlay.keys()].sort(byCodeUnit)) {
      const data = this.overlay.get(path) ?? null
      const before = this.before.get(path) ?? null
      if (data === null ? before === null : before !== null && Buffer.from(before).equals(this.hashOf(path)!)) continue
      out.push([path, data])
    }
    return out
  }

  private async remember (path: string): Promise<void> {
    if (!this.before.has(path)) this.before.set(path, await hashVia(this.base, path))
  }
}

/** The drive version after applying one call's net changes at version `before`. */
export function predictVersion (before: number, changes: readonly Change[]): number {
  return before + changes.length
}

/**
 * Applies calls' net changes in order, each call's as one atomic bee batch (see the top comment),
 * and returns the drive's version after the last. Throws FILES_VERSION_MISMATCH when a call's batch
 * does not land on its predicted version, since the log already recorded that version.
 */
export async function applyChanges (drive: Hyperdrive, calls: ReadonlyArray<readonly Change[]>): Promise<number> {
  await drive.ready()
  for (const changes of calls) {
    if (changes.length === 0) continue
    const expected = predictVersion(drive.version, changes)
    const batch = drive.batch()
    const files = new DriveFiles(batch)
    try {
      for (const [path, data] of changes) {
        if (data === null) await files.del(path)
        else await files.put(path, data)
      }
      await batch.flush()
    } catch (err) {
      await batch.close().catch(() => {}) // the batch's error is the one that matters
      throw err
    }
    if (drive.version !== expected) throw HostError.FILES_VERSION_MISMATCH(expected, drive.version)
  }
  return drive.version
}
