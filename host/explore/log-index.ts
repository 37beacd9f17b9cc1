// What the explorer keeps of every entry, in columns of a few bytes each: the kind, the gas, whether the
// call failed and how its caller is known. They feed the chart of the whole log; rows and details are read
// from the log itself when the page asks. The index reads only blocks that are already local, so it never
// waits on a host, and keeps up with the fetch while the replay is still behind.
import type { CallEntry, CallLog, LogEntry } from '../index.js'
import type { CallerKind, EntryKind, ScriptFacts } from './page/wire.js'

const KINDS: EntryKind[] = ['init', 'call', 'restart', 'upgrade']
const CALLERS: CallerKind[] = ['anonymous', 'debug', 'signed']
const FAILED = 4 // flag bit beside the caller kind (bits 0-1)

export function callerKind (entry: CallEntry): CallerKind {
  if (entry.auth !== undefined && 'pubkey' in entry.auth) return 'signed'
  return entry.caller === null ? 'anonymous' : 'debug'
}

export class LogIndex {
  private kinds = new Uint8Array(1024)
  private gas = new Float64Array(1024)
  private flags = new Uint8Array(1024)
  private readonly boundaries: number[] = [] // indexes of restart and upgrade entries
  private count = 0
  private reading: Promise<void> | null = null
  script: ScriptFacts | null = null

  /** Entries indexed: every one below this is local and can be shown. */
  get length (): number { return this.count }

  kindAt (index: number): EntryKind { return KINDS[this.kinds[index]] }
  gasAt (index: number): number { return this.gas[index] }
  failedAt (index: number): boolean { return (this.flags[index] & FAILED) !== 0 }
  callerAt (index: number): CallerKind { return CALLERS[this.flags[index] & 3] }
  /** Restart and upgrade entries, in log order. */
  get restartsAndUpgrades (): readonly number[] { return this.boundaries }

  /** Indexes the entries that arrived since the last call, up to the log's local contiguous length. */
  catchUp (log: CallLog): Promise<void> {
    this.reading ??= this.read(log).finally(() => { this.reading = null })
    return this.reading
  }

  private async read (log: CallLog): Promise<void> {
    const end = Math.min(log.core.contiguousLength, log.length)
    if (end <= this.count) return
    for await (const entry of log.read(this.count, end)) this.add(entry)
  }

  add (entry: LogEntry): void {
    const i = this.count
    if (i === this.kinds.length) this.grow()
    this.kinds[i] = KINDS.indexOf(entry.type)
    if (entry.type === 'call') {
      this.gas[i] = entry.gas
      this.flags[i] = CALLERS.indexOf(callerKind(entry)) | (entry.error !== undefined ? FAILED : 0)
    } else {
      if (entry.type !== 'init') this.boundaries.push(i)
      const filename = entry.type === 'restart' ? this.script?.filename ?? '' : entry.filename.slice(0, 1024)
      const filesKey = entry.type === 'init' ? entry.filesKey : this.script?.filesKey ?? ''
      this.script = { filename, sourceHash: entry.sourceHash, engine: entry.engine, mode: entry.mode, limits: entry.limits, filesKey }
    }
    this.count++
  }

  /** The log was truncated to `length` entries: forget the ones after it (the host may write others). */
  truncate (length: number): void {
    this.count = Math.min(this.count, length)
    while (this.boundaries.length > 0 && this.boundaries[this.boundaries.length - 1] >= length) this.boundaries.pop()
  }

  private grow (): void {
    const size = this.kinds.length * 2
    const kinds = new Uint8Array(size)
    kinds.set(this.kinds)
    const gas = new Float64Array(size)
    gas.set(this.gas)
    const flags = new Uint8Array(size)
    flags.set(this.flags)
    this.kinds = kinds
    this.gas = gas
    this.flags = flags
  }
}
