// Where the script's memory comes from: the stretch of log since the newest entry that began with empty memory
// (init, upgrade, or a restart that did not restore), and the init or upgrade entry whose script runs.
// Both indexes are kept in the log core's user data (commit.ts, MEMORY_KEY) with each lifecycle entry; a log
// written before that (where every lifecycle entry began with empty memory) is read backwards instead.
import type { CallLog, InitEntry, LogEntry, UpgradeEntry } from './call-log.js'
import { MEMORY_KEY } from './commit.js'
import { HostError } from './errors.js'
import { beginsEmptyMemory } from './limit-hit.js'

export interface MemorySegment {
  /** The newest entry that began with empty memory: the memory is what the entries after it made it. */
  start: number
  /** The newest init or upgrade entry: the script's source and file name. */
  sourceIndex: number
  source: InitEntry | UpgradeEntry
}

const WINDOW = 64

/** The segment of a log whose newest lifecycle entry is at lifecycleIndex. */
export async function readSegment (log: CallLog, lifecycleIndex: number): Promise<MemorySegment> {
  const data = await log.core.getUserData(MEMORY_KEY)
  if (data?.byteLength === 8) {
    const start = data.readUInt32LE(0)
    const sourceIndex = data.readUInt32LE(4)
    if (start <= lifecycleIndex && sourceIndex <= start) {
      const [startEntry, source] = await Promise.all([log.get(start), log.get(sourceIndex)])
      if (beginsEmptyMemory(startEntry) && (source.type === 'init' || source.type === 'upgrade')) return { start, sourceIndex, source }
    }
  }
  return await scanSegment(log, lifecycleIndex)
}

/** Reads the log backwards from lifecycleIndex for the segment's start and its source. */
async function scanSegment (log: CallLog, lifecycleIndex: number): Promise<MemorySegment> {
  let start: { index: number, entry: LogEntry } | null = null
  for (let end = lifecycleIndex + 1; end > 0; end -= WINDOW) {
    const first = Math.max(0, end - WINDOW)
    const entries = await Promise.all(Array.from({ length: end - first }, (_, i) => log.get(first + i)))
    for (let i = entries.length - 1; i >= 0; i--) {
      const entry = entries[i]
      if (start === null && beginsEmptyMemory(entry)) start = { index: first + i, entry }
      if (start !== null && (entry.type === 'init' || entry.type === 'upgrade')) {
        return { start: start.index, sourceIndex: first + i, source: entry }
      }
    }
  }
  throw HostError.LOG_CORRUPT(log.key, 'it has no init entry')
}
