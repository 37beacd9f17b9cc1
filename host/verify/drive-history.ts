// The host's files archive as a history of changes: the drive side of the verifier. It reads hyperbee
// blocks by sequence number: block `seq` is the change that took the drive from version seq to seq + 1
// (see host/drive-files.ts), with the blob blocks each names.
import { createRequire } from 'node:module'
import type Hypercore from 'hypercore'
import type Hyperdrive from 'hyperdrive'
import { readWindow, readWindows, type Change } from '../index.js'
import { DifferenceBuilder, equalBytes, type FilesDifference } from './differences.js'
import { prefetch } from './prefetch.js'

// hyperdrive's own hyperbee, resolved from hyperdrive so both read the same block format.
const hyperdriveRequire = createRequire(createRequire(import.meta.url).resolve('hyperdrive'))
const BeeNode = hyperdriveRequire('hyperbee/lib/messages.js').Node as { decode (block: Buffer): { key: Uint8Array, value: Uint8Array | null } }

const HISTORY_WINDOW = 128 // drive changes read at once (their blobs too): bounds the verifier's memory
const MAX_BLOB_BLOCKS = 1 << 20

export type DriveChange = { path: string, data: Uint8Array | null } | { problem: string }
interface BeeNode { key: string | Buffer, value: { blob: unknown, linkname: unknown } | null }

/** A hyperbee node of the drive as a file change (hyperdrive keys are 'files' NUL path). */
async function toChange (drive: Hyperdrive, node: BeeNode, seq: number): Promise<DriveChange> {
  const key = String(node.key)
  const sep = key.indexOf('\0')
  const path = sep === -1 ? key : key.slice(sep + 1)
  if (!path.startsWith('/')) return { problem: `block ${seq} is not a file entry` }
  if (node.value === null) return { path, data: null }
  if (node.value.blob === null) return { problem: `block ${seq} makes ${path} a ${node.value.linkname !== null ? 'symlink' : 'blobless entry'}` }
  return { path, data: await drive.get(node as never) }
}

/** The change in the drive's block `seq`: the one that took it from version seq to seq + 1. */
export async function driveChangeAt (drive: Hyperdrive, seq: number): Promise<DriveChange> {
  const node = await drive.db.getBySeq(seq) as BeeNode | null
  return node === null ? { problem: `no block ${seq}` } : await toChange(drive, node, seq)
}

/** The drive's changes in version order, blobs included, read a window ahead of the calls that check them. */
export class DriveHistory {
  private windows: AsyncGenerator<DriveChange[]> | null = null
  private buffered: DriveChange[] = []
  private next = 0
  private position = -1

  constructor (private readonly drive: Hyperdrive, private readonly window = HISTORY_WINDOW) {}

  /** The n changes that take the drive from version `from` to from + n. */
  async take (from: number, n: number): Promise<DriveChange[]> {
    const out: DriveChange[] = []
    let retried = false
    if (this.position !== from) await this.seek(from)
    while (out.length < n) {
      if (this.next < this.buffered.length) {
        out.push(this.buffered[this.next++])
        continue
      }
      const next = await this.windows!.next()
      if (next.done !== true) {
        this.buffered = next.value
        this.next = 0
        continue
      }
      if (retried) {
        out.push({ problem: `no block ${from + out.length}` })
        break
      }
      retried = true // the drive may have grown since the reader started
      await this.seek(from + out.length)
    }
    this.position = out.length < n ? -1 : from + n
    return out
  }

  async close (): Promise<void> {
    const windows = this.windows
    this.windows = null
    this.buffered = []
    this.next = 0
    this.position = -1
    await windows?.return(undefined)
  }

  private async seek (from: number): Promise<void> {
    await this.close()
    this.windows = prefetch(changeWindows(this.drive, from, this.drive.version, this.window), (w) => w, 2)
    this.position = from
  }
}

/** The drive's changes from version `from` to `to`, a window of blocks at a time, with their blobs. */
async function * changeWindows (drive: Hyperdrive, from: number, to: number, size: number): AsyncGenerator<DriveChange[]> {
  for await (const window of readWindows(drive.db.core as Hypercore, from, to, size)) {
    const nodes = window.map(({ index, value }) => decodeBeeBlock(index, value))
    yield await withBlobs(drive, nodes)
  }
}

interface DriveNode { seq: number, path: string, blob: BlobId | null, linkname: unknown, deleted: boolean }
interface BlobId { blockOffset: number, blockLength: number, byteLength: number }

/** A hyperbee block of the drive: a file change, or why it is not one. */
function decodeBeeBlock (seq: number, block: Buffer | null): DriveNode | { problem: string } {
  if (block === null) return { problem: `no block ${seq}` }
  let key: string
  let value: { blob?: BlobId | null, linkname?: unknown } | null
  try {
    const node = BeeNode.decode(block)
    key = Buffer.from(node.key).toString('utf8')
    value = node.value === null || node.value === undefined ? null : JSON.parse(Buffer.from(node.value).toString('utf8'))
  } catch {
    return { problem: `block ${seq} is not a hyperbee node` }
  }
  const sep = key.indexOf('\0')
  const path = sep === -1 ? key : key.slice(sep + 1)
  if (!path.startsWith('/')) return { problem: `block ${seq} is not a file entry` }
  if (value === null) return { seq, path, blob: null, linkname: null, deleted: true }
  if (typeof value !== 'object') return { problem: `block ${seq} is not a file entry` }
  return { seq, path, blob: value.blob ?? null, linkname: value.linkname ?? null, deleted: false }
}

/** The changes of one window, their blobs read with as few storage scans as the layout allows. */
async function withBlobs (drive: Hyperdrive, nodes: Array<DriveNode | { problem: string }>): Promise<DriveChange[]> {
  const files = nodes.filter((n): n is DriveNode => 'path' in n && n.blob !== null && validBlob(n.blob))
  const blocks = new Map<number, Buffer | null>()
  if (files.length > 0) {
    const blobs = await drive.getBlobs() as unknown as { core: Hypercore }
    const needed = files.reduce((sum, n) => sum + n.blob!.blockLength, 0)
    const lo = Math.min(...files.map((n) => n.blob!.blockOffset))
    const hi = Math.max(...files.map((n) => n.blob!.blockOffset + n.blob!.blockLength))
    // Blobs are appended in the order of the changes, so one window's blobs are usually one range.
    const ranges = hi - lo <= needed * 2 + 16 ? [[lo, hi]] : files.map((n) => [n.blob!.blockOffset, n.blob!.blockOffset + n.blob!.blockLength])
    for (const [start, end] of ranges) {
      const values = await readWindow(blobs.core, start, end)
      values.forEach((value, k) => blocks.set(start + k, value))
    }
  }
  return nodes.map((node): DriveChange => {
    if (!('path' in node)) return node
    if (node.deleted) return { path: node.path, data: null }
    if (node.blob === null) return { problem: `block ${node.seq} makes ${node.path} a ${node.linkname !== null ? 'symlink' : 'blobless entry'}` }
    if (!validBlob(node.blob)) return { problem: `block ${node.seq} names a malformed blob for ${node.path}` }
    const parts: Buffer[] = []
    for (let i = node.blob.blockOffset; i < node.blob.blockOffset + node.blob.blockLength; i++) {
      const part = blocks.get(i)
      if (part === null || part === undefined) return { problem: `block ${node.seq} names blob block ${i}, which is not available` }
      parts.push(part)
    }
    return { path: node.path, data: parts.length === 1 ? parts[0] : Buffer.concat(parts) }
  })
}

const validBlob = (blob: BlobId): boolean => Number.isSafeInteger(blob.blockOffset) && blob.blockOffset >= 0 &&
  Number.isSafeInteger(blob.blockLength) && blob.blockLength >= 0 && blob.blockLength <= MAX_BLOB_BLOCKS

/**
 * Checks that the drive's blocks from version `before` on are exactly these changes, in order: the
 * archive's history then holds what the log says at every version it names.
 */
export async function compareDriveHistory (history: DriveHistory, before: number, changes: readonly Change[]): Promise<FilesDifference | null> {
  const out = new DifferenceBuilder()
  const found = await history.take(before, changes.length)
  for (let i = 0; i < changes.length; i++) {
    const [path, data] = changes[i]
    const change = found[i] ?? { problem: `no block ${before + i}` }
    if ('problem' in change) out.add(path, data, new Uint8Array(Buffer.from(change.problem)))
    else if (change.path !== path) out.add(path, data, new Uint8Array(Buffer.from(`a change to ${change.path}`)))
    else if (!equalBytes(change.data, data)) out.add(path, data, change.data)
  }
  return out.result()
}
