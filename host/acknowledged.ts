// The acknowledged record: a small file beside the store (DIR/ACKNOWLEDGED) saying how long the call log,
// the files archive's index and its blobs were when the host last answered a call, with each one's tree hash.
// It is written and fdatasynced after the group is durable and before any reply, so it never claims more than
// the store holds; start-up and verify --dir refuse a store that holds less. It guards against what RocksDB
// would otherwise "recover" silently: a damaged or truncated write-ahead log, a deleted log file, a store
// rolled back behind the host's back. It lives outside RocksDB for that reason.
//
// Layout: two 1 KiB slots, written alternately (a torn write can only spoil the slot being written, and the
// other still holds the previous record). A slot is one line of JSON, one line with its sha256, zero padding.
import fs from 'node:fs'
import { durableFs, openOrCreate } from './durable-fs.js'
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import type Hyperdrive from 'hyperdrive'
import type Hypercore from 'hypercore'
import { HostError } from './errors.js'
import { writeAheadLogs } from './store-problem.js'

export const ACKNOWLEDGED_FILE = 'ACKNOWLEDGED'
const SLOT = 1024
const VERSION = 1

/** One core as acknowledged: its length and the tree hash (hex) at that length. */
export interface AckedCore { length: number, treeHash: string }

export interface Acknowledged {
  /** The call log's key (hex): a record from another store is not this one's. */
  logKey: string
  log: AckedCore
  files: AckedCore
  blobs: AckedCore
}

interface Slot extends Acknowledged { v: number, seq: number }

/** A core whose tree hash at a length can be asked (a Hypercore). */
export interface HashedCore { length: number, treeHash (length?: number): Promise<Buffer> }

function encodeSlot (slot: Slot): Buffer {
  const json = JSON.stringify(slot)
  const text = `${json}\n${createHash('sha256').update(json).digest('hex')}\n`
  const buf = Buffer.alloc(SLOT)
  if (buf.write(text, 'utf8') !== Buffer.byteLength(text)) throw new Error('acknowledged record does not fit its slot')
  return buf
}

/** A slot's record; null when the slot was never written (all zeros); 'bad' when it is neither. */
function decodeSlot (buf: Buffer): Slot | null | 'bad' {
  if (buf.every((b) => b === 0)) return null
  const [json, hash] = buf.toString('utf8').split('\n')
  if (hash === undefined || createHash('sha256').update(json).digest('hex') !== hash) return 'bad'
  try {
    const slot = JSON.parse(json) as Slot
    return slot.v === VERSION && Number.isSafeInteger(slot.seq) ? slot : 'bad'
  } catch {
    return 'bad'
  }
}

/**
 * Reads the record in dir: null when there is no file (a directory from before this record, or a new one),
 * or when it was created and never written; throws STORE_DAMAGED when neither slot is readable.
 */
export function readAcknowledged (dir: string): Acknowledged | null {
  let data: Buffer
  try {
    data = fs.readFileSync(join(dir, ACKNOWLEDGED_FILE))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw err
  }
  const slots = [decodeSlot(data.subarray(0, SLOT)), decodeSlot(data.subarray(SLOT, 2 * SLOT))]
  const good = slots.filter((s): s is Slot => s !== null && s !== 'bad')
  if (good.length === 0) {
    if (slots.every((s) => s === null) && data.length <= 2 * SLOT) return null
    throw HostError.STORE_DAMAGED(dir, { part: 'the acknowledged record', files: [ACKNOWLEDGED_FILE], detail: 'neither of its two slots holds a record with a matching checksum' })
  }
  const { v, seq, ...record } = good.reduce((a, b) => (b.seq > a.seq ? b : a))
  return record
}

/**
 * Why the store's cores fall short of the acknowledged record, or null when each is at least as long and
 * hashes to the acknowledged tree hash at the acknowledged length.
 */
export async function shortfall (ack: Acknowledged, logKey: string, cores: { log: HashedCore, files: HashedCore, blobs: HashedCore | null }): Promise<string | null> {
  if (ack.logKey !== logKey) return `the record is for call log ${ack.logKey}, but this store's call log is ${logKey}`
  const named: Array<[string, AckedCore, HashedCore | null]> = [['call log', ack.log, cores.log], ['files archive index', ack.files, cores.files], ['files archive blobs', ack.blobs, cores.blobs]]
  for (const [name, acked, core] of named) {
    if (acked.length === 0) continue
    const length = core?.length ?? 0
    if (core === null || length < acked.length) return `the ${name} has ${length} blocks, but the host acknowledged calls up to ${acked.length}: acknowledged calls are missing`
    const hash = (await core.treeHash(acked.length)).toString('hex')
    if (hash !== acked.treeHash) return `the ${name}'s first ${acked.length} blocks hash to ${hash.slice(0, 16)}…, not to the acknowledged ${acked.treeHash.slice(0, 16)}…: its history changed`
  }
  return null
}

/**
 * Refuses (STORE_BEHIND) a store whose call log or files archive holds less than its host acknowledged.
 * Returns false when there is no record to check against (a new directory, or one from an older nodevms).
 */
export async function checkAcknowledged (dir: string, log: Hypercore, drive: Hyperdrive): Promise<boolean> {
  const ack = readAcknowledged(dir)
  if (ack === null) return false
  const blobs = ack.blobs.length > 0 && drive.db.core.length > 0 ? ((await drive.getBlobs()) as { core: Hypercore }).core : null
  const problem = await shortfall(ack, log.key!.toString('hex'), { log, files: drive.core, blobs })
  if (problem !== null) throw HostError.STORE_BEHIND(dir, problem, writeAheadLogs(join(dir, 'db')))
  return true
}

/** The writable record of a running host: open() once, write() after every durable group, close(). */
export class AcknowledgedWriter {
  private seq = 0

  private constructor (private fd: number, last: number) {
    this.seq = last
  }

  /** Opens (creating and syncing when missing) the record in dir. */
  static async open (dir: string): Promise<AcknowledgedWriter> {
    // Both slots are allocated at creation, so a later write never needs space or changes the file's size.
    const fd = await openOrCreate(join(dir, ACKNOWLEDGED_FILE), Buffer.alloc(2 * SLOT))
    const data = await durableFs.read(fd, 2 * SLOT, 0)
    const seqs = [decodeSlot(data.subarray(0, SLOT)), decodeSlot(data.subarray(SLOT, 2 * SLOT))].map((s) => (s !== null && s !== 'bad' ? s.seq : 0))
    return new AcknowledgedWriter(fd, Math.max(...seqs))
  }

  /** Writes the record into the older slot and waits for fdatasync. */
  async write (record: Acknowledged): Promise<void> {
    const seq = this.seq + 1
    const buf = encodeSlot({ v: VERSION, seq, ...record })
    await durableFs.write(this.fd, buf, (seq % 2) * SLOT)
    await durableFs.fdatasync(this.fd)
    this.seq = seq
  }

  async close (): Promise<void> {
    const fd = this.fd
    this.fd = -1
    if (fd !== -1) await durableFs.close(fd)
  }
}
