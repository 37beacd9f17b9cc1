// System.files semantics, implemented once, in the engine's worker, over what it knows of the caller's Files
// (MemoryFiles here, a Hyperdrive in the host).
// Directories are implicit (a directory exists while a file is below it); mkdir makes an empty one
// last by writing a zero-byte marker file, DIR_MARKER, which listings hide.
import type { Files } from './types.js'

export const DIR_MARKER = '.nodevms-dir'

/** A file-system error as the guest sees it: an Error with this name, message and code. */
export interface GuestError { name: string, message: string, code?: string }

export class FileOpError extends Error {
  readonly guest: GuestError
  constructor (guest: GuestError) {
    super(guest.message)
    this.guest = guest
  }
}

const notFound = (path: string) => new FileOpError({ name: 'NotFoundError', code: 'ENOENT', message: `No such file or directory: ${path}` })
const notADirectory = (path: string) => new FileOpError({ name: 'NotADirectoryError', code: 'ENOTDIR', message: `Not a directory: ${path}` })
const isADirectory = (path: string) => new FileOpError({ name: 'IsADirectoryError', code: 'EISDIR', message: `Is a directory: ${path}` })
const notEmpty = (path: string) => new FileOpError({ name: 'DirectoryNotEmptyError', code: 'ENOTEMPTY', message: `Directory not empty: ${path} (use rmdir(path, { recursive: true }))` })
const exists = (path: string) => new FileOpError({ name: 'AlreadyExistsError', code: 'EEXIST', message: `A file already exists at ${path}` })

/**
 * Normalises a guest path to '/a/b'. Relative paths are taken from the root; '.' segments and
 * repeated slashes are dropped. '..' that would leave the root, NUL bytes and the marker name are refused.
 */
export function normalizePath (input: unknown): string {
  if (typeof input !== 'string') throw new FileOpError({ name: 'TypeError', message: `A path must be a string, got ${typeof input}` })
  const bad = (reason: string) => new FileOpError({ name: 'InvalidPathError', code: 'EINVAL', message: `Invalid path ${JSON.stringify(input)}: ${reason}` })
  if (input.includes('\0')) throw bad('it contains a NUL byte')
  if (input.includes('\\')) throw bad('use / as the separator')
  const parts: string[] = []
  for (const seg of input.split('/')) {
    if (seg === '' || seg === '.') continue
    if (seg === '..') {
      if (parts.length === 0) throw bad('it escapes the files root')
      parts.pop()
      continue
    }
    if (seg === DIR_MARKER) throw bad(`${DIR_MARKER} is reserved`)
    parts.push(seg)
  }
  return '/' + parts.join('/')
}

export const parentOf = (path: string) => path.slice(0, path.lastIndexOf('/')) || '/'
const prefixOf = (dir: string) => (dir === '/' ? '/' : dir + '/')

export interface Stat { type: 'file' | 'directory', size: number }

/**
 * A Files answered at once: what the engine's worker runs System.files on, its reads served from what it
 * already knows of the files or by the caller's thread (worker-files.ts).
 */
export interface SyncFiles {
  get (path: string): Uint8Array | null
  put (path: string, data: Uint8Array): void
  del (path: string): void
  list (dir: string): string[]
}

/** The file-system operations behind System.files. Paths are normalised by the caller. */
export class FileSystem {
  constructor (readonly files: SyncFiles) {}

  readFile (path: string): Uint8Array {
    const data = this.files.get(path)
    if (data !== null) return data
    if (this.isDirectory(path)) throw isADirectory(path)
    throw notFound(path)
  }

  writeFile (path: string, data: Uint8Array): void {
    if (path === '/' || this.isDirectory(path)) throw isADirectory(path)
    this.assertParentsAreDirectories(path)
    this.files.put(path, data)
  }

  stat (path: string): Stat {
    if (path !== '/') {
      const data = this.files.get(path)
      if (data !== null) return { type: 'file', size: data.byteLength }
    }
    if (this.isDirectory(path)) return { type: 'directory', size: 0 }
    throw notFound(path)
  }

  readdir (path: string, recursive: boolean): string[] {
    const below = this.files.list(path)
    if (below.length === 0) {
      if (path !== '/' && this.files.get(path) !== null) throw notADirectory(path)
      if (path !== '/') throw notFound(path)
      return []
    }
    const prefix = prefixOf(path)
    const names = new Set<string>()
    for (const file of below) {
      const rel = file.slice(prefix.length)
      const segs = rel.split('/')
      if (!recursive) {
        if (segs.length > 1 || segs[0] !== DIR_MARKER) names.add(segs[0])
        continue
      }
      // Recursive listings name files and directories by their path relative to `path`.
      for (let i = 1; i < segs.length; i++) names.add(segs.slice(0, i).join('/'))
      if (segs[segs.length - 1] !== DIR_MARKER) names.add(rel)
    }
    return [...names].sort()
  }

  mkdir (path: string): void {
    if (path === '/') return
    if (this.files.get(path) !== null) throw exists(path)
    if (this.isDirectory(path)) return
    this.assertParentsAreDirectories(path)
    this.files.put(`${path}/${DIR_MARKER}`, new Uint8Array(0))
  }

  unlink (path: string): void {
    if (this.files.get(path) === null) {
      if (this.isDirectory(path)) throw isADirectory(path)
      throw notFound(path)
    }
    this.files.del(path)
  }

  rmdir (path: string, recursive: boolean): void {
    if (path === '/') throw new FileOpError({ name: 'InvalidPathError', code: 'EINVAL', message: 'The files root cannot be removed' })
    const below = this.files.list(path)
    if (below.length === 0) {
      if (this.files.get(path) !== null) throw notADirectory(path)
      throw notFound(path)
    }
    const marker = `${path}/${DIR_MARKER}`
    if (!recursive && below.some((f) => f !== marker)) throw notEmpty(path)
    for (const file of below) this.files.del(file)
  }

  private isDirectory (path: string): boolean {
    if (path === '/') return true
    return this.files.list(path).length > 0
  }

  private assertParentsAreDirectories (path: string): void {
    for (let dir = parentOf(path); dir !== '/'; dir = parentOf(dir)) {
      if (this.files.get(dir) !== null) throw notADirectory(dir)
    }
  }
}

/** An in-memory files archive, for tests and for replays. */
export class MemoryFiles implements Files {
  /** Path to content (a subclass may change it in other ways than put/del: the verifier's replayed archive). */
  protected readonly map = new Map<string, Uint8Array>()

  async get (path: string): Promise<Uint8Array | null> {
    return this.map.get(path) ?? null
  }

  async put (path: string, data: Uint8Array): Promise<void> {
    this.map.set(path, data.slice())
  }

  async del (path: string): Promise<void> {
    this.map.delete(path)
  }

  async list (dir: string): Promise<string[]> {
    const prefix = prefixOf(dir)
    return [...this.map.keys()].filter((p) => p.startsWith(prefix)).sort()
  }

  /** Every file, sorted by path. */
  entries (): Array<[string, Uint8Array]> {
    return [...this.map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  }

  get size (): number { return this.map.size }
}
