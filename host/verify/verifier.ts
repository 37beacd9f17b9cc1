// LogVerifier: replays a call log entry by entry in fresh engines, compares every entry with the replay,
// then the replayed files with the host's files archive, and names the first difference. It is
// incremental, as a mirror needs: advance() checks the entries appended since its last call,
// checkArchive() compares the archive at that point. verifyLog (verify-log.ts) is one run of it.
//
// The log is streamed (CallLog.read), so memory is flat in log length: the verifier holds the replayed
// files, their state root, and one engine. For every call it checks, in this order: the caller's
// signature; that the archive had no changes between the previous entry and this call; the record
// (result/error, oracle count, gas, deadline, rebuild); the net file changes; that the archive's blocks
// at those versions are those changes; the files version; the state root.
// A call that had no effect (it hit a limit: host/limit-hit.ts) is not run: its entry must have no file
// changes, and the files version and state root where the call before left them. The engine is kept across
// a restart that restored the script's memory, and replaced by a fresh one at every other lifecycle entry.

import type Hyperdrive from 'hyperdrive'
import { createEngine, ENGINE_NAME, ENGINE_VERSION, wasmSha256 } from '../../engine/index.js'
import type { Engine } from '../../engine/index.js'
import { hadNoEffect, HostError, sha256Hex, type CallEntry, type CallLog, type Change, type EngineInfo, type Limits, type LogEntry, type RestartEntry, type UpgradeEntry } from '../index.js'
import { AuthChecker, unsignedCaller } from './auth.js'
import { UnsignedCallers } from './unsigned-callers.js'
import { compareFinalFiles, driveChanges } from './differences.js'
import { compareDriveHistory, DriveHistory } from './drive-history.js'
import { replayRun } from './call-window.js'
import { ReplayFiles } from './replay-files.js'
import { describe, filesFields, sourceHashMismatch, summary, unloggedChanges, type Found, type VerifyDivergence, type VerifyReport } from './report.js'


export interface VerifyOptions {
  /** Replay even when the log was written by another engine version (a warning instead of a failure). */
  allowEngineMismatch?: boolean
  /** Check each call's changes against the archive's blocks at its versions (default true). */
  history?: boolean
  /** Called every few hundred entries and at the end. */
  onProgress?: (done: number, total: number) => void
  /** Called as each entry is checked: with null when it is right, with the divergence when it is the first wrong one. */
  onEntry?: (index: number, entry: LogEntry, divergence: VerifyDivergence | null) => void
}

const PROGRESS_EVERY = 256
/** Calls replayed together at most (call-window.ts). */
const RUN = 256
const EMPTY_DRIVE_VERSION = 1 // an empty Hyperdrive reports version 1 (drive-files.ts)

/**
 * An incremental verifier: each advance() replays and checks the entries appended since the last one,
 * keeping the engine, the replayed files and the signature counters between calls. After a divergence
 * it stays at that entry. An error thrown while checking an entry (a read that failed midway) leaves the
 * replay in an unknown state: every later advance() rethrows it, and a new LogVerifier starts over.
 */
export class LogVerifier {
  private readonly files = new ReplayFiles()
  private readonly auth: AuthChecker
  /** Calls among those checked and found right that name a caller on the host's word alone, by name. */
  private readonly unsignedCallers = new UnsignedCallers()
  private readonly history: DriveHistory
  private readonly warnedEngines = new Set<string>()
  private readonly warnings: string[] = []
  private readonly counts = { calls: 0, oracles: 0, restarts: 0, upgrades: 0, limitHits: 0 }
  private engine: Engine | null = null
  /** The mode and limits the engine runs under: a restored restart must keep them. */
  private run = ''
  private source = ''
  private filename = ''
  private sourceHash = ''
  private filesVersion = EMPTY_DRIVE_VERSION
  private index = 0
  private diverged: VerifyDivergence | null = null
  private broken: unknown = null
  private running = false
  private ms = 0

  constructor (private readonly log: CallLog, private readonly drive: Hyperdrive, private readonly options: VerifyOptions = {}) {
    this.auth = new AuthChecker(log.key)
    this.history = new DriveHistory(drive)
  }

  /** Entries checked and found right so far. */
  get verified (): number { return this.index }

  /** Replays and checks the entries from where the last advance() stopped up to log.length. */
  async advance (): Promise<VerifyReport> {
    if (this.broken !== null) throw this.broken
    if (this.diverged !== null) return this.report(this.diverged)
    if (this.running) throw new Error('LogVerifier.advance() is already running: await it before the next one')
    this.running = true
    const started = performance.now()
    try {
      await this.log.core.ready()
      await this.drive.ready()
      if (this.log.length === 0) throw HostError.NOT_A_NODEVMS_LOG(this.log.key, 0, 'missing: the core is empty')
      const total = this.log.length
      // Calls that had an effect wait in `run` and are replayed together (call-window.ts). A full run is sent
      // to the engine and the next one is read and decoded while it replays in the engine's thread; its
      // outcome is taken (entries reported, in order) before the next run is sent.
      const run: CallEntry[] = []
      const found = (entry: LogEntry, found: Found) => {
        this.diverged = describe(entry, this.index, found)
        this.options.onEntry?.(this.index, entry, this.diverged)
        return this.report(this.diverged)
      }
      const passed = (entry: LogEntry) => {
        const unsigned = entry.type === 'call' ? unsignedCaller(entry) : null
        if (unsigned !== null) this.unsignedCallers.record(unsigned, this.index)
        this.options.onEntry?.(this.index, entry, null)
        this.index++
        if (this.index % PROGRESS_EVERY === 0) this.options.onProgress?.(this.index, total)
      }
      /** The run sent to the engine, its entries not yet reported. */
      let replaying = null as { batch: CallEntry[], wrong: Promise<{ offset: number, found: Found } | null> } | null
      const settle = async (): Promise<VerifyReport | null> => {
        if (replaying === null) return null
        const { batch, wrong: outcome } = replaying
        replaying = null
        const wrong = await outcome
        for (let i = 0; i < batch.length; i++) {
          if (wrong?.offset === i) return found(batch[i], wrong.found)
          passed(batch[i])
        }
        return null
      }
      /** Sends the waiting run, once the one before it is settled. */
      const send = async (): Promise<VerifyReport | null> => {
        const stopped = await settle()
        if (stopped !== null || run.length === 0) return stopped
        const batch = run.splice(0)
        replaying = { batch, wrong: this.guarded(() => this.replayed(batch)) }
        replaying.wrong.catch(() => {}) // awaited by settle(); a read that fails first must not leave it unhandled
        return null
      }
      try {
        for await (const entry of this.log.read(this.index, total)) {
          // A denied call goes on alone: call() checks it again (a denial changes no counter) and names it.
          if (this.joinsRun(entry) && this.auth.check(entry) === null) {
            run.push(entry)
            if (run.length < RUN) continue
            const stopped = await send()
            if (stopped !== null) return stopped
            continue
          }
          const stopped = await send() ?? await settle()
          if (stopped !== null) return stopped
          const wrong = await this.checked(entry, this.index)
          if (wrong !== null) return found(entry, wrong)
          passed(entry)
        }
        return await send() ?? await settle() ?? this.report()
      } finally {
        // Never leave a replay running into the next advance(): its outcome is dropped (or already thrown).
        await replaying?.wrong.catch(() => {})
      }
    } finally {
      this.running = false
      this.ms += performance.now() - started
    }
  }

  /**
   * The final-files comparison at the current point: the archive at the last checked entry's files
   * version against the replayed files, every path and byte; then no change after that version.
   */
  async checkArchive (): Promise<VerifyDivergence | null> {
    if (this.broken !== null) throw this.broken
    const started = performance.now()
    try {
      return await this.archiveCheck()
    } finally {
      this.ms += performance.now() - started
    }
  }

  /** The report at the current point; `divergence` (an archive verdict, say) makes it a failure. */
  report (divergence: VerifyDivergence | null = this.diverged): VerifyReport {
    const warnings = [...this.warnings]
    const unsigned = this.unsignedCallers.warning()
    if (unsigned !== null) warnings.push(unsigned)
    return {
      ok: divergence === null,
      entries: this.index,
      ...this.counts,
      stateRoot: this.files.root.digest(),
      filesVersion: this.filesVersion,
      logKey: this.log.key,
      filesKey: this.drive.key.toString('hex'),
      ms: Math.round(this.ms),
      ...(divergence !== null ? { divergence } : {}),
      unsignedCallers: this.unsignedCallers.report(),
      warnings
    }
  }

  async close (): Promise<void> {
    await this.closeEngine()
    await this.history.close()
  }

  private async closeEngine (): Promise<void> {
    const engine = this.engine
    this.engine = null
    await engine?.close()
  }

  /** step(), marking the verifier broken when it throws midway through an entry. */
  private async checked (entry: LogEntry, index: number): Promise<Found | null> {
    return await this.guarded(() => this.step(entry, index))
  }

  /** Runs a check, marking the verifier broken when it throws midway (the replay's state is then unknown). */
  private async guarded<T> (check: () => Promise<T>): Promise<T> {
    try {
      return await check()
    } catch (err) {
      this.broken = err
      throw err
    }
  }

  /** Whether a call is replayed with others: one that had an effect (a limit-hit call is not run), once a script runs. */
  private joinsRun (entry: LogEntry): entry is CallEntry {
    return entry.type === 'call' && this.engine !== null && !hadNoEffect(entry)
  }

  /**
   * Replays calls together (call-window.ts), then checks the drive's history for those that changed files,
   * up to the first wrong one: the first wrong entry (its offset) and what is wrong with it, or null.
   */
  private async replayed (entries: CallEntry[]): Promise<{ offset: number, found: Found } | null> {
    const run = await replayRun(this.engine!, this.files, entries, this.filesVersion)
    this.filesVersion = run.filesVersion
    let wrong: { offset: number, found: Found } | null = null
    if (run.wrong !== null) {
      wrong = 'found' in run.wrong ? run.wrong : { offset: run.wrong.offset, found: (await this.versionCheck(run.wrong.version, 'call'))! }
    }
    for (const call of run.changed) {
      if (wrong !== null && call.offset > wrong.offset) break
      const history = await this.historyCheck(call.before, call.changes)
      if (history === null) continue
      wrong = { offset: call.offset, found: history }
      // The verifier stands where the calls before it left the files.
      this.filesVersion = call.before
      break
    }
    this.countCalls(entries.slice(0, wrong?.offset ?? entries.length))
    return wrong
  }

  private countCalls (entries: readonly CallEntry[]): void {
    this.counts.calls += entries.length
    for (const entry of entries) this.counts.oracles += entry.oracles.length
  }

  private async step (entry: LogEntry, index: number): Promise<Found | null> {
    switch (entry.type) {
      case 'init': {
        const sourceProblem = sourceHashProblem(entry)
        if (sourceProblem !== null) return sourceProblem
        if (entry.filesKey !== this.drive.key.toString('hex')) {
          return { field: 'filesKey', expected: this.drive.key.toString('hex'), actual: entry.filesKey, message: `the log names files archive ${entry.filesKey}, but the archive verified is ${this.drive.key.toString('hex')}` }
        }
        return this.engineCheck(entry.engine, index) ?? await this.load(entry.source, entry.filename, entry)
      }
      case 'restart':
      case 'upgrade': {
        const problem = this.engineCheck(entry.engine, index) ?? await this.checkBoundary(entry)
        if (problem !== null) return problem
        if (entry.type === 'restart') {
          this.counts.restarts++
          if (entry.sourceHash !== this.sourceHash) return { ...sourceHashMismatch(entry.sourceHash, this.sourceHash), message: 'a restart entry names another script source without an upgrade entry' }
          if (entry.restored !== true) return await this.load(this.source, this.filename, entry)
          // The host says it restored the memory: the replayed engine carries on, so its next calls show whether it did.
          const run = describeRun(entry.mode, entry.limits)
          if (run !== this.run) return { field: 'limits', expected: this.run, actual: run, message: `a restart that says it restored the script's memory runs under ${run}, but the memory was built under ${this.run}` }
          return null
        }
        this.counts.upgrades++
        return sourceHashProblem(entry) ?? await this.load(entry.source, entry.filename, entry)
      }
      case 'call':
        return await this.call(entry)
    }
  }

  private engineCheck (recorded: EngineInfo, index: number): Found | null {
    const local = { name: ENGINE_NAME, version: ENGINE_VERSION, wasmSha256: wasmSha256() }
    if (recorded.name === local.name && recorded.version === local.version && recorded.wasmSha256 === local.wasmSha256) return null
    const message = `the log was written by ${recorded.name} ${recorded.version} (wasm ${recorded.wasmSha256.slice(0, 12)}…), this verifier runs ${local.name} ${local.version} (wasm ${local.wasmSha256.slice(0, 12)}…)`
    if (this.options.allowEngineMismatch === true) {
      if (!this.warnedEngines.has(message)) this.warnings.push(`entry ${index}: ${message}; replaying anyway (--allow-engine-mismatch).`)
      this.warnedEngines.add(message)
      return null
    }
    return { field: 'engine', expected: local, actual: recorded, message: `${message}. Use the same nodevms version, or --allow-engine-mismatch to replay anyway` }
  }

  /** A fresh engine, as the host started one: in-memory state starts empty, files carry on. */
  private async load (source: string, filename: string, entry: LogEntry & { mode: string, limits: Limits }): Promise<Found | null> {
    await this.closeEngine()
    this.source = source
    this.filename = filename
    this.sourceHash = sha256Hex(source)
    this.run = describeRun(entry.mode, entry.limits)
    try {
      // patient: this thread fetches and checks the next run while the engine's thread replays one.
      this.engine = await createEngine(source, {
        filename, files: this.files, seeded: entry.mode === 'seeded', log: () => {}, patient: true,
        gasLimit: entry.limits.gas, memoryLimit: entry.limits.memory, timeoutMs: entry.limits.timeoutMs
      })
    } catch (err) {
      return { field: 'source', expected: 'a script that loads', actual: (err as Error).message, message: `the script ${filename} does not load: ${(err as Error).message}` }
    }
    return null
  }

  /** Restart and upgrade entries: the archive is where the last call left it, with the replayed root. */
  private async checkBoundary (entry: RestartEntry | UpgradeEntry): Promise<Found | null> {
    return await this.versionCheck(entry.filesVersion, entry.type) ?? this.rootCheck(entry.stateRoot)
  }

  /** The archive's version before the next change must be where the log's last call left it. */
  private async versionCheck (before: number, type: LogEntry['type']): Promise<Found | null> {
    if (before === this.filesVersion) return null
    if (before > this.filesVersion && before <= this.drive.version) {
      const unlogged = await driveChanges(this.drive, this.filesVersion, before, this.files.base).catch(() => null)
      if (unlogged !== null && unlogged.count > 0) return unloggedChanges(`outside the log before this ${type} entry`, this.filesVersion, before, unlogged)
    }
    return { field: 'filesVersion', expected: this.filesVersion, actual: before, message: `the log places this entry at files version ${before}, but the previous entries leave the archive at version ${this.filesVersion}` }
  }

  private rootCheck (stateRoot: string): Found | null {
    const root = this.files.root.digest()
    return stateRoot === root ? null : { field: 'stateRoot', expected: root, actual: stateRoot, message: 'the state root in the log is not the root of the replayed files' }
  }

  /** A call checked alone: one whose caller is denied, or that had no effect; any other is replayed (as a run of one). */
  private async call (entry: CallEntry): Promise<Found | null> {
    if (this.engine === null) throw new Error('unreachable: a call before the engine loaded')
    const denied = this.auth.check(entry)
    if (denied !== null) return { field: 'auth', ...denied }
    if (hadNoEffect(entry)) return await this.noEffect(entry)
    return (await this.replayed([entry]))?.found ?? null
  }

  /**
   * A call whose entry says it had no effect (it hit a limit): it is not run, and its entry must leave the files
   * exactly where the call before left them. (Whether it really hit its limit is the host's word: logging it so
   * is the same as refusing the call, which a host can always do.)
   */
  private async noEffect (entry: CallEntry): Promise<Found | null> {
    const name = entry.error!.name
    if (entry.changes.length > 0) {
      return { field: 'changes', expected: [], actual: entry.changes.map(summary), message: `a call that ended in ${name} has no effect, but the log records ${entry.changes.length} file change(s) for it` }
    }
    const problem = await this.versionCheck(entry.filesVersion, 'call')
    if (problem !== null) return problem
    const root = this.rootCheck(entry.stateRoot)
    if (root !== null) return { ...root, message: `a call that ended in ${name} has no effect, but the log gives it another state root than the files it found` }
    this.counts.calls++
    this.counts.limitHits++
    return null
  }

  private async historyCheck (before: number, changes: Change[]): Promise<Found | null> {
    if (this.options.history === false || changes.length === 0) return null
    const after = before + changes.length
    if (this.drive.version < after) await this.drive.update({ wait: true }).catch(() => false)
    if (this.drive.version < after) {
      return { field: 'filesVersion', expected: after, actual: this.drive.version, message: `the log names files version ${after}, but the files archive only reached version ${this.drive.version}` }
    }
    const diff = await compareDriveHistory(this.history, before, changes)
    if (diff === null) return null
    return { field: 'files.history', ...filesFields(diff), expected: 'the logged changes', actual: diff.paths, message: `the files archive at versions ${before}..${after} holds other changes than the log: ${diff.paths.join(', ')}` }
  }

  /** After the last checked entry: the archive at its files version, then nothing after it. */
  private async archiveCheck (): Promise<VerifyDivergence | null> {
    const at = (found: Found): VerifyDivergence => ({ index: this.index, type: 'end', method: null, caller: null, ...found })
    if (this.drive.version < this.filesVersion) await this.drive.update({ wait: true }).catch(() => false)
    if (this.drive.version < this.filesVersion) {
      return at({ field: 'files', expected: this.filesVersion, actual: this.drive.version, message: `the files archive is at version ${this.drive.version}, behind the log's last files version ${this.filesVersion} (a host that crashed re-applies logged changes on its next start)` })
    }
    const diff = await compareFinalFiles(this.files.base, this.drive, this.filesVersion)
    if (diff !== null) {
      return at({ field: 'files', ...filesFields(diff), expected: this.files.root.digest(), actual: diff.root, message: `the files archive at version ${this.filesVersion} differs from the replay in ${diff.count} path(s): ${diff.paths.join(', ')}` })
    }
    if (this.drive.version > this.filesVersion) {
      const unlogged = await driveChanges(this.drive, this.filesVersion, this.drive.version, this.files.base)
      return at(unloggedChanges('after the last logged call', this.filesVersion, this.drive.version, unlogged))
    }
    return null
  }
}

/** Mode and limits in words: a restored restart must run under the ones its memory was built under. */
function describeRun (mode: string, limits: Limits): string {
  return `gas ${limits.gas}, memory ${limits.memory} bytes, timeout ${limits.timeoutMs} ms, ${mode} mode`
}

/** A finding when an entry's source does not hash to the sourceHash it records. */
function sourceHashProblem (entry: { source: string, sourceHash: string }): Found | null {
  const actual = sha256Hex(entry.source)
  return actual === entry.sourceHash ? null : sourceHashMismatch(entry.sourceHash, actual)
}
