// The replayed files archive. Each replayed call runs in its own FilesTransaction over an in-memory archive,
// exactly as the host runs it over its drive, so the net changes (sorted, no-ops dropped) and the state root
// can be compared with the log entry.
import { MemoryFiles, type Files } from '../../engine/index.js'
import { FilesTransaction, StateRoot, type Change } from '../index.js'

/** The archive as the replay left it: files in memory, changed only by apply(). */
export class ReplayedArchive extends MemoryFiles {
  override async put (): Promise<void> { throw readOnly() }
  override async del (): Promise<void> { throw readOnly() }

  /** A call's net changes, at once (no await: the next call's transaction reads them right after). */
  apply (changes: readonly Change[]): void {
    for (const [path, data] of changes) {
      if (data === null) this.map.delete(path)
      else this.map.set(path, data)
    }
  }
}

/**
 * The replayed files: the archive, its state root, and a transaction per call. Outside a call the files are
 * read-only (a script's top level cannot write), as the host's are.
 */
export class ReplayFiles implements Files {
  readonly base = new ReplayedArchive()
  readonly root = new StateRoot()

  get (path: string): Promise<Uint8Array | null> { return this.base.get(path) }
  list (dir: string): Promise<string[]> { return this.base.list(dir) }
  async put (): Promise<void> { throw readOnly() }
  async del (): Promise<void> { throw readOnly() }

  /** A call's own files: it reads what the calls applied before it left, and writes only to itself. */
  transaction (): FilesTransaction {
    return new FilesTransaction(this.base)
  }

  /** Applies a call's net changes (from its transaction) to the archive and its state root. */
  apply (tx: FilesTransaction, changes: readonly Change[]): void {
    this.base.apply(changes)
    for (const [path] of changes) this.root.set(path, tx.hashOf(path))
  }
}

// The same refusal as the host's PendingFiles, so a script that catches it replays identically.
function readOnly (): Error {
  return new Error('PendingFiles is read-only: calls write through a FilesTransaction')
}
