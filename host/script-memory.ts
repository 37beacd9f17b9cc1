// The script's engine and the memory it holds, across restarts and across calls the host discards.
// start: a fresh engine, or the memory the log made (CONTRACT §7): the newest checkpoint the engine accepts,
// then a replay of the entries after it (restore.ts). While serving: a checkpoint every so many calls and when
// idle, written to DIR/checkpoints (checkpoint-files.ts) off the call path. rollBack: the memory as the log
// says it is, after a call whose entry says it had no effect but whose effects the engine kept (a call too
// large for the log): the newest checkpoint, then the calls since it.
import type Hyperdrive from 'hyperdrive'
import { createEngine, EngineError, type Engine, type Files, type LogFn } from '../engine/index.js'
import type { CallLog, Limits, Mode } from './call-log.js'
import { CheckpointFiles } from './checkpoint-files.js'
import { replayLog, type ReplayCount } from './restore.js'

/** The engine's own Files: a replayed call's transaction, or the live files (a live call brings its own transaction). */
export class CallFiles implements Files {
  current: Files
  constructor (initial: Files) { this.current = initial }
  get (path: string) { return this.current.get(path) }
  put (path: string, data: Uint8Array) { return this.current.put(path, data) }
  del (path: string) { return this.current.del(path) }
  list (dir: string) { return this.current.list(dir) }
}

export interface ScriptMemoryOptions {
  dir: string
  log: CallLog
  drive: Hyperdrive
  /** The script that runs (the segment's source) and the file name its init or upgrade entry records. */
  source: string
  filename: string
  mode: Mode
  limits: Limits
  /** The files live calls see (the host's pending files). */
  live: Files
  /** Script console output, silenced while calls are replayed. */
  scriptLog?: LogFn
  warn: (message: string) => void
  progress: (line: string) => void
  /** Runs work between two calls: when no call is in the engine, before the next one goes. */
  betweenCalls: (work: () => Promise<void>) => void
  /** Resolves once the call log's core holds `length` entries (answered calls reach it a little later). */
  inLog: (length: number) => Promise<void>
  checkpoints?: CheckpointPolicy | false
}

/** When a checkpoint is written while serving. */
export interface CheckpointPolicy {
  /** After this many calls since the last one (default 10,000)... */
  everyCalls?: number
  /** ...or once the calls since the last one took this long to run (default 2 s)... */
  everyMs?: number
  /** ...and after this long without calls, when any came since the last one (default 1 s). */
  idleMs?: number
}

/** How the memory was restored at start, for the host's report. */
export interface RestoreReport {
  /** The log length the memory covers before this start's lifecycle entry. */
  length: number
  /** The log length the checkpoint it started from covers; null when it replayed from the segment's start. */
  checkpoint: number | null
  replayed: number
  skipped: number
  ms: number
}

const DEFAULT_POLICY: Required<CheckpointPolicy> = { everyCalls: 10_000, everyMs: 2_000, idleMs: 1_000 }
/** Checkpoints are at least this many times their own cost (taking and writing) apart: at most ~1% of the time. */
const SPACING = 100
/** A restore that replayed at least this many calls is followed by a checkpoint, so the next start is quick. */
const REPLAYED_WORTH_A_CHECKPOINT = 1000

export class ScriptMemory {
  readonly files: CallFiles
  private current: Engine | null = null
  private readonly disk: CheckpointFiles
  private readonly policy: Required<CheckpointPolicy> | null
  /** The log length the engine's memory covers, the promise that it is durable, and where the segment starts. */
  private length = 0
  private durable: Promise<unknown> = Promise.resolve()
  private segmentStart = 0
  /** The newest checkpoint taken, kept for a rollback. */
  private latest: { length: number, bytes: Uint8Array } | null = null
  private sinceCalls = 0
  private sinceMs = 0
  private lastAt = 0
  private lastCostMs = 0
  private writing: Promise<void> | null = null
  private idleTimer: NodeJS.Timeout | null = null
  private lastCallAt = 0
  private replaying = false
  /** A checkpoint waits for the host to run it between calls. */
  private requested = false
  private closed = false
  private readonly warned = new Set<string>()

  constructor (private readonly options: ScriptMemoryOptions) {
    this.files = new CallFiles(options.live)
    this.disk = new CheckpointFiles(options.dir)
    this.policy = options.checkpoints === false ? null : { ...DEFAULT_POLICY, ...options.checkpoints }
  }

  get engine (): Engine {
    if (this.current === null) throw new Error('ScriptMemory has no engine: call start() first')
    return this.current
  }

  /** A fresh engine: the script's top level, empty memory. The caller then logs the entry that says so. */
  async startFresh (): Promise<void> {
    this.current = await this.createEngine()
  }

  /**
   * The memory the log's first `length` entries made, from the segment that starts at `segmentStart`:
   * the newest usable checkpoint, then the calls after it. Throws RESTORE_DIVERGED for a log it cannot explain.
   */
  async restore (segmentStart: number, length: number): Promise<RestoreReport> {
    this.segmentStart = segmentStart
    await this.disk.removeTemporary().catch(() => {})
    const report = await this.rebuild(length)
    this.length = length
    if (this.policy !== null && report.replayed >= REPLAYED_WORTH_A_CHECKPOINT) this.track(this.checkpoint())
    return report
  }

  /** The lifecycle entry of this start is logged at `index`; `emptyMemory` when it began the segment. */
  started (index: number, emptyMemory: boolean): void {
    if (emptyMemory) this.segmentStart = index
    this.length = index + 1
    this.lastAt = performance.now()
  }

  /**
   * A call ran and its entry (the log's `length`th) was submitted; `durable` resolves when it is on disk.
   * Asks for a checkpoint when one is due: taken between calls, written once durable.
   */
  afterCall (length: number, durable: Promise<unknown>, callMs: number): void {
    this.length = length
    this.durable = durable
    this.sinceCalls++
    this.sinceMs += callMs
    if (this.policy === null) return
    const due = this.sinceCalls >= this.policy.everyCalls || this.sinceMs >= this.policy.everyMs
    if (due && this.writing === null && performance.now() - this.lastAt >= SPACING * this.lastCostMs) this.checkpointBetweenCalls()
    this.armIdle()
  }

  /**
   * After a call the host logged as having no effect, though the engine kept its effects: the memory the log
   * says (the newest checkpoint and the calls since it, up to `length`, the discarded call's entry included).
   * The discarded call's entry must be durable before this runs; the replay waits for the log's core to hold it.
   */
  async rollBack (length: number): Promise<ReplayCount> {
    await this.writing
    await this.options.inLog(length)
    const old = this.current
    this.current = null
    await old?.close().catch(() => {})
    const report = await this.rebuild(length)
    this.length = length
    this.durable = Promise.resolve()
    if (this.policy !== null) this.track(this.checkpoint())
    return report
  }

  /** Stops the engine; with `checkpoint`, first writes one when calls came since the last. */
  async close (opts: { checkpoint?: boolean } = {}): Promise<void> {
    this.closed = true
    if (this.idleTimer !== null) clearTimeout(this.idleTimer)
    await this.writing
    if (opts.checkpoint === true && this.policy !== null && this.sinceCalls > 0 && this.current !== null) await this.checkpoint()
    const engine = this.current
    this.current = null
    await engine?.close()
  }

  // ---- restoring ----

  private async rebuild (length: number): Promise<RestoreReport> {
    const from = await this.fromCheckpoint(length)
    const start = from?.length ?? this.segmentStart + 1
    this.current = from?.engine ?? await this.createEngine()
    this.replaying = true
    let count: ReplayCount
    try {
      const { log, drive, progress } = this.options
      count = await replayLog({ log, drive, engine: this.current, useFiles: (files) => { this.files.current = files }, from: start, to: length, progress })
    } finally {
      this.replaying = false
      this.files.current = this.options.live
    }
    return { length, checkpoint: from?.length ?? null, ...count }
  }

  /** An engine from the newest checkpoint (the one kept in memory, then the files) that covers part of the segment. */
  private async fromCheckpoint (length: number): Promise<{ engine: Engine, length: number } | null> {
    const usable = (covers: number) => covers > this.segmentStart && covers <= length
    if (this.latest !== null && usable(this.latest.length)) {
      const engine = await this.createEngine(this.latest.bytes).catch((err) => { this.warn(`the checkpoint kept in memory: ${(err as Error).message}`); return null })
      if (engine !== null) return { engine, length: this.latest.length }
    }
    for (const name of await this.disk.names().catch(() => [])) {
      let engine: Engine | null = null
      let covers = 0
      try {
        const file = await this.disk.read(name)
        covers = file.header.length
        if (!usable(covers) && covers <= this.segmentStart) continue // from before the memory's segment: nothing to warn about
        await this.check(file.header, length)
        engine = await this.createEngine(file.engine)
      } catch (err) {
        this.warn(`Ignored the memory checkpoint ${this.disk.dir}/${name}: ${(err as Error).message.replace(/\.$/, '')}. Restoring by replaying the log instead.`)
        continue
      }
      return { engine, length: covers }
    }
    return null
  }

  /** A checkpoint file's header must name this log, and a history this log extends. */
  private async check (header: { logKey: string, length: number, treeHash: string }, length: number): Promise<void> {
    const { log } = this.options
    if (header.logKey !== log.key) throw new Error(`it was taken on another call log (${header.logKey})`)
    if (header.length > length) throw new Error(`it covers ${header.length} log entries, and the log has ${length}: the log does not extend it`)
    const treeHash = (await log.core.treeHash(header.length)).toString('hex')
    if (treeHash !== header.treeHash) throw new Error(`the log's first ${header.length} entries are not the ones it was taken after: the log does not extend it`)
  }

  private async createEngine (checkpoint?: Uint8Array): Promise<Engine> {
    const { source, filename, mode, limits } = this.options
    const scriptLog = this.options.scriptLog ?? ((level, message) => process.stderr.write(`[${filename}] ${level === 'error' ? 'error: ' : ''}${message}\n`))
    try {
      return await createEngine(source, {
        filename,
        files: this.files,
        seeded: mode === 'seeded',
        gasLimit: limits.gas,
        memoryLimit: limits.memory,
        timeoutMs: limits.timeoutMs,
        patient: true,
        log: (level, message) => { if (!this.replaying) scriptLog(level, message) },
        ...(checkpoint !== undefined ? { checkpoint } : {})
      })
    } catch (err) {
      // A refused checkpoint's message tells an engine's caller to replay instead, which is what happens.
      if (checkpoint !== undefined && err instanceof EngineError && err.code === 'CHECKPOINT_REFUSED') throw new Error(err.message.replace(/\. Create the engine .*$/, ''))
      throw err
    }
  }

  // ---- checkpoints while serving ----

  /**
   * A checkpoint taken between two calls: the host runs it when no call is in the engine (calls are sent
   * ahead of their records, so the memory covers exactly the calls logged so far only then).
   */
  private checkpointBetweenCalls (): void {
    if (this.requested) return
    this.requested = true
    this.options.betweenCalls(async () => {
      this.requested = false
      if (this.closed || this.current === null || this.sinceCalls === 0 || this.writing !== null) return
      await new Promise<void>((taken) => this.track(this.checkpoint(taken)))
    })
  }

  /**
   * Takes a checkpoint of the memory now (no call may be in the engine), then writes it once its last entry
   * is durable; `taken` is told once the engine gave its bytes.
   */
  private async checkpoint (taken = () => {}): Promise<void> {
    const length = this.length
    const durable = this.durable
    const started = performance.now()
    const taking = this.engine.checkpoint()
    this.sinceCalls = 0
    this.sinceMs = 0
    let bytes: Uint8Array
    try {
      bytes = await taking
    } catch (err) {
      this.warnOnce(`Could not take a checkpoint of the script's memory: ${(err as Error).message}`)
      return
    } finally {
      taken()
    }
    this.lastCostMs = performance.now() - started
    this.lastAt = performance.now()
    this.latest = { length, bytes }
    try {
      await durable
      await this.options.inLog(length)
      // A log that is shorter than the memory (its core was truncated under the host) has no tree hash to name.
      if (this.options.log.length < length) throw new Error(`the call log has ${this.options.log.length} entries, fewer than the ${length} the memory covers`)
      const treeHash = (await this.options.log.core.treeHash(length)).toString('hex')
      const writing = performance.now()
      await this.disk.write({ logKey: this.options.log.key, length, treeHash }, bytes)
      this.lastCostMs += performance.now() - writing
      this.lastAt = performance.now()
    } catch (err) {
      if (!this.closed) this.warnOnce(`Could not write a checkpoint of the script's memory to ${this.disk.dir}: ${(err as Error).message}. The host serves on; a restart replays the log instead.`)
    }
  }

  /** Keeps one checkpoint in flight at a time. */
  private track (work: Promise<void>): void {
    const done = work.finally(() => { if (this.writing === done) this.writing = null })
    this.writing = done
  }

  /**
   * A checkpoint once no call came for idleMs. A call notes its time; the one timer, when it fires early, waits
   * for the rest (setting a timer on every call would cost each call a clear and a set).
   */
  private armIdle (): void {
    this.lastCallAt = performance.now()
    if (this.idleTimer !== null) return
    const wait = (ms: number): void => {
      this.idleTimer = setTimeout(() => {
        const idle = performance.now() - this.lastCallAt
        if (idle < this.policy!.idleMs) return wait(this.policy!.idleMs - idle)
        this.idleTimer = null
        this.checkpointBetweenCalls()
      }, ms)
      this.idleTimer.unref()
    }
    wait(this.policy!.idleMs)
  }

  private warn (message: string): void {
    this.options.warn(message)
  }

  private warnOnce (message: string): void {
    if (this.warned.has(message)) return
    this.warned.add(message)
    this.warn(message)
  }
}
