// The answer journal: a file beside the store (DIR/JOURNAL) that makes a group of calls durable in one write.
// A group's encoded log entries and the bytes of its new file content go into one record, written with one
// writev and one fdatasync; then its callers are answered. The cores (call log, files archive) are written
// behind it (commit.ts), and a host that stops before they were holds the rest here: start-up writes every
// journaled entry the log lacks (with its file changes) before it serves or replicates anything.
//
// Records follow each other from offset 0, each naming the log index of its first entry; a record is read
// only if its checksum holds and it starts where the one before it ended (a newer whole record past a break
// means damage: decodeRecords). Once the cores hold everything the journal does and are synced (the WAL
// fdatasync and the acknowledged record, acknowledged.ts), the journal starts again at offset 0: what lies
// after the new records is older, so it starts at a lower index and ends the chain, and a torn write fails
// its checksum.
//
// Record: 'NVJ1' | u32 LE body length | u32 LE crc32 of the body | body.
// Body: u32 LE header length | header JSON { key, start, entries: [bytes...] } | the entries | the content.
// The content is the bytes of each change that writes a file, in entry and change order; each entry names
// its content by sha256 and size (call-log.ts), which start-up checks before it writes anything.
import { crc32 } from 'node:zlib'
import fs from 'node:fs'
import { join } from 'node:path'
import { durableFs, openOrCreate } from './durable-fs.js'

export const JOURNAL_FILE = 'JOURNAL'
const MAGIC = Buffer.from('NVJ1', 'latin1')
const PREFIX = 12

/** One journaled group: the log index of its first entry, its encoded entries, and its new file content. */
export interface JournalRecord { start: number, entries: Buffer[], content: Uint8Array[] }

/** The record's bytes, as the parts one writev sends (no copy of entries or content). */
export function encodeRecord (key: string, record: JournalRecord): Buffer[] {
  const header = Buffer.from(JSON.stringify({ key, start: record.start, entries: record.entries.map((e) => e.byteLength) }), 'utf8')
  const headerLength = Buffer.alloc(4)
  headerLength.writeUInt32LE(header.byteLength)
  const body: Uint8Array[] = [headerLength, header, ...record.entries, ...record.content]
  let crc = 0
  let length = 0
  for (const part of body) {
    crc = crc32(part, crc)
    length += part.byteLength
  }
  const prefix = Buffer.alloc(PREFIX)
  MAGIC.copy(prefix, 0)
  prefix.writeUInt32LE(length, 4)
  prefix.writeUInt32LE(crc, 8)
  return [prefix, ...body.map((part) => Buffer.from(part.buffer, part.byteOffset, part.byteLength))]
}

type DecodedRecord = { start: number, entries: Buffer[], content: Buffer }

/**
 * The journal as read: the chain of records, and the first whole record found after the chain broke that
 * is newer than the chain's end. Older records after the chain are normal (left over from before the
 * journal started again), and so is one torn record at its end (a write cut short, never answered); a newer
 * whole record means bytes in the middle were damaged, and the answered calls after them would be lost.
 */
export interface JournalChain { records: DecodedRecord[], stray: { offset: number, start: number, entries: number } | null }

/**
 * Reads `data` for the log with this key: from offset 0, records while each is whole, its checksum holds,
 * it is this log's, and it starts where the previous one ended. `content` is left as one buffer per record
 * (the caller splits it by the sizes its entries name).
 */
export function decodeRecords (data: Buffer, key: string): JournalChain {
  const records: DecodedRecord[] = []
  let at = 0
  for (;;) {
    const found = recordAt(data, at, key)
    const previous = records.at(-1)
    if (found === null || (previous !== undefined && found.record.start !== previous.start + previous.entries.length)) break
    records.push(found.record)
    at = found.next
  }
  const end = records.length === 0 ? 0 : records[records.length - 1].start + records[records.length - 1].entries.length
  for (let offset = data.indexOf(MAGIC, at + 1); offset !== -1; offset = data.indexOf(MAGIC, offset + 1)) {
    const found = recordAt(data, offset, key)
    if (found !== null && found.record.start >= end && found.record.entries.length > 0) {
      return { records, stray: { offset, start: found.record.start, entries: found.record.entries.length } }
    }
  }
  return { records, stray: null }
}

/** The record at `at` if it is whole, its checksum holds and it is this log's; with the offset after it. */
function recordAt (data: Buffer, at: number, key: string): { record: DecodedRecord, next: number } | null {
  if (at + PREFIX > data.byteLength || !data.subarray(at, at + 4).equals(MAGIC)) return null
  const length = data.readUInt32LE(at + 4)
  const body = data.subarray(at + PREFIX, at + PREFIX + length)
  if (body.byteLength !== length || length < 4 || crc32(body) !== data.readUInt32LE(at + 8)) return null
  const headerLength = body.readUInt32LE(0)
  let header: { key?: unknown, start?: unknown, entries?: unknown }
  try {
    header = JSON.parse(body.subarray(4, 4 + headerLength).toString('utf8')) as typeof header
  } catch {
    return null
  }
  const sizes = header.entries
  if (header.key !== key || !Number.isSafeInteger(header.start) || !Array.isArray(sizes) || !sizes.every((n) => Number.isSafeInteger(n) && n >= 0)) return null
  const entries: Buffer[] = []
  let offset = 4 + headerLength
  for (const size of sizes as number[]) {
    entries.push(body.subarray(offset, offset + size))
    offset += size
  }
  if (offset > body.byteLength) return null
  return { record: { start: header.start as number, entries, content: body.subarray(offset) }, next: at + PREFIX + length }
}

/** Reads the journal in dir (no records when there is none). */
export function readJournal (dir: string, key: string): JournalChain {
  try {
    return decodeRecords(fs.readFileSync(join(dir, JOURNAL_FILE)), key)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { records: [], stray: null }
    throw err
  }
}

/** The writable journal of a running host: open() once, append() each group, restart() when the cores caught up. */
export class AnswerJournal {
  private offset = 0

  private constructor (private fd: number, private readonly key: string, private readonly sync: boolean) {}

  /**
   * Opens (creating and syncing when missing) the journal in dir; writing starts at offset 0. `sync: false`
   * leaves each record to the kernel (no fdatasync: survives SIGKILL, not a power cut; for `nodevms dev` and the bench).
   */
  static async open (dir: string, key: string, opts: { sync?: boolean } = {}): Promise<AnswerJournal> {
    const fd = await openOrCreate(join(dir, JOURNAL_FILE))
    return new AnswerJournal(fd, key, opts.sync !== false)
  }

  /** Bytes written since the journal last started again. */
  get size (): number { return this.offset }

  /** Writes the record after the previous one and waits for fdatasync: then the group is durable. */
  async append (record: JournalRecord): Promise<void> {
    const parts = encodeRecord(this.key, record)
    const bytes = parts.reduce((sum, p) => sum + p.byteLength, 0)
    await writev(this.fd, parts, this.offset)
    if (this.sync) await durableFs.fdatasync(this.fd)
    this.offset += bytes
  }

  /** The next record goes to offset 0. Only once the cores hold, durably, everything written here. */
  restart (): void {
    this.offset = 0
  }

  async close (): Promise<void> {
    const fd = this.fd
    this.fd = -1
    if (fd !== -1) await durableFs.close(fd)
  }
}

/** writev at a position, all of it (a short write continues where it stopped). */
async function writev (fd: number, parts: Buffer[], position: number): Promise<void> {
  let rest = parts
  let at = position
  while (rest.length > 0) {
    const written = await new Promise<number>((resolve, reject) => fs.writev(fd, rest, at, (err, n) => err ? reject(err) : resolve(n)))
    at += written
    let skip = written
    const left: Buffer[] = []
    for (const part of rest) {
      if (skip >= part.byteLength) { skip -= part.byteLength; continue }
      left.push(skip > 0 ? part.subarray(skip) : part)
      skip = 0
    }
    if (written === 0 && left.length > 0) throw new Error(`short write to the journal at ${at}`)
    rest = left
  }
}
