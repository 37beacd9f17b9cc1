// The verifier's side of the files: the replayed archive, and its comparisons with the host's drive.
//
// ReplayFiles runs each replayed call in a FilesTransaction over an in-memory archive, exactly as the
// host runs it over its drive, so the net changes (sorted, no-ops dropped) and the state root can be
// compared with the log entry. The drive side reads hyperbee blocks by sequence number: block `seq`
// is the change that took the drive from version seq to seq + 1 (see drive-files.ts).

import { createRequire } from 'node:module'
import type Hypercore from 'hypercore'
import type Hyperdrive from 'hyperdrive'
import { MemoryFiles } from '../engine/files.js'
import type { Files } from '../engine/types.js'
import type { LogChange } from './call-log.js'
import { DriveFiles, FilesTransaction, type Change } from './drive-files.js'
import { StateRoot } from './state-root.js'
import { readWindow, readWindows } from './block-reader.js'
import { prefetch } from './verify-prefetch.js'

// hyperdrive's own hyperbee, resolved from hyperdrive so both read the same block format.
const hyperdriveRequire = createRequire(createRequire(import.meta.url).resolve('hyperdrive'))
const BeeNode = hyperdriveRequire('hyperbee/lib/messages.js').Node as { decode (block: Buffer): { key: Uint8Array, value: Uint8Array | null } }

/** What a verifier shows of one file: a short preview of both sides (null: no such file). */
export interface FilePreview { path: string, expected: string | null, actual: string | null }

/** The paths that differ between two archives (or a log and an archive), with previews of a few. */
export interface FilesDifference {
  paths: string[]
  count: number
  previews: FilePreview[]
  /** compareFinalFiles: the state root of the archive's files, hashed from their bytes. */
  root?: string
}

const MAX_PATHS = 50
const MAX_PREVIEWS = 3
const PREVIEW_BYTES = 48
const HISTORY_WINDOW = 128 // drive changes read at once (their blobs too): bounds the verifier's memory
const MAX_BLOB_BLOCKS = 1 << 20

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

/** A short, printable preview of a file's bytes: its text when it is UTF-8, else hex. */
export function preview (data: Uint8Array | null): string | null {
  if (data === null) return null
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength)
  const head = buf.subarray(0, PREVIEW_BYTES)
  const text = head.toString('utf8')
  const printable = !text.includes('\uFFFD') && !/[\x00-\x08\x0E-\x1F\x7F]/.test(text)
  const more = buf.length > head.length ? `… (${buf.length} bytes)` : ''
  return printable ? JSON.stringify(text) + more : `hex ${head.toString('hex')}${more}`
}

const equalBytes = (a: Uint8Array | null, b: Uint8Array | null) =>
  a === null || b === null ? a === b : Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b)

class DifferenceBuilder {
  readonly diff: FilesDifference = { paths: [], count: 0, previews: [] }
  add (path: string, expected: Uint8Array | null, actual: Uint8Array | null): void {
    this.diff.count++
    if (this.diff.paths.length < MAX_PATHS) this.diff.paths.push(path)
    if (this.diff.previews.length < MAX_PREVIEWS) this.diff.previews.push({ path, expected: preview(expected), actual: preview(actual) })
  }

  result (): FilesDifference | null { return this.diff.count === 0 ? null : this.diff }
}

/** Paths where a call's logged changes and its replayed changes differ (expected: the replay). */
export function compareChanges (logged: readonly LogChange[], replayed: readonly Change[]): FilesDifference | null {
  const out = new DifferenceBuilder()
  const loggedByPath = new Map(logged.map(([path, data]) => [path, data === null ? null : new Uint8Array(Buffer.from(data, 'base64'))]))
  const replayedByPath = new Map(replayed)
  for (const path of [...new Set([...replayedByPath.keys(), ...loggedByPath.keys()])].sort(byCodeUnit)) {
    const want = replayedByPath.get(path)
    const got = loggedByPath.get(path)
    if (want === undefined || got === undefined || !equalBytes(want, got)) {
      out.add(path, want === undefined ? null : want, got === undefined ? null : got)
    }
  }
  // The same changes repeated or in another order still misdescribe the drive's history.
  const order = (changes: ReadonlyArray<readonly [string, unknown]>) => changes.map(([path]) => path).join('\n')
  if (out.result() === null && order(logged) !== order(replayed)) {
    out.diff.count++
    out.diff.paths.push(...logged.map(([path]) => path).slice(0, MAX_PATHS))
    out.diff.previews.push({ path: '(order)', expected: order(replayed).replaceAll('\n', ', '), actual: order(logged).replaceAll('\n', ', ') })
  }
  return out.result()
}

function byCodeUnit (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

type DriveChange = { path: string, data: Uint8Array | null } | { problem: string }
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

/** The changes the drive holds between versions from and to, each against the replayed file (expected). */
export async function driveChanges (drive: Hyperdrive, from: number, to: number, replayed: Files): Promise<FilesDifference> {
  const out = new DifferenceBuilder()
  for (let seq = Math.max(from, 1); seq < to; seq++) {
    const found = await driveChangeAt(drive, seq)
    if ('problem' in found) out.add(`(${found.problem})`, null, null)
    else out.add(found.path, await replayed.get(found.path), found.data)
  }
  return out.diff
}

/** Every path and byte of the replayed archive against the drive at version (expected: the replay). */
export async function compareFinalFiles (replayed: MemoryFiles, drive: Hyperdrive, version: number): Promise<FilesDifference | null> {
  const out = new DifferenceBuilder()
  const root = new StateRoot()
  const checkout = DriveFiles.checkout(drive, version)
  const read = async (path: string) => {
    const data = await checkout.get(path)
    if (data !== null) root.set(path, StateRoot.hashContent(data))
    return data
  }
  try {
    const mine = replayed.entries()
    const theirs = await checkout.list('/')
    let i = 0
    let j = 0
    while (i < mine.length || j < theirs.length) {
      const a = i < mine.length ? mine[i][0] : null
      const b = j < theirs.length ? theirs[j] : null
      if (b === null || (a !== null && a < b)) {
        out.add(a!, mine[i++][1], null)
      } else if (a === null || b < a) {
        out.add(b, null, await read(theirs[j++]))
      } else {
        const actual = await read(b)
        if (!equalBytes(mine[i][1], actual)) out.add(a, mine[i][1], actual)
        i++
        j++
      }
    }
  } finally {
    await checkout.close()
  }
  const diff = out.result()
  if (diff !== null) diff.root = root.digest()
  return diff
}
