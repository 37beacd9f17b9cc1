// The files as the next call must see them: the drive, plus the changes of calls that are executed
// and logged-to-be but not yet applied to the drive (group commit). Layers leave oldest first, as
// their batches land on the drive.
import type { Files } from '../engine/types.js'
import type { Change } from './drive-files.js'

export class PendingFiles implements Files {
  private readonly layers: Array<Map<string, Uint8Array | null>> = []

  constructor (private readonly base: Files) {}

  /** Adds one call's net changes on top. */
  push (changes: readonly Change[]): void {
    if (changes.length > 0) this.layers.push(new Map(changes))
  }

  /** Drops the oldest layers once their changes are on the base. */
  shift (calls: ReadonlyArray<readonly Change[]>): void {
    for (const changes of calls) if (changes.length > 0) this.layers.shift()
  }

  async get (path: string): Promise<Uint8Array | null> {
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const layer = this.layers[i]
      if (layer.has(path)) return layer.get(path) ?? null
    }
    return this.base.get(path)
  }

  async put (): Promise<void> {
    throw new Error('PendingFiles is read-only: calls write through a FilesTransaction')
  }

  async del (): Promise<void> {
    throw new Error('PendingFiles is read-only: calls write through a FilesTransaction')
  }

  async list (dir: string): Promise<string[]> {
    const paths = new Set(await this.base.list(dir))
    if (this.layers.length === 0) return [...paths]
    const prefix = dir === '/' ? '/' : dir + '/'
    for (const layer of this.layers) {
      for (const [path, data] of layer) {
        if (!path.startsWith(prefix)) continue
        if (data === null) paths.delete(path)
        else paths.add(path)
      }
    }
    return [...paths].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  }
}
