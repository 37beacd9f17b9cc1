// A full read of a host's store: every key and value RocksDB holds for the cores, so that damage anywhere in
// it (a table file's data block, a blob) is found. RocksDB checks each block's checksum as it reads it; opening
// the store checks only the write-ahead log, the manifest and each table file's index.
// verify --dir runs it before replaying; exec runs it in the background after start-up, since it costs about
// 6 µs per key (9 keys per logged call), and stops the host when it finds damage.


import type { HostStore } from './host-store.js'

interface Iterable { iterator (range: object, opts: { capacity: number }): AsyncIterable<{ key: Buffer, value: Buffer | null }> & { destroy (): void } }

export interface AuditResult { keys: number, bytes: number, ms: number }

const CAPACITY = 256 // keys per read from RocksDB: one batch of JS work between turns of the event loop

/** Reads every key of the store. Throws STORE_DAMAGED naming the damaged file. stop() ends it early. */
export class StoreAudit {
  private stopped = false
  private iterator: { destroy (): void } | null = null

  constructor (private readonly host: HostStore) {}

  async run (): Promise<AuditResult> {
    const started = performance.now()
    let keys = 0
    let bytes = 0
    const db = (this.host.store as unknown as { storage: { db: Iterable } }).storage.db
    const iterator = db.iterator({}, { capacity: CAPACITY })
    this.iterator = iterator
    try {
      for await (const { key, value } of iterator) {
        keys++
        bytes += key.byteLength + (value?.byteLength ?? 0)
        if (keys % CAPACITY === 0) await new Promise((resolve) => setImmediate(resolve))
        if (this.stopped) break
      }
    } catch (err) {
      if (this.stopped) return { keys, bytes, ms: performance.now() - started }
      throw this.host.problem(err)
    } finally {
      this.iterator = null
    }
    return { keys, bytes, ms: performance.now() - started }
  }

  stop (): void {
    this.stopped = true
    this.iterator?.destroy()
  }
}


