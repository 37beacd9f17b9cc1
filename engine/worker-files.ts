// The files as a batch's running call sees them, in the engine's worker, where System.files runs. What the
// batch has read or written is known here; only the rest is asked of the caller's thread, one round trip
// each. Writes are not waited for: they go with the worker's next message, and the caller applies them, in
// order, to the Files of the call that made them before it acts on anything after them.
// What is known holds for one batch only: while it runs, its calls are the only writers of the files (the
// caller's thread serves the batch and does nothing else with them). It is forgotten after a call that
// ended in an error or hit a limit, since the caller may drop that call's writes, and before a call over
// another archive (worker.ts).
import { parentOf, type SyncFiles } from './files.js'
import type { WriteList } from './protocol.js'

/** Known content and listings are forgotten past this many bytes; bigger files are never kept. */
const KNOWN_BYTES = 8 * 1024 * 1024
const KNOWN_FILE_BYTES = KNOWN_BYTES / 4
/** Writes waiting for the next message are sent on their own past this many bytes (paths and content), or this many writes. */
const FLUSH_BYTES = 192 * 1024
const FLUSH_WRITES = 4096

/**
 * What keeping a string costs, counted against KNOWN_BYTES. Paths count as much as content: a script that
 * reads a great many missing paths, or lists a great many empty directories, fills the worker just as well.
 */
const textBytes = (text: string): number => text.length * 2

/** What keeping a path's content (null: known missing) costs. */
const entryBytes = (path: string, data: Uint8Array | null): number => textBytes(path) + (data?.byteLength ?? 0)

/** The caller's thread could not read or write the files: the call cannot go on (a storage fault). */
export class FilesFault extends Error {}

/** The worker's link to its caller's thread. Each method throws FilesFault when the files failed there. */
export interface FilesLink {
  get (path: string): Uint8Array | null
  list (dir: string): string[]
  /** Sends the writes waiting (takeWrites()) now, and waits until the caller has applied them. */
  flush (): void
  /** The running call's place among the records not sent yet (a write's `call` in the WriteList). */
  readonly call: number
}

export interface PendingWrites { writes: WriteList, bytes: Uint8Array }

export class WorkerFiles implements SyncFiles {
  /** Content by path (null: known missing). */
  private readonly known = new Map<string, Uint8Array | null>()
  /** Every path below a directory, sorted by code unit, by directory. */
  private readonly listings = new Map<string, string[]>()
  private knownBytes = 0
  private writes: WriteList = []
  private contents: Uint8Array[] = []
  /** What the waiting writes will take in the message that carries them: their paths and content. */
  private writeBytes = 0

  constructor (private readonly link: FilesLink) {}

  get (path: string): Uint8Array | null {
    const known = this.known.get(path)
    if (known !== undefined) return known
    const data = this.link.get(path)
    this.remember(path, data)
    return data
  }

  list (dir: string): string[] {
    let paths = this.listings.get(dir)
    if (paths === undefined) {
      paths = this.link.list(dir)
      this.listings.set(dir, paths)
      this.grow(paths.reduce((n, p) => n + textBytes(p), textBytes(dir)))
    }
    return paths.slice() // the caller may write while it walks it (rmdir)
  }

  put (path: string, data: Uint8Array): void {
    this.write(path, data)
  }

  del (path: string): void {
    this.write(path, null)
  }

  /** The writes not sent yet, for the worker's next message (null: none); they are the caller's from here. */
  takeWrites (): PendingWrites | null {
    if (this.writes.length === 0) return null
    const taken = { writes: this.writes, bytes: Buffer.concat(this.contents) }
    this.writes = []
    this.contents = []
    this.writeBytes = 0
    return taken
  }

  /** Forgets what is known (not the writes waiting): the next reads ask the caller. */
  forget (): void {
    this.known.clear()
    this.listings.clear()
    this.knownBytes = 0
  }

  private write (path: string, data: Uint8Array | null): void {
    this.writes.push([this.link.call, path, data === null ? -1 : data.byteLength])
    this.writeBytes += textBytes(path) + (data?.byteLength ?? 0)
    if (data !== null) this.contents.push(data)
    this.remember(path, data)
    // The listings that hold path are its ancestors' (a lookup each, however many listings are known).
    for (let dir = parentOf(path); ; dir = parentOf(dir)) {
      const paths = this.listings.get(dir)
      if (paths !== undefined) this.grow(place(paths, path, data !== null))
      if (dir === '/') break
    }
    if (this.writeBytes >= FLUSH_BYTES || this.writes.length >= FLUSH_WRITES) this.link.flush()
  }

  private remember (path: string, data: Uint8Array | null): void {
    const old = this.known.get(path)
    if (old !== undefined) this.knownBytes -= entryBytes(path, old)
    if (data !== null && data.byteLength > KNOWN_FILE_BYTES) {
      this.known.delete(path)
      return
    }
    this.known.set(path, data)
    this.grow(entryBytes(path, data))
  }

  private grow (bytes: number): void {
    this.knownBytes += bytes
    if (this.knownBytes > KNOWN_BYTES) this.forget()
  }
}

/** Adds or removes path in a sorted listing; the bytes that adds (negative: frees). */
function place (paths: string[], path: string, exists: boolean): number {
  let lo = 0
  let hi = paths.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (paths[mid] < path) lo = mid + 1
    else hi = mid
  }
  const found = paths[lo] === path
  if (exists && !found) {
    paths.splice(lo, 0, path)
    return textBytes(path)
  }
  if (!exists && found) {
    paths.splice(lo, 1)
    return -textBytes(path)
  }
  return 0
}
