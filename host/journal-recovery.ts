// Start-up: the calls the answer journal (answer-journal.ts) holds and the call log does not. They were
// answered before the host stopped, and had not reached the cores yet; the committer writes them
// (commit.ts, complete()) before the host serves or replicates anything.
// The journal overlaps the log where the cores caught up: there, each journaled entry must be the log's
// entry at the same index, byte for byte. A journal that starts after the log ends means answered calls
// are missing (STORE_BEHIND); content that does not hash to what its entry names is damage, and so is a
// journal whose chain breaks before a whole record of calls the log lacks.
import { join } from 'node:path'
import { decodeEntry, type CallEntry, type CallLog } from './call-log.js'
import type { Answered } from './commit.js'
import type { Change } from './drive-files.js'
import { readJournal, JOURNAL_FILE } from './answer-journal.js'
import { readWindow } from './block-reader.js'
import { HostError } from './errors.js'
import { StateRoot } from './state-root.js'
import { writeAheadLogs } from './store-problem.js'

/** The journaled calls the log lacks, oldest first, with their file content checked against their entries. */
export async function journaledCalls (dir: string, log: CallLog): Promise<Answered[]> {
  const { records, stray } = readJournal(dir, log.key)
  const length = log.length
  const damaged = (detail: string) => HostError.STORE_DAMAGED(dir, { part: 'the answer journal', files: [JOURNAL_FILE], detail })
  if (stray !== null && stray.start + stray.entries > length) {
    const last = records.at(-1)
    const upTo = last === undefined ? 'its first record cannot be read' : `its records break off after entry ${last.start + last.entries.length - 1}`
    throw damaged(`${upTo}, and a whole record at byte ${stray.offset} beyond holds answered calls ${stray.start}..${stray.start + stray.entries - 1} that the call log lacks`)
  }
  if (records.length === 0) return []
  if (records[0].start > length) {
    throw HostError.STORE_BEHIND(dir, `the call log ends at entry ${length}, but the answered calls in ${JOURNAL_FILE} start at entry ${records[0].start}`, writeAheadLogs(join(dir, 'db')))
  }
  const missing: Answered[] = []
  const overlap: Array<{ index: number, block: Buffer }> = []
  for (const record of records) {
    let at = 0
    for (let i = 0; i < record.entries.length; i++) {
      const index = record.start + i
      const block = record.entries[i]
      const entry = decodeEntry(block, index, log.key)
      if (entry.type !== 'call') throw damaged(`entry ${index} is a '${entry.type}' entry, and the journal holds only calls`)
      const changes: Change[] = []
      const hashes: Array<Uint8Array | null> = []
      for (const [path, content] of entry.changes) {
        if (content === null || typeof content === 'string') {
          changes.push([path, content === null ? null : new Uint8Array(Buffer.from(content, 'base64'))])
          hashes.push(null)
          continue
        }
        const data = record.content.subarray(at, at + content.size)
        at += content.size
        const hash = StateRoot.hashContent(data)
        if (data.byteLength !== content.size || Buffer.from(hash).toString('hex') !== content.sha256) throw damaged(`the content of ${path} in entry ${index} does not hash to ${content.sha256}`)
        changes.push([path, new Uint8Array(data.buffer, data.byteOffset, data.byteLength)])
        hashes.push(hash)
      }
      if (index < length) overlap.push({ index, block })
      else missing.push({ entry: entry as CallEntry, block, changes, hashes })
    }
  }
  await checkOverlap(log, overlap, damaged)
  return missing
}

/** Each journaled entry the log already holds must be the log's entry at that index. */
async function checkOverlap (log: CallLog, overlap: ReadonlyArray<{ index: number, block: Buffer }>, damaged: (detail: string) => Error): Promise<void> {
  if (overlap.length === 0) return
  const from = overlap[0].index
  const blocks = await readWindow(log.core, from, overlap[overlap.length - 1].index + 1)
  for (const { index, block } of overlap) {
    if (blocks[index - from]?.equals(block) !== true) throw damaged(`entry ${index} of the call log is not the answered call the journal holds for it`)
  }
}
