// Opening a host directory's corestore: writable for the host, read-only for an auditor (verify --dir), and in
// both cases refusing damage instead of "recovering" from it.
// - RocksDB's default write-ahead-log recovery (point in time) silently drops every record after a damaged
//   one. The store is opened with TOLERATE_CORRUPTED_TAIL_RECORDS instead: a torn tail (what a power cut
//   leaves after the last sync) is dropped, any other damage fails the open. What a dropped tail held was
//   never acknowledged, and the acknowledged record (acknowledged.ts) proves it.
// - An existing store is opened with createIfMissing off, so a lost CURRENT file is an error, not a new store.
// - hypercore-storage deletes every write-ahead log when an open fails with "sequence number is being set
//   backwards"; that is turned off: a store that fails to open is left exactly as it is.
// - Read-only opens take no RocksDB lock, so a shared lock on the CORESTORE file keeps a host from starting
//   (and tells the auditor when one is running) while the store is read.
import fs from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import Corestore from 'corestore'
import Hypercore from 'hypercore'
import { freeBytes } from './disk-full.js'
import { HostError } from './errors.js'
import { storeProblem } from './store-problem.js'
import type { WalSource } from './wal-sync.js'

const TOLERATE_CORRUPTED_TAIL_RECORDS = 0
// hypercore-storage's own fs-native-extensions (through device-file), for the shared lock.
const storageRequire = createRequire(createRequire(import.meta.url).resolve('hypercore-storage'))
const fsx = createRequire(storageRequire.resolve('device-file'))('fs-native-extensions') as { tryLock (fd: number, offset: number, length: number, opts: { shared: boolean }): boolean }

interface StorageInternals { rocks: WalSource & { path: string }, db: unknown, _maybeRecoverLater?: (err: unknown) => void }

/** An open host store: the corestore, and what the durability code needs of RocksDB underneath. */
export class HostStore {
  private constructor (readonly dir: string, readonly store: Corestore, readonly readOnly: boolean, private readonly lockFd: number) {}

  /** RocksDB's directory (DIR/db). */
  get dbDir (): string { return join(this.dir, 'db') }

  /** rocksdb-native's root session (for currentWalFile). */
  get rocks (): WalSource { return internals(this.store).rocks }

  /** Maps a storage error from this store to the HostError an operator can act on (STORE_FAILED when unknown). */
  problem (err: unknown): HostError {
    return toHostError(this.dir, err, this.readOnly)
  }

  /** Like problem(), but gives back errors that are not about the store as they are. */
  explain (err: unknown): unknown {
    if (err instanceof HostError || storeProblem(err, this.dbDir).kind === 'other') return err
    return this.problem(err)
  }

  static async open (dir: string, opts: { readOnly?: boolean } = {}): Promise<HostStore> {
    const readOnly = opts.readOnly === true
    const existing = fs.existsSync(join(dir, 'db', 'CURRENT')) || fs.existsSync(join(dir, 'CORESTORE'))
    const lockFd = readOnly ? sharedLock(dir) : -1
    const storage = Hypercore.defaultStorage(dir, { walRecoveryMode: TOLERATE_CORRUPTED_TAIL_RECORDS, readOnly, createIfMissing: !existing && !readOnly })
    ;(storage as unknown as StorageInternals)._maybeRecoverLater = () => {}
    const store = new Corestore(storage, { readOnly })
    try {
      await store.ready()
    } catch (err) {
      await store.close().catch(() => {})
      if (lockFd !== -1) fs.closeSync(lockFd)
      throw toHostError(dir, err, readOnly)
    }
    return new HostStore(dir, store, readOnly, lockFd)
  }

  async close (): Promise<void> {
    await this.store.close().catch(() => {})
    if (this.lockFd !== -1) fs.closeSync(this.lockFd)
  }
}

function internals (store: Corestore): StorageInternals {
  return (store as unknown as { storage: StorageInternals }).storage
}

/** A shared lock on DIR/CORESTORE, held while an auditor reads; HOST_RUNNING when a host holds it. */
function sharedLock (dir: string): number {
  const path = join(dir, 'CORESTORE')
  if (!fs.existsSync(path)) return -1 // no host ever locked this store (it writes the file before opening)
  const fd = fs.openSync(path, 'r')
  if (fsx.tryLock(fd, 0, 0, { shared: true })) return fd
  fs.closeSync(fd)
  throw HostError.HOST_RUNNING(dir)
}

function toHostError (dir: string, err: unknown, readOnly: boolean): HostError {
  if (err instanceof HostError) return err
  const problem = storeProblem(err, join(dir, 'db'))
  switch (problem.kind) {
    case 'damaged': return HostError.STORE_DAMAGED(dir, problem, err)
    case 'full': return HostError.DISK_FULL(dir, freeBytes(dir), err)
    case 'locked': return readOnly ? HostError.HOST_RUNNING(dir, err) : HostError.DIR_LOCKED(dir, err)
    case 'copied': return HostError.DIR_COPIED(dir, err)
    case 'denied': return HostError.DIR_UNUSABLE(dir, err)
    default: return HostError.STORE_FAILED(dir, err)
  }
}
