// Start-up: what the tail of the log says, and crash recovery.
//
// The group commit (commit.ts) writes a group's blobs, drive entries and log entries in one atom, so the
// log is never ahead of the drive on a store written by it. A log that is ahead (a directory written
// before the atom, or a store that lost writes) is completed here: exactly the logged changes whose
// filesVersion is above the drive's version are applied again, without running anything. Entries from
// before content references carry their bytes (base64); newer ones name them by sha256 and size, and
// their bytes are the last blobs of the files archive (written in the same atom as the entries, in
// change order): each is checked against its hash before it is applied.
import type Hypercore from 'hypercore'
import type Hyperdrive from 'hyperdrive'
import { sameContent, type CallEntry, type CallLog, type ContentRef, type LogEntry } from './call-log.js'
import { BLOB_BLOCK, LIFECYCLE_KEY } from './commit.js'
import { applyChanges, type Change } from './drive-files.js'
import { HostError } from './errors.js'
import { readWindow } from './block-reader.js'

/** What start-up learned from the tail of the log. */
export interface LogTail {
  /** The newest init, restart or upgrade entry, and its index. */
  lifecycle: LogEntry
  lifecycleIndex: number
  /** The newest entry of all. */
  last: LogEntry
  /** Call entries, oldest first, whose changes are logged but not on the drive. */
  unapplied: CallEntry[]
}

const WINDOW = 64

/**
 * Reads the log backwards until it has the newest lifecycle entry and every call entry the drive has
 * not seen (filesVersion above driveVersion; filesVersion never decreases along the log).
 */
export async function readTail (log: CallLog, driveVersion: number): Promise<LogTail> {
  const hinted = await lifecycleHint(log)
  const unapplied: CallEntry[] = []
  let last: LogEntry | null = null
  for (let end = log.length; end > 0; end -= WINDOW) {
    const start = Math.max(0, end - WINDOW)
    const entries = await Promise.all(Array.from({ length: end - start }, (_, i) => log.get(start + i)))
    for (let i = entries.length - 1; i >= 0; i--) {
      const entry = entries[i]
      last ??= entry
      if (entry.type !== 'call') return { lifecycle: entry, lifecycleIndex: start + i, last, unapplied: unapplied.reverse() }
      if (entry.filesVersion > driveVersion) {
        if (entry.changes.length > 0) unapplied.push(entry)
      } else if (hinted !== null && start + i > hinted.index) {
        // every older entry is on the drive, and the hint names the newest lifecycle
        return { lifecycle: hinted.entry, lifecycleIndex: hinted.index, last, unapplied: unapplied.reverse() }
      }
    }
  }
  throw HostError.LOG_CORRUPT(log.key, 'it has no init entry')
}

async function lifecycleHint (log: CallLog): Promise<{ index: number, entry: LogEntry } | null> {
  const data = await log.core.getUserData(LIFECYCLE_KEY)
  if (data?.byteLength !== 4) return null
  const index = data.readUInt32LE(0)
  if (index >= log.length) return null
  const entry = await log.get(index)
  return entry.type === 'call' ? null : { index, entry }
}

/** Re-applies logged changes that a crash kept off the drive. Returns how many calls were recovered. */
export async function recover (drive: Hyperdrive, unapplied: readonly CallEntry[]): Promise<number> {
  const contents = await loggedContents(drive, unapplied)
  for (let i = 0; i < unapplied.length; i++) {
    const version = await applyChanges(drive, [contents[i]])
    if (version !== unapplied[i].filesVersion) throw HostError.FILES_VERSION_MISMATCH(unapplied[i].filesVersion, version)
  }
  return unapplied.length
}

const blocksOf = (ref: ContentRef): number => Math.ceil(ref.size / BLOB_BLOCK)

/** The bytes of every unapplied change, read before anything is applied (applying appends blobs). */
async function loggedContents (drive: Hyperdrive, unapplied: readonly CallEntry[]): Promise<Change[][]> {
  const refs = unapplied.flatMap((entry) => entry.changes.map(([, content]) => content)).filter((c): c is ContentRef => c !== null && typeof c !== 'string')
  let blobs: Hypercore | null = null
  let at = 0
  if (refs.length > 0) {
    blobs = ((await drive.getBlobs()) as { core: Hypercore }).core
    at = blobs.length - refs.reduce((sum, ref) => sum + blocksOf(ref), 0)
  }
  const out: Change[][] = []
  for (const entry of unapplied) {
    const changes: Change[] = []
    for (const [path, content] of entry.changes) {
      if (content === null || typeof content === 'string') {
        changes.push([path, content === null ? null : new Uint8Array(Buffer.from(content, 'base64'))])
        continue
      }
      const n = blocksOf(content)
      const parts = at >= 0 && blobs !== null ? await readWindow(blobs, at, at + n) : []
      const data = parts.length === n && parts.every((p) => p !== null) ? Buffer.concat(parts as Buffer[]) : null
      if (data === null || !sameContent(content, data)) throw HostError.FILES_BEHIND_LOG(entry.filesVersion, path, content.sha256)
      changes.push([path, new Uint8Array(data.buffer, data.byteOffset, data.byteLength)])
      at += n
    }
    out.push(changes)
  }
  return out
}
