// Waiting out a full disk. When a write fails for lack of space, RocksDB refuses every later write until the
// store is reopened (it resumes by itself only with 64 MiB free), and the host's memory is ahead of its store.
// So the host refuses calls, and this watch checks the free space every few seconds; once there is room it
// asks the host to reopen its store from the log, until that succeeds.
import { statfsSync } from 'node:fs'

export class DiskFullWatch {
  static readonly INTERVAL_MS = 2000
  /** Free bytes below which a reopen is not even tried: it would fail writing its restart entry. */
  static readonly MIN_FREE = 1024 * 1024
  private timer: NodeJS.Timeout | null = null
  private trying = false

  constructor (private readonly dir: string, private readonly reopen: () => Promise<boolean>) {}

  get waiting (): boolean { return this.timer !== null }

  start (): void {
    if (this.timer !== null) return
    this.timer = setInterval(() => { void this.tick() }, DiskFullWatch.INTERVAL_MS)
    this.timer.unref()
  }

  stop (): void {
    if (this.timer !== null) clearInterval(this.timer)
    this.timer = null
  }

  private async tick (): Promise<void> {
    if (this.trying || freeBytes(this.dir) < DiskFullWatch.MIN_FREE) return
    this.trying = true
    try {
      if (await this.reopen()) this.stop()
    } finally {
      this.trying = false
    }
  }
}

/** Bytes an unprivileged writer may still use on dir's file system (Infinity when unknown). */
export function freeBytes (dir: string): number {
  try {
    const stats = statfsSync(dir)
    return stats.bavail * stats.bsize
  } catch {
    return Infinity
  }
}
