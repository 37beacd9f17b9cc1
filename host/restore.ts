// Restoring the script's memory by replay: log entries → engine, each call with its recorded caller, oracles,
// time and seed, over the files as they were when it ran (files-at-version.ts). Calls that had no effect
// (limit-hit.ts) are skipped. Every replayed call must end as its entry says (result or error, oracles, gas,
// file changes); one that does not means the log is damaged or foreign, and the host refuses to serve memory
// the log does not explain (RESTORE_DIVERGED).
import type Hyperdrive from 'hyperdrive'
import { compareRecords, type Engine, type Files } from '../engine/index.js'
import { sameContent, toCallRecord, type CallEntry, type CallLog, type LogChange } from './call-log.js'
import { FilesTransaction, type Change } from './drive-files.js'
import { HostError } from './errors.js'
import { FilesAtVersion } from './files-at-version.js'
import { asLogged, beginsEmptyMemory, hadNoEffect } from './limit-hit.js'
import { PendingFiles } from './pending-files.js'

export interface ReplayRange {
  log: CallLog
  drive: Hyperdrive
  /** The engine, holding the memory after entries 0 .. from - 1. */
  engine: Engine
  /** Points the engine's System.files at a call's files. */
  useFiles: (files: Files) => void
  from: number
  to: number
  /** Progress lines, once the replay has taken more than a second. */
  progress: (line: string) => void
}

export interface ReplayCount { replayed: number, skipped: number, ms: number }

const PROGRESS_MS = 1000

/** Calls replayed together at most: they cross to the engine's worker as one batch. */
const WINDOW = 512

/**
 * Replays entries from..to-1 into the engine; throws RESTORE_DIVERGED at the first call that ends otherwise.
 * Consecutive calls whose entries log no file changes start from the same files version and see the same
 * files, so they are queued together (one crossing to the engine's worker per batch, not per call) over one
 * shared transaction, which must end with no changes. A call that logged changes runs alone, over its own.
 */
export async function replayLog (range: ReplayRange): Promise<ReplayCount> {
  const { log, drive, engine, from, to } = range
  const started = performance.now()
  const base = new FilesAtVersion(drive, 0)
  const files = new PendingFiles(base)
  const progress = new Progress(to - from, started, range.progress)
  const count: ReplayCount = { replayed: 0, skipped: 0, ms: 0 }
  let window: Array<{ entry: CallEntry, index: number }> = []
  // One window runs in the engine while the log is read for the next.
  let inFlight: Promise<void> | null = null
  const settle = async () => {
    const running = inFlight
    inFlight = null
    await running
  }
  const flush = async () => {
    if (window.length === 0) return
    const batch = window
    window = []
    await settle()
    base.version = batch[0].entry.filesVersion
    const tx = new FilesTransaction(files)
    range.useFiles(tx)
    const through = batch[batch.length - 1].index + 1 - from
    inFlight = replayWindow(engine, batch, tx).then(() => {
      count.replayed += batch.length
      progress.tick(through)
    })
    inFlight.catch(() => {}) // awaited by settle()
  }
  let index = from
  try {
    for await (const entry of log.read(from, to)) {
      if (entry.type !== 'call') {
        await flush()
        await settle()
        if (beginsEmptyMemory(entry)) throw HostError.LOG_CORRUPT(log.key, `entry ${index} starts the script's memory afresh, inside the stretch of log being restored from entry ${from}`)
      } else if (hadNoEffect(entry)) {
        count.skipped++
      } else if (entry.changes.length === 0) {
        if (window.length > 0 && (window.length >= WINDOW || window[0].entry.filesVersion !== entry.filesVersion)) await flush()
        window.push({ entry, index })
      } else {
        await flush()
        await settle()
        base.version = entry.filesVersion - entry.changes.length
        const tx = new FilesTransaction(files)
        range.useFiles(tx)
        const changes = await replayCall(engine, entry, index, tx)
        files.push(changes)
        files.shift([changes])
        count.replayed++
      }
      index++
      if (window.length === 0 && inFlight === null) progress.tick(index - from)
    }
    await flush()
    await settle()
  } finally {
    await (inFlight as Promise<void> | null)?.catch(() => {})
    await base.close()
  }
  count.ms = performance.now() - started
  progress.done(to - from)
  return count
}

/** Calls that logged no file changes, queued together over one transaction: each must end as logged, and none may change a file. */
async function replayWindow (engine: Engine, batch: Array<{ entry: CallEntry, index: number }>, tx: FilesTransaction): Promise<void> {
  const logged = batch.map(({ entry }) => toCallRecord(entry))
  const settled = await Promise.allSettled(batch.map(({ entry }, i) => engine.call(entry.method, entry.args, { caller: entry.caller, replay: logged[i] })))
  for (let i = 0; i < batch.length; i++) {
    const { entry, index } = batch[i]
    const outcome = settled[i]
    if (outcome.status === 'rejected') {
      const err = outcome.reason as Error
      throw HostError.RESTORE_DIVERGED(index, entry.method, 'error', entry.error ?? null, { name: err.name, message: err.message })
    }
    const diff = compareRecords(logged[i], asLogged(outcome.value))
    if (diff !== null) throw HostError.RESTORE_DIVERGED(index, entry.method, diff.field, diff.expected, diff.actual)
  }
  const changed = tx.changes()
  if (changed.length > 0) {
    const { entry, index } = batch[0]
    throw HostError.RESTORE_DIVERGED(index, entry.method, 'changes', `no file changes in entries ${index} to ${index + batch.length - 1}, as logged`, `changes to ${changed.map(([path]) => path).join(', ')}`)
  }
}

/** One call, replayed: its net file changes, after checking it ended as its entry says. */
async function replayCall (engine: Engine, entry: CallEntry, index: number, tx: FilesTransaction): Promise<Change[]> {
  const logged = toCallRecord(entry)
  let record
  try {
    record = asLogged(await engine.call(entry.method, entry.args, { caller: entry.caller, replay: logged }))
  } catch (err) {
    throw HostError.RESTORE_DIVERGED(index, entry.method, 'error', entry.error ?? null, { name: (err as Error).name, message: (err as Error).message })
  }
  const diff = compareRecords(logged, record)
  if (diff !== null) throw HostError.RESTORE_DIVERGED(index, entry.method, diff.field, diff.expected, diff.actual)
  const changes = tx.changes()
  const differing = differingPaths(entry.changes, changes)
  if (differing.length > 0) throw HostError.RESTORE_DIVERGED(index, entry.method, 'changes', `changes to ${differing.join(', ')} as logged`, 'other changes')
  return changes
}

/** Paths whose logged change is not the replayed one (by content hash), in either list. */
function differingPaths (logged: readonly LogChange[], replayed: readonly Change[]): string[] {
  const made = new Map(replayed)
  const out = logged.filter(([path, content]) => !made.has(path) || !sameContent(content, made.get(path) ?? null)).map(([path]) => path)
  const named = new Set(logged.map(([path]) => path))
  for (const [path] of replayed) if (!named.has(path)) out.push(path)
  return out
}

/** Progress on a replay: silent for its first second, then a line a second, and one at the end. */
class Progress {
  private shownAt = 0
  private shown = -1

  constructor (private readonly total: number, private readonly started: number, private readonly write: (line: string) => void) {}

  tick (done: number): void {
    const now = performance.now()
    if (now - this.started < PROGRESS_MS || now - this.shownAt < PROGRESS_MS) return
    this.shownAt = now
    this.shown = done
    this.write(this.line(done, now))
  }

  done (done: number): void {
    if (this.shownAt !== 0 && this.shown !== done) this.write(this.line(done, performance.now()))
  }

  private line (done: number, now: number): string {
    const rate = Math.round(done / Math.max((now - this.started) / 1000, 0.001))
    return `Restoring the script's memory: ${done.toLocaleString('en-US')} / ${this.total.toLocaleString('en-US')} entries (${rate.toLocaleString('en-US')} entries/s)`
  }
}
