// Durable before the reply. rocksdb-native writes with sync off and has no per-write sync, so after a group's
// write the host fdatasyncs RocksDB's current write-ahead log itself: the group is then on stable storage.
// When RocksDB has switched to a new log (it does when a memtable fills), the previous one is synced once
// more, and db/ is fsynced so that the new file's name is durable too.
import { join } from 'node:path'
import { durableFs, syncDirectory } from './durable-fs.js'

/** What WalSync needs of rocksdb-native: the live WAL file, its path relative to the db directory. */
export interface WalSource { currentWalFile (): Promise<{ path: string, number: number }> }

export class WalSync {
  private fd = -1
  private number = -1

  constructor (private readonly rocks: WalSource, private readonly dbDir: string) {}

  /** Resolves once everything RocksDB wrote before the call is on stable storage. */
  async sync (): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const wal = await this.rocks.currentWalFile()
      if (wal.number === this.number) return await durableFs.fdatasync(this.fd)
      let fd: number
      try {
        fd = await durableFs.open(join(this.dbDir, wal.path), 'r')
      } catch (err) {
        // Switched and deleted between the two calls: ask again.
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' && attempt < 3) continue
        throw err
      }
      const previous = this.fd
      this.fd = fd
      this.number = wal.number
      if (previous !== -1) {
        // What was written before the switch is in the previous log (RocksDB syncs it before deleting it).
        await durableFs.fdatasync(previous)
        await durableFs.close(previous)
      }
      await durableFs.fdatasync(fd)
      await syncDirectory(this.dbDir)
      return
    }
  }

  async close (): Promise<void> {
    const fd = this.fd
    this.fd = -1
    this.number = -1
    if (fd !== -1) await durableFs.close(fd)
  }
}
