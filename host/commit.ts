// Log-first group commit, and crash recovery at start-up.
//
// A call's entry (with its file changes) is appended to the call log first; then each call's changes
// are applied to the drive as one bee batch. Calls that execute while a flush runs wait for the next
// flush, which appends all their entries at once. A caller hears its result only after both steps.
// A crash between the two steps leaves entries whose filesVersion is above the drive's version:
// recover() re-applies exactly those, from the log, without running anything.
import type Hyperdrive from 'hyperdrive'
import { decodeChanges, type CallEntry, type CallLog, type LogEntry } from './call-log.js'
import { applyChanges, type Change } from './drive-files.js'
import { HostError } from './errors.js'
import type { PendingFiles } from './pending-files.js'

interface Waiting { entry: CallEntry, changes: readonly Change[], resolve: () => void, reject: (err: Error) => void }

export class GroupCommitter {
  private waiting: Waiting[] = []
  private flushing: Promise<void> | null = null
  private failure: Error | null = null
  /** Entries appended per flush, for diagnostics and the bench. */
  readonly groupSizes: number[] = []

  constructor (
    private readonly log: CallLog,
    private readonly drive: Hyperdrive,
    private readonly pending: PendingFiles
  ) {}

  /** Resolves once the entry is in the log and its changes are on the drive. */
  submit (entry: CallEntry, changes: readonly Change[]): Promise<void> {
    if (this.failure !== null) return Promise.reject(this.failure)
    const done = new Promise<void>((resolve, reject) => this.waiting.push({ entry, changes, resolve, reject }))
    this.kick()
    return done
  }

  /** Appends lifecycle entries (restart, upgrade) directly; nothing may be waiting. */
  async appendNow (entry: LogEntry): Promise<void> {
    await this.idle()
    await this.log.append([entry])
  }

  get failed (): Error | null { return this.failure }

  async idle (): Promise<void> {
    while (this.flushing !== null) await this.flushing
  }

  private kick (): void {
    if (this.flushing !== null || this.waiting.length === 0 || this.failure !== null) return
    this.flushing = this.flush().finally(() => {
      this.flushing = null
      this.kick()
    })
  }

  private async flush (): Promise<void> {
    const group = this.waiting.splice(0)
    this.groupSizes.push(group.length)
    const changes = group.map((w) => w.changes)
    try {
      await this.log.append(group.map((w) => w.entry))
      await applyChanges(this.drive, changes)
      this.pending.shift(changes)
    } catch (err) {
      // Memory is ahead of storage now: refuse everything until a restart recovers from the log.
      this.failure = HostError.COMMIT_FAILED(err)
      for (const w of [...group, ...this.waiting.splice(0)]) w.reject(this.failure)
      return
    }
    for (const w of group) w.resolve()
  }
}

/** What start-up learned from the tail of the log. */
export interface LogTail {
  /** The newest init, restart or upgrade entry. */
  lifecycle: LogEntry
  /** The newest entry of all. */
  last: LogEntry
  /** Call entries, oldest first, whose changes are logged but not on the drive. */
  unapplied: CallEntry[]
}

const WINDOW = 256

/** Reads the log backwards to the newest lifecycle entry, collecting calls the drive has not seen. */
export async function readTail (log: CallLog, driveVersion: number): Promise<LogTail> {
  const unapplied: CallEntry[] = []
  let last: LogEntry | null = null
  for (let end = log.length; end > 0; end -= WINDOW) {
    const start = Math.max(0, end - WINDOW)
    const entries = await Promise.all(Array.from({ length: end - start }, (_, i) => log.get(start + i)))
    for (let i = entries.length - 1; i >= 0; i--) {
      const entry = entries[i]
      last ??= entry
      if (entry.type !== 'call') return { lifecycle: entry, last, unapplied: unapplied.reverse() }
      if (entry.changes.length > 0 && entry.filesVersion > driveVersion) unapplied.push(entry)
    }
  }
  throw HostError.LOG_CORRUPT(log.key, 'it has no init entry')
}

/** Re-applies logged changes that a crash kept off the drive. Returns how many calls were recovered. */
export async function recover (drive: Hyperdrive, unapplied: readonly CallEntry[]): Promise<number> {
  for (const entry of unapplied) {
    const version = await applyChanges(drive, [decodeChanges(entry.changes)])
    if (version !== entry.filesVersion) throw HostError.FILES_VERSION_MISMATCH(entry.filesVersion, version)
  }
  return unapplied.length
}
