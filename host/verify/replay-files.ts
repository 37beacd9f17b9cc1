// The replayed files archive. ReplayFiles runs each replayed call in a FilesTransaction over an in-memory
// archive, exactly as the host runs it over its drive, so the net changes (sorted, no-ops dropped) and the
// state root can be compared with the log entry.
import { MemoryFiles } from '../../engine/index.js'
import type { Files } from '../../engine/index.js'
import { FilesTransaction, StateRoot, type Change } from '../index.js'

/**
 * The replayed files archive. Like the host's, it is read-only outside a call (a script's top level
 * cannot write); a call writes through its own transaction, and commit() applies its net changes.
 */
export class ReplayFiles implements Files {
  readonly base = new MemoryFiles()
  readonly root = new StateRoot()
  private tx: FilesTransaction | null = null

  get (path: string): Promise<Uint8Array | null> { return this.tx?.get(path) ?? this.base.get(path) }
  list (dir: string): Promise<string[]> { return this.tx?.list(dir) ?? this.base.list(dir) }
  async put (path: string, data: Uint8Array): Promise<void> { await this.writable().put(path, data) }
  async del (path: string): Promise<void> { await this.writable().del(path) }

  /** Starts a call: its writes stay in a transaction until commit() or discard(). */
  begin (): void {
    this.tx = new FilesTransaction(this.base)
  }

  /** The current call's net changes and their sha256s, not yet applied. */
  pending (): { changes: Change[], hashes: Array<Uint8Array | null> } {
    const tx = this.tx
    const changes = tx?.changes() ?? []
    return { changes, hashes: changes.map(([path]) => tx!.hashOf(path)) }
  }

  /** Drops the current call's writes. */
  discard (): void {
    this.tx = null
  }

  /** Applies the current call's net changes to the archive and its state root, and returns them. */
  async commit (): Promise<Change[]> {
    const tx = this.tx
    const changes = tx?.changes() ?? []
    this.tx = null
    for (const [path, data] of changes) {
      if (data === null) await this.base.del(path)
      else await this.base.put(path, data)
      this.root.set(path, tx!.hashOf(path))
    }
    return changes
  }

  private writable (): FilesTransaction {
    // The same refusal as the host's PendingFiles, so a script that catches it replays identically.
    if (this.tx === null) throw new Error('PendingFiles is read-only: calls write through a FilesTransaction')
    return this.tx
  }
}
