// One call run in a loaded script: call text → guest → how the call ended (an Outcome). Gas and the
// deadline are metered, oracles recorded or played back. System.files requests settle in request
// order, one at a time, each followed by the guest's pending jobs, so microtask order never depends
// on I/O timing; the worker performs each one (worker-files.ts), blocking while it asks the caller's thread.
import type { QuickJSHandle } from 'quickjs-emscripten'
import { CallErrorName, EngineError } from './errors.js'
import type { GuestError } from './files.js'
import { Meter } from './meter.js'
import { OracleTape, playOracle } from './oracle.js'
import type { LoadOptions, RecordMessage, ReplayInput } from './protocol.js'
import type { Bridge } from './instance.js'
import type { ScriptRuntime } from './script-runtime.js'

/** How much longer than a live call a replayed one may run before its deadline fires. */
const REPLAY_TIMEOUT_FACTOR = 10

/** The answer to one System.files request: a value, an error for the guest, or a storage fault. */
export type FileAnswer = { ok: true, value: string | Uint8Array | undefined } | { ok: false, error: GuestError } | 'fault'

/** Performs System.files requests for the sandbox (the worker's files, or a rollback's tape). */
export interface FileBridge {
  perform (name: string, args: unknown[], data: Uint8Array | undefined): FileAnswer
}

/**
 * One call as the caller's thread prepared it. `text` is the guest's call text: the method name alone
 * when `byName`, else [method, args, caller, time, seed] as JSON. `files` numbers the archive its Files
 * show (the same number: the same archive, see Files.viewOf).
 */
export interface CallInput { text: string, byName: boolean, method: string, replay: ReplayInput | null, files?: number }

/** How a call ended, as the worker reports it; the result stays the guest's JSON text. */
export type Outcome = Omit<RecordMessage, 'result'> & { resultJson?: string }

/** Why a call has no effect: a limit it hit, or QuickJS failing under it. */
export type Limit = 'gas' | 'deadline' | 'memory' | 'fault'

/** What execute() ended with: the guest's outcome (a number result, or a string), or why there is none. */
type Ending = number | string | typeof UNSETTLED | typeof NO_OUTCOME
const UNSETTLED = Symbol('unsettled')
const NO_OUTCOME = Symbol('no outcome')

export class CallRunner {
  readonly meter = new Meter()
  private oracles: OracleTape | null = null
  private storageFault = false
  /** Set by the last run: the limit that call hit, if any. */
  limit: Limit | null = null

  constructor (private readonly options: LoadOptions, private readonly runtimeNow: () => ScriptRuntime) {}

  /** The guest's System.oracle, bound to the call in progress. */
  oracle (fn: QuickJSHandle): string {
    return playOracle(this.oracles!, this.meter, this.runtimeNow(), fn)
  }

  /** One call from start to how it ended. */
  run (input: CallInput, files: FileBridge): Outcome {
    const runtime = this.runtimeNow()
    const { replay } = input
    const oracles = new OracleTape(replay === null ? null : replay.oracles ?? [])
    this.oracles = oracles
    this.storageFault = false
    this.limit = null
    // A replay on a slower machine must not fail where the live call passed, so its safety net is
    // wider; where the live call hit the deadline, the replay stops at the recorded gas instead.
    const timeoutMs = this.options.timeoutMs * (replay === null ? 1 : REPLAY_TIMEOUT_FACTOR)
    this.meter.start(this.options.gasLimit, timeoutMs, replay?.deadlineGas)
    runtime.counter.reset()
    let ending: Ending
    let fault: unknown = null
    try {
      ending = this.execute(runtime, input.text, input.byName, files)
    } catch (err) {
      ending = NO_OUTCOME
      fault = err
    }
    this.oracles = null
    const record: Outcome = { oracles: oracles.recorded, gas: this.meter.gas }
    // The files archive failed under the call: its outcome is not a function of the log.
    if (this.storageFault) return { ...record, storageFault: true }
    this.settle(record, input.method, ending, fault)
    if (oracles.overrun || oracles.unused > 0) {
      const wanted = replay?.oracles.length ?? 0
      const detail = oracles.overrun ? `oracle #${wanted} was never recorded` : `oracle #${oracles.recorded.length} was recorded but never asked for`
      record.error = { name: CallErrorName.REPLAY_DIVERGED, message: `${input.method} asked for ${oracles.overrun ? 'more' : 'fewer'} oracles in the replay than the log recorded (${wanted}): ${detail}` }
      delete record.resultJson
    }
    return record
  }

  /** Fills in result or error, and the limit the call hit, if any. */
  private settle (record: Outcome, method: string, ending: Ending, fault: unknown): void {
    const stopped = this.meter.stopped
    if (stopped === 'gas') {
      this.limit = 'gas'
      record.error = { name: CallErrorName.GAS_EXHAUSTED, message: `${method} ran out of gas (limit ${this.options.gasLimit}). Do less work per call, or raise --gas.` }
    } else if (stopped === 'deadline') {
      this.limit = 'deadline'
      // Fired inside an oracle fn: the oracle outcome records it, not a gas position.
      if (!this.meter.stoppedInOracle) record.deadlineGas = this.meter.gas
      // No timeout value in the message: a replay runs with its own clock, and must give the same text.
      record.error = { name: CallErrorName.DEADLINE_EXCEEDED, message: `${method} ran past the wall-clock deadline. Do less work per call, or raise --timeout.` }
    } else if (ending === UNSETTLED) {
      record.error = { name: CallErrorName.UNSETTLED, message: `${method} returned a promise that can never settle: it waits on something that nothing will resolve.` }
    } else if (typeof ending === 'number') {
      record.resultJson = JSON.stringify(ending)
    } else if (typeof ending === 'string' && ending.startsWith('ok')) {
      record.resultJson = ending.slice(2)
    } else if (typeof ending === 'string' && ending.startsWith('err') && !isOutOfMemoryError(ending)) {
      record.error = ownError(JSON.parse(ending.slice(3)) as { name: string, message: string })
    } else {
      // 'oom', an uncaught out-of-memory InternalError, or QuickJS could not go on.
      const oom = fault === null || isOutOfMemoryFault(fault)
      this.limit = oom ? 'memory' : 'fault'
      record.error = oom
        ? { name: CallErrorName.OUT_OF_MEMORY, message: `${method} ran out of memory (limit ${Math.round(this.options.memoryLimit / 1048576)} MB). The call had no effect on the script's memory.` }
        : { name: CallErrorName.ENGINE_FAULT, message: `QuickJS failed while running ${method}: ${String(fault)}. The call had no effect on the script's memory.` }
    }
  }

  /** Runs the call until it has no jobs and no file requests left, and returns how it ended. */
  private execute (runtime: ScriptRuntime, text: string, byName: boolean, files: FileBridge): Ending {
    const started = runtime.invoke(text, byName)
    if (started.error) return this.interrupted(runtime, started.error)
    // A number or string is the outcome of a sync call; 'undefined' (a sync outcome behind file
    // requests) or 'async' means it goes on through its jobs and file requests.
    const first = runtime.read(started.value)
    started.value.dispose()
    if (first !== 'undefined' && first !== 'async') {
      if (!runtime.rt.hasPendingJob()) return first
      return this.runOut(runtime, first, null, files)
    }
    let promise: QuickJSHandle | null = null
    if (first === 'async') {
      const taken = runtime.takeResult()
      if (taken === undefined) return this.interrupted(runtime, null)
      promise = taken.promise
    }
    try {
      return this.runOut(runtime, first, promise, files)
    } finally {
      promise?.dispose()
    }
  }

  /** Runs the call's jobs and file requests (one at a time, in request order), then reads its outcome. */
  private runOut (runtime: ScriptRuntime, first: number | string, promise: QuickJSHandle | null, files: FileBridge): Ending {
    if (!this.runJobs(runtime)) return NO_OUTCOME
    let next = runtime.step()
    while (typeof next === 'string' && next.startsWith('R')) {
      const answer = this.fileRequest(runtime, next, files)
      if (answer === 'fault') {
        // The guest's promises stay pending; its remaining jobs are run out and the call ends.
        this.storageFault = true
        this.meter.stop('fault')
        this.drain(runtime)
        return NO_OUTCOME
      }
      const settled = answer.ok ? runtime.settle(true, answer.value) : runtime.settle(false, JSON.stringify(answer.error))
      if (!settled || !this.runJobs(runtime)) return this.interrupted(runtime, null)
      next = runtime.step()
    }
    if (next === null) return this.interrupted(runtime, null)
    if (first !== 'undefined' && first !== 'async') return first
    if (promise !== null) next = runtime.settledOutcome(promise)
    if (next === null) return this.interrupted(runtime, null)
    return next === 'undefined' ? UNSETTLED : next
  }

  /** The host's answer to the guest's oldest file request ('R' + JSON), after checking its shape. */
  private fileRequest (runtime: ScriptRuntime, text: string, files: FileBridge): FileAnswer {
    let request: unknown
    try { request = JSON.parse(text.slice(1)) } catch { request = null }
    if (!Array.isArray(request) || request.length !== 3 || typeof request[0] !== 'string' || !Array.isArray(request[1]) || typeof request[2] !== 'boolean') {
      return { ok: false, error: { name: 'TypeError', message: 'System.files received a request it cannot read' } }
    }
    const [name, args, hasData] = request as [string, unknown[], boolean]
    const data = hasData ? runtime.requestData() : undefined
    if (data === null) return { ok: false, error: { name: 'TypeError', message: 'the data to write is not bytes' } }
    return files.perform(name, args, data)
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

/** The names that say the engine stopped a call (so it had no effect): a script's own error cannot claim them. */
const ENGINE_STOPS: ReadonlySet<string> = new Set([CallErrorName.GAS_EXHAUSTED, CallErrorName.DEADLINE_EXCEEDED, CallErrorName.OUT_OF_MEMORY, CallErrorName.ENGINE_FAULT])

/**
 * An error the script threw, as recorded. One named like an engine stop keeps its effects (it is the
 * script's own), so it is renamed: otherwise a host, a restore and a verifier that go by the name would
 * take it for a call that had no effect.
 */
function ownError (error: { name: string, message: string }): { name: string, message: string } {
  if (!ENGINE_STOPS.has(error.name)) return error
  return { name: 'Error', message: `the script threw an error named ${error.name}, a name only the engine gives: ${error.message}` }
}

/** An uncaught QuickJS out-of-memory error. */
function isOutOfMemoryError (outcome: string): boolean {
  return outcome.includes('"message":"out of memory"') && outcome.includes('"name":"InternalError"')
}

function isOutOfMemoryFault (fault: unknown): boolean {
  return fault === null || /out of memory|memory access out of bounds/i.test(String((fault as Error)?.message ?? fault))
}
