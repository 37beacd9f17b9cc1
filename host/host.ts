// The host: one Corestore at `dir` holding the call log (a Hypercore) and the files archive (a
// Hyperdrive), and one engine running the script, its calls in arrival order (call-dispatcher.ts).
// call → engine → CallRecord → CallEntry (+ changes, files version, state root) → group commit.
import type Corestore from 'corestore'
import Hyperdrive from 'hyperdrive'
import { reservedMethodReason } from '../client/wire.js'
import { DEFAULT_LIMITS, ENGINE_NAME, ENGINE_VERSION, EngineError } from '../engine/index.js'
import type { CallRecord, LogFn } from '../engine/index.js'
import { CallLog, encodeOwnEntry, logChanges, type CallAuth, type CallEntry, type Limits, type Mode } from './call-log.js'
import { callEntry, jsonBytes, MAX_ARGS_BYTES, MAX_ENTRY_BYTES, tooLarge, type FilesPoint } from './call-entry.js'
import { AcknowledgedWriter, checkAcknowledged, ACKNOWLEDGED_FILE } from './acknowledged.js'
import { AnswerJournal } from './answer-journal.js'
import { CallDispatcher, type DispatchedCall, type Executed } from './call-dispatcher.js'
import { GroupCommitter } from './commit.js'
import { asLogged, beginsEmptyMemory, hadNoEffect } from './limit-hit.js'
import { readSegment } from './memory-segment.js'
import { journaledCalls } from './journal-recovery.js'
import { readTail, type LogTail } from './recovery.js'
import { ScriptMemory, type CheckpointPolicy, type RestoreReport } from './script-memory.js'
import { filesMismatch, prepareHostDir, recoverFromLog, startPlan } from './start-up.js'
import { DiskFullWatch } from './disk-full.js'
import { HostStore } from './host-store.js'
import { StoreAudit } from './store-audit.js'
import { WalSync } from './wal-sync.js'
import { readLastCounters } from './counter-snapshot.js'
import { DriveFiles, FilesTransaction, predictVersion, type Change } from './drive-files.js'
import { HostError } from './errors.js'
import { PendingFiles } from './pending-files.js'
import { StateRoot } from './state-root.js'

export const LOG_CORE_NAME = 'nodevms-call-log'
export const DEFAULT_QUEUE_LIMIT = 1024

export interface HostOptions {
  /** The script's source text and file name. */
  source: string
  filename: string
  /** The corestore directory (created when missing). */
  dir: string
  seeded?: boolean
  gasLimit?: number
  memoryLimit?: number
  timeoutMs?: number
  /** Calls that may wait behind the running one before new calls are refused (default 1024). */
  queueLimit?: number
  /** Run a script that differs from the one in the log, logging an upgrade entry (otherwise SCRIPT_CHANGED). */
  upgrade?: boolean
  /** Start with empty script memory instead of restoring it from the log (the restart entry says so). */
  fresh?: boolean
  /** When checkpoints of the script's memory are written to DIR/checkpoints; false: never. */
  checkpoints?: CheckpointPolicy | false
  /** Script console output. Default: stderr. */
  log?: LogFn
  /** Host diagnostics (recovery, warnings). Default: stderr. */
  warn?: (message: string) => void
  /** Progress of a restore that takes more than a second. Default: stderr. */
  progress?: (line: string) => void
  /**
   * Called when the host stops taking calls for good (its store is damaged or failed): exec exits on it.
   * A full disk is not such a failure: the host refuses calls and reopens the store once there is room.
   */
  onFailure?: (err: Error) => void
  /** Called after the host reopened its store (a full disk had room again): `store` is a new Corestore. */
  onReopen?: () => Promise<void>
  /** fdatasync each group before its replies (default true). Off only for `nodevms dev` and the bench's unsynced baseline. */
  syncWrites?: boolean
  /** Answer-journal bytes after which the cores are synced and the journal starts again (default 32 MiB). */
  journalBytes?: number
  /** Read the whole store in the background after start-up, to find damage start-up does not read (default true). */
  audit?: boolean
  /** Told of each call once its entry is durable: its index in the log, and its time from arrival (queue included). */
  onCall?: (call: LoggedCall) => void
}

export interface LoggedCall { index: number, entry: CallEntry, ms: number }

export interface CallContext {
  caller?: string | null
  auth?: CallAuth
  /** Called in queue order, just before the call runs; throwing refuses it (it then never runs). */
  beforeRun?: () => void
  /** Called right after it ran, with the size of its log entry (an upper bound of its reply's). */
  afterRun?: (entryBytes: number) => void
  /**
   * Resolve once the call is durable (in the answer journal), before the call log and files archive hold it
   * (the RPC server answers so). By default call() resolves once they hold it too.
   */
  beforeCores?: boolean
}

/** What a caller gets back: the logged entry, durable by the time the promise resolves. */
export type CallOutcome = CallEntry

/** What start-up did, for the CLI to report. `restored` says how the script's memory was restored (null: it started empty). */
export interface OpenReport { created: boolean, upgraded: boolean, recovered: number, restored: RestoreReport | null, warnings: string[] }

export class Host {
  readonly dir: string
  store!: Corestore
  drive!: Hyperdrive
  log!: CallLog
  report: OpenReport = { created: false, upgraded: false, recovered: 0, restored: null, warnings: [] }
  private memory: ScriptMemory | null = null
  /** The script's methods (kept here: while a rollback rebuilds the engine, calls still come and wait). */
  private scriptMethods: string[] = []
  private hostStore!: HostStore
  private committer!: GroupCommitter
  private audit: StoreAudit | null = null
  // Set while the host cannot take calls (a full disk until the store reopens, or a failed store).
  private unavailable: Error | null = null
  private readonly diskFull: DiskFullWatch
  private pending!: PendingFiles
  private root!: StateRoot
  // The log index the next executed call's entry gets.
  private nextIndex = 0
  // Set once start-up has logged its lifecycle entry, until the session closes.
  private serving = false
  // Where the files stand after the last executed call (ahead of what is durable while a group is in flight).
  private filesVersion = 0
  private stateRoot = ''
  private readonly dispatcher = new CallDispatcher((call) => this.send(call))
  /** When the last call's record came (each call's run time is counted from it). */
  private lastEnded = 0
  private queued = 0
  private opening: Promise<void> | null = null
  private closing: Promise<void> | null = null
  private readonly options: HostOptions
  private readonly limits: Limits
  private readonly mode: Mode

  constructor (options: HostOptions) {
    this.options = options
    this.dir = options.dir
    this.limits = {
      gas: options.gasLimit ?? DEFAULT_LIMITS.gasLimit,
      memory: options.memoryLimit ?? DEFAULT_LIMITS.memoryLimit,
      timeoutMs: options.timeoutMs ?? DEFAULT_LIMITS.timeoutMs
    }
    this.mode = options.seeded === true ? 'seeded' : 'deterministic'
    this.diskFull = new DiskFullWatch(options.dir, () => this.reopen())
  }

  get callLogKey (): string { return this.log.key }
  get filesKey (): string { return this.drive.key.toString('hex') }
  get methods (): string[] { return this.scriptMethods.slice() }
  get opened (): boolean { return this.serving }
  /** Calls per group commit so far (one atomic write each). */
  get groupSizes (): readonly number[] { return this.committer?.groupSizes ?? [] }

  ready (): Promise<void> {
    this.opening ??= this.openSafely().then(() => this.startAudit())
    return this.opening
  }

  close (): Promise<void> {
    this.closing ??= this.shutdown()
    return this.closing
  }

  /**
   * Runs a call in arrival order; resolves once its entry and file changes are durable and in the call log
   * and files archive (with `beforeCores`, once durable: see CallContext).
   */
  async call (method: string, args: unknown[] = [], context: CallContext = {}): Promise<CallOutcome> {
    if (this.closing !== null) throw HostError.HOST_CLOSING()
    // Unavailable first: while a full disk reopens the store, the session is closed but calls are refused as DISK_FULL.
    if (this.unavailable !== null) throw this.unavailable
    if (!this.opened) throw HostError.HOST_NOT_READY()
    if (!this.scriptMethods.includes(method)) throw EngineError.METHOD_NOT_FOUND(method, this.methods)
    const argsBytes = jsonBytes(args)
    if (argsBytes > MAX_ARGS_BYTES) throw HostError.ARGS_TOO_LARGE(method, argsBytes, MAX_ARGS_BYTES)
    const limit = this.options.queueLimit ?? DEFAULT_QUEUE_LIMIT
    if (this.queued > limit) throw HostError.QUEUE_FULL(limit) // queued counts the running call too
    const arrived = Date.now()
    this.queued++
    let executed: Executed
    try {
      executed = await new Promise<Executed>((resolve, reject) => this.dispatcher.dispatch({ method, args, context, resolve, reject }))
    } finally {
      this.queued--
    }
    const { entry, durable, index } = executed
    await durable
    this.options.onCall?.({ index, entry, ms: Date.now() - arrived })
    if (context.beforeCores !== true) await this.committer.settled(index + 1)
    return entry
  }

  /** Resolves once the call log and files archive hold every call answered so far (what a verifier is shown). */
  settled (): Promise<void> {
    return this.committer?.settled() ?? Promise.resolve()
  }

  /** The last logged counter of every signing key (a copy): where the RPC server's authenticator starts. */
  lastCounters (): Map<string, number> {
    return this.committer.lastCounters()
  }

  handshakeInfo (): Record<string, unknown> {
    return {
      methods: this.methods,
      callLogUrl: `dat://${this.callLogKey}`,
      filesArchiveUrl: `dat://${this.filesKey}`,
      // What is durable, never what is only executed or written (a failed write would leave those ahead).
      callLogLength: this.committer.durable.logLength,
      filesVersion: this.committer.durable.filesVersion,
      mode: this.mode,
      engine: { name: ENGINE_NAME, version: ENGINE_VERSION }
    }
  }

  /** Sends a call to the engine, with its own files transaction; ended() takes its record. */
  private send (call: DispatchedCall): void {
    // Held while the store reopened (a full disk) and it did not, or while the host closed.
    const memory = this.memory
    if (memory === null || this.unavailable !== null) return this.dispatcher.failed(call, this.unavailable ?? HostError.HOST_CLOSING())
    const txn = new FilesTransaction(this.pending)
    const sent = performance.now()
    let ended = false
    memory.engine.call(call.method, call.args, {
      caller: call.context.caller ?? null,
      files: txn,
      ended: (record) => {
        ended = true
        // Its share of the engine's time: since it was sent, or since the call before it ended.
        const now = performance.now()
        const ms = now - Math.max(sent, this.lastEnded)
        this.lastEnded = now
        if (this.dispatcher.ended(call)) this.ended(call, asLogged(record), txn, ms)
      }
    }).catch((err) => { if (!ended) this.dispatcher.failed(call, err as Error) })
  }

  /**
   * A call's record came back (in call order, before any later call's file request is served): logs it with
   * its net file changes, the files version and state root after it, or with no effect when it hit a limit
   * or its entry is too large for the log. Synchronous, so the next call's files already include these.
   */
  private ended (call: DispatchedCall, record: CallRecord, txn: FilesTransaction, ms: number): void {
    try {
      const before: FilesPoint = { filesVersion: this.filesVersion, stateRoot: this.stateRoot }
      // A call that hit a limit has no effect (CONTRACT §7): the engine undid it in memory, its file changes go.
      if (hadNoEffect(record)) return call.resolve(this.submit(callEntry(record, call.context.auth, [], before), call.context, ms))
      const changes = txn.changes()
      const hashes = changes.map(([path]) => txn.hashOf(path))
      const previous = changes.map(([path]) => this.root.hashOf(path))
      changes.forEach(([path], i) => this.root.set(path, hashes[i]))
      const after: FilesPoint = { filesVersion: predictVersion(this.filesVersion, changes), stateRoot: this.root.digest() }
      const entry = callEntry(record, call.context.auth, logChanges(changes, hashes), after)
      const block = encodeOwnEntry(entry)
      if (block.byteLength > MAX_ENTRY_BYTES) {
        // Too big for one log block: logged with EntryTooLargeError instead, with no effect at all. The engine kept
        // the call's effects in memory (and calls sent after it ran on them), so once the entry is durable the
        // memory is put back as the log says, and those calls run again.
        changes.forEach(([path], i) => this.root.set(path, previous[i]))
        const logged = this.submit(tooLarge(entry, block.byteLength, before), call.context, ms, false)
        const length = this.nextIndex
        this.dispatcher.undo(async () => {
          await logged.durable
          await this.memory!.rollBack(length)
        })
        return call.resolve(logged)
      }
      this.filesVersion = after.filesVersion
      this.stateRoot = after.stateRoot
      this.pending.push(changes)
      call.resolve(this.submit(entry, call.context, ms, true, block, changes, hashes))
    } catch (err) {
      call.reject(err as Error)
    }
  }

  /** Hands an executed call's entry to the group commit; `counted` tells the memory a call ran (for its checkpoints). */
  private submit (entry: CallEntry, context: CallContext, ms: number, counted = true, block = encodeOwnEntry(entry),
    changes: readonly Change[] = [], hashes: ReadonlyArray<Uint8Array | null> = []): Executed {
    context.afterRun?.(block.byteLength)
    const durable = this.committer.submit(entry, block, changes, hashes)
    const index = this.nextIndex++
    if (counted) this.memory!.afterCall(this.nextIndex, durable, ms)
    return { entry, durable, index }
  }

  /** open(), closing whatever it opened when it fails. */
  private async openSafely (): Promise<void> {
    try {
      await this.open()
    } catch (err) {
      const memory = this.memory
      this.memory = null
      await memory?.close().catch(() => {})
      await this.closeStorage()
      throw err
    }
  }

  private async open (): Promise<void> {
    prepareHostDir(this.dir)
    this.hostStore = await HostStore.open(this.dir)
    this.store = this.hostStore.store
    try {
      await this.openCores()
    } catch (err) {
      throw this.hostStore.explain(err)
    }
  }

  private async openCores (): Promise<void> {
    this.log = new CallLog(this.store.get({ name: LOG_CORE_NAME }))
    await this.log.core.ready()
    this.drive = new Hyperdrive(this.store.session())
    await this.drive.ready()
    const driveFiles = new DriveFiles(this.drive)
    this.pending = new PendingFiles(driveFiles)

    // A drive with blocks but no log is another tool's: this host writes the init entry before any file.
    if (this.log.length === 0 && this.drive.core.length > 0) throw HostError.DIR_NOT_NODEVMS(this.dir)
    await this.checkAcknowledged()
    const wal = this.options.syncWrites === false ? null : new WalSync(this.hostStore.rocks, this.hostStore.dbDir)
    const acknowledged = await AcknowledgedWriter.open(this.dir)
    const journal = await AnswerJournal.open(this.dir, this.log.key, { sync: this.options.syncWrites !== false })
    this.committer = new GroupCommitter(this.log, this.drive, this.pending, { journal, journalRestartBytes: this.options.journalBytes, wal, acknowledged, problem: (err) => this.hostStore.problem(err) })
    this.committer.onFailure = (err) => this.failed(err)
    let tail = this.log.length === 0 ? null : await this.recoverFromLog()
    this.committer.seedCounters(await readLastCounters(this.log))
    await this.committer.open()
    if (await this.completeFromJournal()) tail = await readTail(this.log, this.drive.version)
    this.filesVersion = this.drive.version
    this.root = await driveFiles.stateRoot()
    this.stateRoot = this.root.digest()
    const mismatch = tail === null ? null : filesMismatch(tail.last, { filesVersion: this.filesVersion, stateRoot: this.stateRoot })
    if (mismatch !== null) this.warn(mismatch)
    const { source, filename, upgrade, fresh } = this.options
    const plan = startPlan(tail?.lifecycle ?? null, {
      dir: this.dir, source, filename, upgrade, fresh, mode: this.mode, limits: this.limits, filesKey: this.filesKey,
      files: { filesVersion: this.filesVersion, stateRoot: this.stateRoot }
    })
    // A restart runs the script under the file name its init or upgrade entry records, as verify does.
    const segment = plan.entry.type === 'restart' ? await readSegment(this.log, tail!.lifecycleIndex) : null
    // The engine loads (and the memory is restored) before anything is appended, so a script that does not
    // load, exports a reserved name or whose log does not replay leaves the log as it was.
    const memory = new ScriptMemory({
      dir: this.dir, log: this.log, drive: this.drive, source, filename: segment?.source.filename ?? filename,
      mode: this.mode, limits: this.limits, live: this.pending, scriptLog: this.options.log, checkpoints: this.options.checkpoints,
      warn: (message) => this.warn(message),
      progress: this.options.progress ?? ((line) => process.stderr.write(line + '\n')),
      inLog: (length) => this.committer.settled(length),
      betweenCalls: (work) => { this.dispatcher.alone(work).catch((err) => this.warn(`A checkpoint failed: ${(err as Error).message}`)) }
    })
    this.memory = memory
    if (plan.restore) this.report.restored = await memory.restore(segment!.start, this.log.length)
    else await memory.startFresh()
    this.scriptMethods = memory.engine.methods
    const reserved = this.scriptMethods.flatMap((name) => { const reason = reservedMethodReason(name); return reason === null ? [] : [{ name, reason }] })
    if (reserved.length > 0) throw HostError.RESERVED_METHODS(filename, reserved)
    const lifecycle = plan.entry
    this.report.created = lifecycle.type === 'init'
    this.report.upgraded = lifecycle.type === 'upgrade'
    const emptyMemory = beginsEmptyMemory(lifecycle)
    const index = await this.committer.appendLifecycle(lifecycle, (at) => ({
      memoryStart: emptyMemory ? at : segment!.start,
      sourceIndex: lifecycle.type === 'restart' ? segment!.sourceIndex : at
    }))
    memory.started(index, emptyMemory)
    this.nextIndex = index + 1
    this.serving = true
  }

  private async recoverFromLog (): Promise<LogTail> {
    const { tail, recovered } = await recoverFromLog(this.log, this.drive)
    this.report.recovered = recovered
    if (recovered > 0) this.warn(`Recovered ${recovered} logged call(s) whose file changes had not reached the files archive.`)
    return tail
  }

  /** Writes the calls answered before the host stopped that the cores do not hold yet; true when there were any. */
  private async completeFromJournal (): Promise<boolean> {
    const missing = await journaledCalls(this.dir, this.log)
    if (missing.length === 0) return false
    await this.committer.complete(missing)
    this.warn(`Completed the call log with ${missing.length} answered call(s) that had not reached it before the host stopped.`)
    return true
  }

  /** Refuses a store that holds less than the host acknowledged (acknowledged.ts says what that guards against). */
  private async checkAcknowledged (): Promise<void> {
    const checked = await checkAcknowledged(this.dir, this.log.core, this.drive)
    if (!checked && this.log.length > 0) this.warn(`${this.dir} has no ${ACKNOWLEDGED_FILE} record (it was written by an older nodevms): starting one now.`)
  }

  /** The committer stopped: a full disk waits for room and reopens; anything else stops the host. */
  private failed (err: Error): void {
    this.unavailable = err
    if ((err as HostError).code === 'DISK_FULL') {
      this.warn(`${err.message} Calls are refused until there is room; the host checks every ${DiskFullWatch.INTERVAL_MS / 1000} s.`)
      this.diskFull.start()
      return
    }
    this.warn(err.message)
    this.options.onFailure?.(err)
  }

  /**
   * After a full disk: closes the store and the engine and opens them again from the log, as a restart
   * would (and logs a restart entry). Runs with the engine to itself, so no call executes meanwhile. Resolves
   * true when the host serves again.
   */
  private async reopen (): Promise<boolean> {
    return await this.dispatcher.alone(async () => {
      if (this.closing !== null) return true
      await this.closeSession()
      try {
        await this.openSafely()
      } catch (err) {
        this.unavailable = err as Error
        if ((err as HostError).code === 'DISK_FULL') return false
        this.warn((err as Error).message)
        this.options.onFailure?.(err as Error)
        return true
      }
      this.unavailable = null
      this.warn(`The disk has room again: reopened ${this.dir} from its log (a restart entry records it) and serving again.`)
      await this.options.onReopen?.().catch((err) => this.warn(`After reopening: ${(err as Error).message}`))
      return true
    })
  }

  private startAudit (): void {
    if (this.options.audit === false) return
    const audit = new StoreAudit(this.hostStore)
    this.audit = audit
    audit.run().catch((err) => {
      if (this.audit !== audit || this.closing !== null) return
      this.failed(err as Error)
    })
  }

  private warn (message: string): void {
    this.report.warnings.push(message)
    if (this.options.warn) this.options.warn(message)
    else process.stderr.write(`warning: ${message}\n`)
  }

  private async shutdown (): Promise<void> {
    this.diskFull.stop()
    await this.opening?.catch(() => {})
    await this.dispatcher.settled()
    await this.closeSession(this.unavailable === null)
  }

  /** Closes the engine and the store; with `checkpoint`, the memory is checkpointed first, so the next start is quick. */
  private async closeSession (checkpoint = false): Promise<void> {
    this.serving = false
    this.audit?.stop()
    this.audit = null
    await this.committer?.idle()
    const memory = this.memory
    this.memory = null
    await memory?.close({ checkpoint }).catch((err) => this.warn(`Closing the script's engine: ${(err as Error).message}`))
    await this.closeStorage()
  }

  private async closeStorage (): Promise<void> {
    await this.committer?.close()
    await this.drive?.close().catch(() => {})
    await this.log?.core.close().catch(() => {})
    await this.hostStore?.close()
  }
}
