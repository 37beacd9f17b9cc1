// One engine: a script loaded in its own QuickJS instance, called one call at a time.
// script → engine.call() → CallRecord. Host operations (System.files) settle in request order, one at
// a time, each followed by the guest's pending jobs, so microtask order never depends on I/O timing.
import { randomBytes } from 'node:crypto'
import type { QuickJSHandle } from 'quickjs-emscripten'
import { CallErrorName, EngineError } from './errors.js'
import { performRequest, StorageFault, type FileOutcome } from './file-ops.js'
import { FileSystem, MemoryFiles } from './files.js'
import { Meter } from './meter.js'
import { OracleTape, playOracle } from './oracle.js'
import { ScriptRuntime, type Bridge, type RuntimeOptions } from './script-runtime.js'
import type { CallOptions, CallRecord, Engine, EngineOptions } from './types.js'

export const DEFAULT_LIMITS = {
  /** Interrupt polls per call: roughly a second of busy compute on a 2020s core. */
  gasLimit: 10_000,
  memoryLimit: 64 * 1024 * 1024,
  timeoutMs: 5_000
}

/** How much longer than a live call a replayed one may run before its deadline fires. */
const REPLAY_TIMEOUT_FACTOR = 10

export type LogFn = (level: 'log' | 'error', message: string) => void

export interface InternalEngineOptions extends EngineOptions {
  /** Where console.log / console.error go. Default: stderr, prefixed with the file name. */
  log?: LogFn
}

/** Per-call state that the host functions inside QuickJS reach through the engine. */
interface CallState { tape: OracleTape }

/** What execute() ended with: the guest's outcome (a number result, or a string), or why there is none. */
type Ending = number | string | typeof UNSETTLED | typeof NO_OUTCOME
const UNSETTLED = Symbol('unsettled')
const NO_OUTCOME = Symbol('no outcome')

export class QuickJSEngine implements Engine {
  private runtime: ScriptRuntime | null = null
  private readonly meter = new Meter()
  private readonly fs: FileSystem
  private readonly runtimeOptions: RuntimeOptions
  private readonly log: LogFn
  private readonly bridge: Bridge
  private current: CallState | null = null
  private queue: Promise<unknown> = Promise.resolve()
  private closed = false
  private broken: Error | null = null

  private constructor (source: string, options: InternalEngineOptions) {
    this.fs = new FileSystem(options.files ?? new MemoryFiles())
    const filename = options.filename ?? 'script.js'
    this.runtimeOptions = {
      source,
      filename,
      seeded: options.seeded === true,
      gasLimit: options.gasLimit ?? DEFAULT_LIMITS.gasLimit,
      memoryLimit: options.memoryLimit ?? DEFAULT_LIMITS.memoryLimit,
      timeoutMs: options.timeoutMs ?? DEFAULT_LIMITS.timeoutMs
    }
    this.log = options.log ?? ((level, message) => process.stderr.write(`[${filename}] ${level === 'error' ? 'error: ' : ''}${message}\n`))
    this.bridge = {
      oracle: (fn) => playOracle(this.current!.tape, this.meter, this.runtime!, fn),
      log: (level, message) => this.log(level, message)
    }
  }

  static async create (source: string, options: InternalEngineOptions = {}): Promise<QuickJSEngine> {
    if (typeof source !== 'string') throw new TypeError('createEngine(source): source must be a string')
    const engine = new QuickJSEngine(source, options)
    engine.runtime = await ScriptRuntime.open(engine.runtimeOptions, engine.meter, engine.bridge)
    return engine
  }

  get methods (): string[] {
    return this.runtime?.methods.slice() ?? []
  }

  call (method: string, args: unknown[] = [], options: CallOptions = {}): Promise<CallRecord> {
    // Checked when the call is made: calls queued before close() still run.
    if (this.closed) return Promise.reject(EngineError.ENGINE_CLOSED())
    const run = this.queue.then(() => this.runCall(method, args, options))
    this.queue = run.catch(() => {})
    return run
  }

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.queue
    this.runtime?.dispose()
    this.runtime = null
  }

  /** One call from start to record. Synchronous unless a file request or a rebuild makes it wait. */
  private runCall (method: string, args: unknown[], options: CallOptions): CallRecord | Promise<CallRecord> {
    if (this.broken) throw this.broken
    const runtime = this.runtime!
    if (!runtime.methods.includes(method)) throw EngineError.METHOD_NOT_FOUND(method, runtime.methods)
    const argsJson = encodeArgs(method, args)
    const caller = options.caller ?? null
    if (caller !== null && typeof caller !== 'string') throw EngineError.INVALID_ARGS(method, 'the caller must be a string or null')
    const replay = options.replay
    const record: CallRecord = {
      method,
      args: argsJson === '[]' ? [] : JSON.parse(argsJson) as unknown[],
      caller,
      oracles: [],
      gas: 0
    }
    if (this.runtimeOptions.seeded) {
      // A replay never takes a live value: a record without time or seed leaves Date and Math.random guarded.
      if (replay === undefined) {
        record.time = Date.now()
        record.seed = randomBytes(16).toString('hex')
      } else {
        if (replay.time !== undefined) record.time = replay.time
        if (replay.seed !== undefined) record.seed = replay.seed
      }
    }
    const tape = new OracleTape(replay ? replay.oracles ?? [] : null)
    this.current = { tape }
    // A replay on a slower machine must not fail where the live call passed, so its safety net is
    // wider; where the live call hit the deadline, the replay stops at the recorded gas instead.
    const timeoutMs = this.runtimeOptions.timeoutMs * (replay === undefined ? 1 : REPLAY_TIMEOUT_FACTOR)
    this.meter.start(this.runtimeOptions.gasLimit, timeoutMs, replay?.deadlineGas)
    runtime.counter.reset()
    const byName = argsJson === '[]' && caller === null && record.time === undefined && record.seed === undefined
    const text = byName ? method : `[${JSON.stringify(method)},${argsJson},${JSON.stringify(caller)},${record.time ?? null},${record.seed === undefined ? null : JSON.stringify(record.seed)}]`
    const done = (ending: Ending, fault: unknown) => this.complete(record, runtime, tape, replay, ending, fault)
    let running: Ending | Promise<Ending>
    try {
      running = this.execute(runtime, text, byName)
    } catch (err) {
      return done(NO_OUTCOME, err)
    }
    if (running instanceof Promise) return running.then((ending) => done(ending, null), (err: unknown) => done(NO_OUTCOME, err))
    return done(running, null)
  }

  /** Fills in the record from how the call ended; rebuilds the runtime when QuickJS could not go on. */
  private complete (record: CallRecord, runtime: ScriptRuntime, tape: OracleTape, replay: CallRecord | undefined, ending: Ending, fault: unknown): CallRecord | Promise<CallRecord> {
    const { method } = record
    this.current = null
    record.oracles = tape.recorded
    record.gas = this.meter.gas
    if (fault instanceof StorageFault) {
      // The files archive failed under the call: its outcome is not a function of the log, so the
      // engine must not go on as if it were.
      this.broken = fault.error
      throw fault.error
    }
    const rebuild = this.settleRecord(record, ending, fault)
    if (tape.overrun || tape.unused > 0) {
      const detail = tape.overrun ? `oracle #${replay?.oracles.length ?? 0} was never recorded` : `oracle #${tape.recorded.length} was recorded but never asked for`
      record.error = { name: CallErrorName.REPLAY_DIVERGED, message: `${method} asked for ${tape.overrun ? 'more' : 'fewer'} oracles in the replay than the log recorded (${replay?.oracles.length ?? 0}): ${detail}` }
      delete record.result
    }
    if (!rebuild) return record
    record.rebuilt = true
    runtime.dead = true
    this.runtime = null
    return ScriptRuntime.open(this.runtimeOptions, this.meter, this.bridge).then((fresh) => {
      this.runtime = fresh
      return record
    }, (err: unknown) => {
      this.broken = new EngineError(`The script could not be reloaded after ${method} ran out of memory: ${(err as Error).message}`, 'RELOAD_FAILED', { cause: err })
      return record
    })
  }

  /** Fills in result or error. True when QuickJS ran out of memory or faulted, and must start afresh. */
  private settleRecord (record: CallRecord, ending: Ending, fault: unknown): boolean {
    const { method } = record
    const stopped = this.meter.stopped
    if (stopped === 'gas') {
      record.error = { name: CallErrorName.GAS_EXHAUSTED, message: `${method} ran out of gas (limit ${this.runtimeOptions.gasLimit}). Do less work per call, or raise --gas.` }
    } else if (stopped === 'deadline') {
      // Fired inside an oracle fn: the oracle outcome records it, not a gas position.
      if (!this.meter.stoppedInOracle) record.deadlineGas = this.meter.gas
      // No timeout value in the message: a replay runs with its own clock, and must give the same text.
      record.error = { name: CallErrorName.DEADLINE_EXCEEDED, message: `${method} ran past the wall-clock deadline. Do less work per call, or raise --timeout.` }
    } else if (ending === UNSETTLED) {
      record.error = { name: CallErrorName.UNSETTLED, message: `${method} returned a promise that can never settle: it waits on something that nothing will resolve.` }
    } else if (typeof ending === 'number') {
      record.result = ending
    } else if (typeof ending === 'string' && ending.startsWith('ok')) {
      record.result = JSON.parse(ending.slice(2))
    } else if (typeof ending === 'string' && ending.startsWith('err') && !isOutOfMemoryError(ending)) {
      record.error = JSON.parse(ending.slice(3)) as { name: string, message: string }
    } else {
      // 'oom', an uncaught out-of-memory InternalError, or QuickJS could not go on.
      const oom = fault === null || isOutOfMemoryFault(fault)
      record.error = oom
        ? { name: CallErrorName.OUT_OF_MEMORY, message: `${method} ran out of memory (limit ${Math.round(this.runtimeOptions.memoryLimit / 1048576)} MB). The script's in-memory state was reset.` }
        : { name: CallErrorName.ENGINE_FAULT, message: `QuickJS failed while running ${method}: ${String(fault)}. The script's in-memory state was reset.` }
      return true
    }
    return false
  }

  /**
   * Runs the call until it has no jobs and no file requests left, and returns how it ended. Stays
   * synchronous unless a file request is waiting: most calls never touch the event loop.
   */
  private execute (runtime: ScriptRuntime, text: string, byName: boolean): Ending | Promise<Ending> {
    const started = runtime.invoke(text, byName)
    if (started.error) return this.interrupted(runtime, started.error)
    // A number or string is the outcome of a sync call; 'undefined' means it goes on through its
    // jobs and file requests, and step() gives its outcome at the end.
    const first = runtime.read(started.value)
    started.value.dispose()
    if (first !== 'undefined' && !runtime.rt.hasPendingJob()) return first
    if (!this.runJobs(runtime)) return NO_OUTCOME
    const next = runtime.step()
    if (typeof next === 'string' && next.startsWith('R')) return this.serveFiles(runtime, first, next)
    return this.finish(runtime, first, next)
  }

  /** Performs file requests one at a time, in request order, each followed by the jobs it released. */
  private async serveFiles (runtime: ScriptRuntime, first: number | string, request: string): Promise<Ending> {
    let next: number | string | null = request
    while (typeof next === 'string' && next.startsWith('R')) {
      const [name, args, hasData] = JSON.parse(next.slice(1)) as [string, unknown[], boolean]
      const data = hasData ? runtime.requestData() : undefined
      let outcome: FileOutcome
      try {
        outcome = data === null
          ? { ok: false, error: { name: 'TypeError', message: 'the data to write is not bytes' } }
          : await performRequest(this.fs, { name, args, data })
      } catch (fault) {
        // The guest's promises stay pending; the engine is stopped (see runCall).
        this.meter.stop('fault')
        this.drain(runtime)
        throw fault
      }
      const settled = outcome.ok ? runtime.settle(true, outcome.value) : runtime.settle(false, JSON.stringify(outcome.error))
      if (!settled || !this.runJobs(runtime)) return this.interrupted(runtime, null)
      next = runtime.step()
    }
    return this.finish(runtime, first, next)
  }

  private finish (runtime: ScriptRuntime, first: number | string, last: number | string | null): Ending {
    if (last === null) return this.interrupted(runtime, null)
    if (first !== 'undefined') return first
    return last === 'undefined' ? UNSETTLED : last
  }

  /** A call into the guest failed: an interrupt (run out its jobs) or out of memory. */
  private interrupted (runtime: ScriptRuntime, error: QuickJSHandle | null): typeof NO_OUTCOME {
    error?.dispose()
    if (this.meter.stopped !== null) this.drain(runtime)
    return NO_OUTCOME
  }

  /** Runs the pending jobs. False when they were interrupted or QuickJS ran out of memory. */
  private runJobs (runtime: ScriptRuntime): boolean {
    const { ctx, rt } = runtime
    while (rt.hasPendingJob()) {
      const jobs = rt.executePendingJobs()
      if (!jobs.error) { jobs.dispose(); continue }
      const isNull = ctx.typeof(jobs.error) === 'object' && ctx.dump(jobs.error) === null
      jobs.error.dispose()
      if (this.meter.stopped !== null) { this.drain(runtime); return false }
      if (isNull) return false
    }
    return this.meter.stopped === null
  }

  /** After an interrupt: run out the call's jobs (every poll now interrupts); its file requests are dropped. */
  private drain (runtime: ScriptRuntime): void {
    for (let i = 0; i < 10_000 && runtime.rt.hasPendingJob(); i++) {
      const jobs = runtime.rt.executePendingJobs()
      if (jobs.error) jobs.error.dispose()
    }
  }
}

function encodeArgs (method: string, args: unknown): string {
  if (!Array.isArray(args)) throw EngineError.INVALID_ARGS(method, 'args must be an array')
  if (args.length === 0) return '[]'
  try {
    return JSON.stringify(args, (_key, value: unknown) => {
      const t = typeof value
      if (t === 'function' || t === 'symbol' || t === 'bigint') throw new TypeError(`a ${t} is not a JSON value`)
      if (t === 'number' && !Number.isFinite(value)) throw new TypeError(`${String(value)} is not a JSON number`)
      return value
    })
  } catch (err) {
    throw EngineError.INVALID_ARGS(method, (err as Error).message)
  }
}

/** An uncaught QuickJS out-of-memory error. */
function isOutOfMemoryError (outcome: string): boolean {
  return outcome.includes('"message":"out of memory"') && outcome.includes('"name":"InternalError"')
}

function isOutOfMemoryFault (fault: unknown): boolean {
  return fault === null || /out of memory|memory access out of bounds/i.test(String((fault as Error)?.message ?? fault))
}
