// The files archive as it was at one version, for calls replayed from the log (restore.ts): each replayed
// call reads the files at the version its entry says it started from. The version moves forward call by
// call; a checkout of the drive is opened only when a read reaches the drive at a version not yet open
// (PendingFiles in front of it serves what earlier replayed calls read or wrote).
import type Hyperdrive from 'hyperdrive'
import type { Files } from '../engine/index.js'
import { DriveFiles, type ContentHashes } from './drive-files.js'

export class FilesAtVersion implements Files, ContentHashes {
  /** The version the next read sees. */
  version: number
  private view: DriveFiles | null = null
  private viewVersion = -1

  constructor (private readonly drive: Hyperdrive, version: number) {
    this.version = version
  }

  async get (path: string): Promise<Uint8Array | null> {
    return (await this.checkout()).get(path)
  }

  async list (dir: string): Promise<string[]> {
    return (await this.checkout()).list(dir)
  }

  async contentHash (path: string): Promise<Uint8Array | null> {
    return (await this.checkout()).contentHash(path)
  }

  async put (): Promise<void> {
    throw new Error('FilesAtVersion is read-only: replayed calls write through a FilesTransaction')
  }

  async del (): Promise<void> {
    throw new Error('FilesAtVersion is read-only: replayed calls write through a FilesTransaction')
  }

  async close (): Promise<void> {
    const view = this.view
    this.view = null
    await view?.close()
  }

  private async checkout (): Promise<DriveFiles> {
    if (this.view !== null && this.viewVersion === this.version) return this.view
    await this.close()
    this.view = DriveFiles.checkout(this.drive, this.version)
    this.viewVersion = this.version
    return this.view
  }
}
