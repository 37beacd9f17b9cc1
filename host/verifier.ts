// verifyLog: replays a call log entry by entry in fresh engines, compares every entry with the replay,
// then the replayed files with the host's files archive, and names the first difference.
//
// The log is streamed (CallLog.read), so memory is flat in log length: the verifier holds the replayed
// files, their state root, and one engine. For every call it checks, in this order: the caller's
// signature; that the archive had no changes between the previous entry and this call; the record
// (result/error, oracle count, gas, deadline, rebuild); the net file changes; that the archive's blocks
// at those versions are those changes; the files version; the state root.

import { createHash } from 'node:crypto'
import type Hyperdrive from 'hyperdrive'
import { compareRecords, createEngine, ENGINE_NAME, ENGINE_VERSION, wasmSha256 } from '../engine/index.js'
import type { CallRecord, Engine } from '../engine/types.js'
import { encodeChanges, toCallRecord, type CallEntry, type CallLog, type EngineInfo, type LogEntry, type RestartEntry, type UpgradeEntry } from './call-log.js'
import type { Change } from './drive-files.js'
import { HostError } from './errors.js'
import { AuthChecker } from './verify-auth.js'
import {
  compareChanges, compareDriveHistory, compareFinalFiles, DriveHistory, driveChanges, ReplayFiles,
  type FilePreview, type FilesDifference
} from './verify-files.js'
import { prefetch } from './verify-prefetch.js'

export interface VerifyOptions {
  /** Replay even when the log was written by another engine version (a warning instead of a failure). */
  allowEngineMismatch?: boolean
  /** Check each call's changes against the archive's blocks at its versions (default true). */
  history?: boolean
  /** Called every few hundred entries and at the end. */
  onProgress?: (done: number, total: number) => void
}

/** The first difference between the log and its replay (or the archive). */
export interface VerifyDivergence {
  index: number
  type: LogEntry['type'] | 'end'
  method: string | null
  caller: string | null
  /** result, error, oracles.length, gas, deadlineGas, rebuilt, auth, changes, files.history, filesVersion, stateRoot,
   *  sourceHash, source, engine, filesKey, files (the final archive), files.unlogged */
  field: string
  expected: unknown
  actual: unknown
  message: string
  paths?: string[]
  previews?: FilePreview[]
}

export interface VerifyReport {
  ok: boolean
  /** Entries checked and found right. */
  entries: number
  calls: number
  /** Oracle outcomes the replay used. */
  oracles: number
  restarts: number
  upgrades: number
  /** The replayed state root after the last checked entry. */
  stateRoot: string
  filesVersion: number
  logKey: string
  filesKey: string
  ms: number
  divergence?: VerifyDivergence
  warnings: string[]
}

const PROGRESS_EVERY = 256
const READ_AHEAD = 512 // log entries read while the replay runs
const FOLLOW_ROUNDS = 4 // times the replay catches up with a live log before judging the archive
const EMPTY_DRIVE_VERSION = 1 // an empty Hyperdrive reports version 1 (drive-files.ts)
const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex')

type Found = Omit<VerifyDivergence, 'index' | 'type' | 'method' | 'caller'>

/** Replays and checks the whole log against the drive. Throws NOT_A_NODEVMS_LOG for a foreign core. */
export async function verifyLog (log: CallLog, drive: Hyperdrive, options: VerifyOptions = {}): Promise<VerifyReport> {
  await log.core.ready()
  await drive.ready()
  const run = new Verification(log, drive, options)
  try {
    return await run.run()
  } finally {
    await run.close()
  }
}

class Verification {
  private readonly files = new ReplayFiles()
  private readonly auth: AuthChecker
  private readonly started = performance.now()
  private readonly report: VerifyReport
  private engine: Engine | null = null
  private source = ''
  private filename = ''
  private sourceHash = ''
  private filesVersion = EMPTY_DRIVE_VERSION
  private readonly warnedEngines = new Set<string>()
  private readonly history: DriveHistory

  constructor (private readonly log: CallLog, private readonly drive: Hyperdrive, private readonly options: VerifyOptions) {
    this.auth = new AuthChecker(log.key)
    this.history = new DriveHistory(drive)
    this.report = {
      ok: false, entries: 0, calls: 0, oracles: 0, restarts: 0, upgrades: 0, stateRoot: this.files.root.digest(),
      filesVersion: EMPTY_DRIVE_VERSION, logKey: log.key, filesKey: drive.key.toString('hex'), ms: 0, warnings: []
    }
  }

  async run (): Promise<VerifyReport> {
    if (this.log.length === 0) throw HostError.NOT_A_NODEVMS_LOG(this.log.key, 0, 'missing: the core is empty')
    let index = 0
    // A live host may append while we replay: its newer changes are then in newer entries, not unlogged.
    // So the replay follows the log (a few rounds) before the archive is judged.
    for (let round = 0; ; round++) {
      const total = this.log.length
      for await (const entry of prefetch(this.log.read(index, total), (e) => e, READ_AHEAD)) {
        const found = await this.step(entry, index)
        if (found !== null) return this.finish(describe(entry, index, found))
        index++
        this.report.entries = index
        if (index % PROGRESS_EVERY === 0) this.options.onProgress?.(index, total)
      }
      const last = round >= FOLLOW_ROUNDS
      if (!last && await this.logGrew(index)) continue
      const verdict = await this.checkArchive(index)
      if (verdict?.field === 'files.unlogged' && !last && await this.logGrew(index)) continue
      this.options.onProgress?.(index, index)
      return this.finish(verdict)
    }
  }

  private async logGrew (index: number): Promise<boolean> {
    await this.log.core.update({ wait: false }).catch(() => false)
    return this.log.length > index
  }

  async close (): Promise<void> {
    await this.closeEngine()
    await this.history.close()
  }

  private async closeEngine (): Promise<void> {
    await this.engine?.close()
    this.engine = null
  }

  private finish (divergence: VerifyDivergence | null): VerifyReport {
    if (this.auth.unsigned > 0) this.report.warnings.push(`${this.auth.unsigned} call(s) name a caller without a signature (debug mode): those callers are the host's word.`)
    this.report.ok = divergence === null
    if (divergence !== null) this.report.divergence = divergence
    this.report.stateRoot = this.files.root.digest()
    this.report.filesVersion = this.filesVersion
    this.report.ms = Math.round(performance.now() - this.started)
    return this.report
  }

  private async step (entry: LogEntry, index: number): Promise<Found | null> {
    switch (entry.type) {
      case 'init': {
        if (sha256(entry.source) !== entry.sourceHash) return sourceHashMismatch(entry.sourceHash, sha256(entry.source))
        if (entry.filesKey !== this.report.filesKey) {
          return { field: 'filesKey', expected: this.report.filesKey, actual: entry.filesKey, message: `the log names files archive ${entry.filesKey}, but the archive verified is ${this.report.filesKey}` }
        }
        return this.engineCheck(entry.engine, index) ?? await this.load(entry.source, entry.filename, entry)
      }
      case 'restart':
      case 'upgrade': {
        const problem = this.engineCheck(entry.engine, index) ?? await this.checkBoundary(entry)
        if (problem !== null) return problem
        if (entry.type === 'restart') {
          this.report.restarts++
          if (entry.sourceHash !== this.sourceHash) return { ...sourceHashMismatch(entry.sourceHash, this.sourceHash), message: 'a restart entry names another script source without an upgrade entry' }
          return await this.load(this.source, this.filename, entry)
        }
        this.report.upgrades++
        if (sha256(entry.source) !== entry.sourceHash) return sourceHashMismatch(entry.sourceHash, sha256(entry.source))
        return await this.load(entry.source, entry.filename, entry)
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
      if (!this.warnedEngines.has(message)) this.report.warnings.push(`entry ${index}: ${message}; replaying anyway (--allow-engine-mismatch).`)
      this.warnedEngines.add(message)
      return null
    }
    return { field: 'engine', expected: local, actual: recorded, message: `${message}. Use the same nodevms version, or --allow-engine-mismatch to replay anyway` }
  }

  /** A fresh engine, as the host started one: in-memory state starts empty, files carry on. */
  private async load (source: string, filename: string, entry: LogEntry & { mode: string, limits: { gas: number, memory: number, timeoutMs: number } }): Promise<Found | null> {
    await this.closeEngine()
    this.source = source
    this.filename = filename
    this.sourceHash = sha256(source)
    try {
      this.engine = await createEngine(source, {
        filename, files: this.files, seeded: entry.mode === 'seeded', log: () => {},
        gasLimit: entry.limits.gas, memoryLimit: entry.limits.memory, timeoutMs: entry.limits.timeoutMs
      })
    } catch (err) {
      return { field: 'source', expected: 'a script that loads', actual: (err as Error).message, message: `the script ${filename} does not load: ${(err as Error).message}` }
    }
    return null
  }

  /** Restart and upgrade entries: the archive is where the last call left it, with the replayed root. */
  private async checkBoundary (entry: RestartEntry | UpgradeEntry): Promise<Found | null> {
    return await this.versionCheck(entry.filesVersion) ?? this.rootCheck(entry.stateRoot)
  }

  /** The archive's version before the next change must be where the log's last call left it. */
  private async versionCheck (before: number): Promise<Found | null> {
    if (before === this.filesVersion) return null
    if (before > this.filesVersion && before <= this.drive.version) {
      const unlogged = await driveChanges(this.drive, this.filesVersion, before, this.files.base).catch(() => null)
      if (unlogged !== null && unlogged.count > 0) {
        return {
          field: 'files.unlogged', expected: this.filesVersion, actual: before, paths: unlogged.paths, previews: unlogged.previews,
          message: `the files archive changed outside the log before this entry: ${unlogged.count} change(s) not in the log (${unlogged.paths.join(', ')})`
        }
      }
    }
    return { field: 'filesVersion', expected: this.filesVersion, actual: before, message: `the log places this entry at files version ${before}, but the previous entries leave the archive at version ${this.filesVersion}` }
  }

  private rootCheck (stateRoot: string): Found | null {
    const root = this.files.root.digest()
    return stateRoot === root ? null : { field: 'stateRoot', expected: root, actual: stateRoot, message: 'the state root in the log is not the root of the replayed files' }
  }

  private async call (entry: CallEntry): Promise<Found | null> {
    if (this.engine === null) throw new Error('unreachable: a call before the engine loaded')
    const denied = this.auth.check(entry)
    if (denied !== null) return { field: 'auth', ...denied }
    const problem = await this.versionCheck(entry.filesVersion - entry.changes.length)
    if (problem !== null) return problem

    const expected = toCallRecord(entry)
    let actual: CallRecord
    this.files.begin()
    try {
      actual = await this.engine.call(entry.method, entry.args, { caller: entry.caller, replay: expected })
    } catch (err) {
      this.files.discard()
      return { field: 'error', expected: { name: (err as Error).name, message: (err as Error).message }, actual: expected.error ?? null, message: 'the engine failed while replaying the call' }
    }
    const diff = compareRecords(actual, expected) // expected: the replay's value; actual: the log's
    if (diff !== null) return { ...diff, message: `the log records another ${diff.field} than the replay gives` }
    const changes = await this.files.commit()
    const changed = compareChanges(entry.changes, changes)
    if (changed !== null) {
      return { field: 'changes', ...filesFields(changed), expected: encodeChanges(changes).map(summary), actual: entry.changes.map(summary), message: `the log records other file changes than the replay makes: ${changed.paths.join(', ')}` }
    }
    const before = this.filesVersion
    const after = before + changes.length
    if (entry.filesVersion !== after) return { field: 'filesVersion', expected: after, actual: entry.filesVersion, message: `the call made ${changes.length} change(s) from files version ${before}` }
    const history = await this.historyCheck(before, changes)
    if (history !== null) return history
    const root = this.rootCheck(entry.stateRoot)
    if (root !== null) return root
    this.filesVersion = after
    this.report.calls++
    this.report.oracles += entry.oracles.length
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

  /** After the last entry: the archive at the last logged version, then nothing after it. */
  private async checkArchive (entries: number): Promise<VerifyDivergence | null> {
    const at = (found: Found): VerifyDivergence => ({ index: entries, type: 'end', method: null, caller: null, ...found })
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
      const count = this.drive.version - this.filesVersion
      return at({
        field: 'files.unlogged', ...filesFields(unlogged), expected: this.filesVersion, actual: this.drive.version,
        message: `the files archive changed after the last logged call: ${count} change(s) not in the log (${unlogged.paths.join(', ')})`
      })
    }
    return null
  }
}

function sourceHashMismatch (recorded: string, computed: string): Found {
  return { field: 'sourceHash', expected: computed, actual: recorded, message: 'the recorded sha256 is not the sha256 of the recorded source' }
}

function filesFields (diff: FilesDifference): { paths: string[], previews: FilePreview[] } {
  return { paths: diff.paths, previews: diff.previews }
}

function summary ([path, data]: [string, string | null]): string {
  return data === null ? `${path}: deleted` : `${path}: ${data.length > 40 ? data.slice(0, 40) + '…' : data} (base64)`
}

function describe (entry: LogEntry, index: number, found: Found): VerifyDivergence {
  const call = entry.type === 'call' ? entry : null
  return { index, type: entry.type, method: call?.method ?? null, caller: call?.caller ?? null, ...found }
}
