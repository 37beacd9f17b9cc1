// The files as the next call must see them: the drive, plus the changes of calls that are executed
// but not yet durable (group commit). Layers leave oldest first, as their groups land on the drive.
//
// Two things spare the drive most reads, and stay exact because the host is the drive's only writer
// (a path's drive content changes only when a layer holding it lands, and shift() is told so):
// - a content cache (LRU, bounded by bytes) of files read or written;
// - an index of every file path, loaded by the first list(), so listings and misses never touch the drive.
import type { Files } from '../engine/index.js'
import type { Change, ContentHashes } from './drive-files.js'
import { StateRoot } from './state-root.js'

export const DEFAULT_CACHE_BYTES = 32 * 1024 * 1024
const MAX_CACHED_FILES = 100_000

function byCodeUnit (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** Sorted file paths with prefix listing. */
class PathIndex {
  private readonly paths: string[]
  constructor (sorted: string[]) { this.paths = sorted }

  has (path: string): boolean {
    const i = this.lowerBound(path)
    return this.paths[i] === path
  }

  apply (path: string, exists: boolean): void {
    const i = this.lowerBound(path)
    const found = this.paths[i] === path
    if (exists && !found) this.paths.splice(i, 0, path)
    else if (!exists && found) this.paths.splice(i, 1)
  }

  under (prefix: string): string[] {
    const out: string[] = []
    for (let i = this.lowerBound(prefix); i < this.paths.length && this.paths[i].startsWith(prefix); i++) out.push(this.paths[i])
    return out
  }

  private lowerBound (path: string): number {
    let lo = 0
    let hi = this.paths.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.paths[mid] < path) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}

export class PendingFiles implements Files, ContentHashes {
  private readonly layers: Array<Map<string, Uint8Array | null>> = []
  private readonly cache = new Map<string, Uint8Array | null>() // drive content; null: known missing
  private cacheBytes = 0
  private index: PathIndex | null = null
  private indexing: Promise<PathIndex> | null = null
  private landedWhileIndexing: Change[] = []

  constructor (private readonly base: Files & Partial<ContentHashes>, private readonly maxCacheBytes = DEFAULT_CACHE_BYTES) {}

  /** Adds one call's net changes on top. */
  push (changes: readonly Change[]): void {
    if (changes.length > 0) this.layers.push(new Map(changes))
  }

  /** Drops the oldest layers once their changes are on the drive, keeping their content cached. */
  shift (calls: ReadonlyArray<readonly Change[]>): void {
    for (const changes of calls) {
      if (changes.length === 0) continue
      this.layers.shift()
      for (const [path, data] of changes) {
        this.remember(path, data)
        this.index?.apply(path, data !== null)
        if (this.indexing !== null && this.index === null) this.landedWhileIndexing.push([path, data])
      }
    }
  }

  async get (path: string): Promise<Uint8Array | null> {
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const layer = this.layers[i]
      if (layer.has(path)) return layer.get(path) ?? null
    }
    const cached = this.cache.get(path)
    if (cached !== undefined) {
      this.cache.delete(path) // most recently used goes last
      this.cache.set(path, cached)
      return cached
    }
    if (this.index !== null && !this.index.has(path)) return null
    const data = await this.base.get(path)
    if (!this.inLayers(path)) this.remember(path, data)
    return data
  }

  async contentHash (path: string): Promise<Uint8Array | null> {
    if (this.inLayers(path) || this.cache.has(path) || (this.index !== null && !this.index.has(path)) || typeof this.base.contentHash !== 'function') {
      const data = await this.get(path)
      return data === null ? null : StateRoot.hashContent(data)
    }
    return this.base.contentHash(path)
  }

  async put (): Promise<void> {
    throw new Error('PendingFiles is read-only: calls write through a FilesTransaction')
  }

  async del (): Promise<void> {
    throw new Error('PendingFiles is read-only: calls write through a FilesTransaction')
  }

  async list (dir: string): Promise<string[]> {
    const prefix = dir === '/' ? '/' : dir + '/'
    const index = this.index ?? await this.loadIndex()
    const found = index.under(prefix)
    if (this.layers.length === 0) return found
    const paths = new Set(found)
    for (const layer of this.layers) {
      for (const [path, data] of layer) {
        if (!path.startsWith(prefix)) continue
        if (data === null) paths.delete(path)
        else paths.add(path)
      }
    }
    return [...paths].sort(byCodeUnit)
  }

  private loadIndex (): Promise<PathIndex> {
    // Changes that land while the listing runs are applied again afterwards: adds and removes are idempotent.
    this.indexing ??= this.base.list('/').then((paths) => {
      const index = new PathIndex([...paths].sort(byCodeUnit))
      for (const [path, data] of this.landedWhileIndexing) index.apply(path, data !== null)
      this.landedWhileIndexing = []
      this.index = index
      return index
    }, (err) => {
      this.indexing = null
      this.landedWhileIndexing = []
      throw err
    })
    return this.indexing
  }

  private inLayers (path: string): boolean {
    return this.layers.some((layer) => layer.has(path))
  }

  private remember (path: string, data: Uint8Array | null): void {
    const old = this.cache.get(path)
    if (old !== undefined) {
      this.cache.delete(path)
      this.cacheBytes -= old?.byteLength ?? 0
    }
    const size = data?.byteLength ?? 0
    if (size > this.maxCacheBytes / 4) return // big files are read from the drive each time
    this.cache.set(path, data)
    this.cacheBytes += size
    for (const [oldest, bytes] of this.cache) {
      if (this.cacheBytes <= this.maxCacheBytes && this.cache.size <= MAX_CACHED_FILES) break
      this.cache.delete(oldest)
      this.cacheBytes -= bytes?.byteLength ?? 0
    }
  }
}
