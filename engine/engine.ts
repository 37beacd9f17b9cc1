// One engine: a script loaded in its own QuickJS instance, called one call at a time.
// script → engine.call() → CallRecord. Host operations (System.files) settle in request order, one at
// a time, each followed by the guest's pending jobs, so microtask order never depends on I/O timing.
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import type { QuickJSContext, QuickJSDeferredPromise, QuickJSHandle, QuickJSRuntime } from 'quickjs-emscripten'
import { CallErrorName, EngineError } from './errors.js'
import { FileOpError, FileSystem, MemoryFiles, normalizePath } from './files.js'
import { Meter } from './meter.js'
import { INTERRUPTED_OUTCOME, OracleTape } from './oracle.js'
import { PRELUDE } from './prelude.js'
import type { CallOptions, CallRecord, Engine, EngineOptions } from './types.js'
import { InterruptCounter, instantiateQuickJS } from './wasm.js'

const require = createRequire(import.meta.url)
const ALEA_SOURCE = readFileSync(require.resolve('seedrandom/lib/alea.js'), 'utf8')

export const DEFAULT_LIMITS = {
  /** Interrupt polls per call: roughly a second of busy compute on a 2020s core. */
  gasLimit: 10_000,
  memoryLimit: 64 * 1024 * 1024,
  timeoutMs: 5_000
}
/** Below V8's own stack, so deep recursion ends in a clean InternalError (CONTRACT §2). */
const STACK_LIMIT = 256 * 1024

export type LogFn = (level: 'log' | 'error', message: string) => void

export interface InternalEngineOptions extends EngineOptions {
  /** Where console.log / console.error go. Default: stderr, prefixed with the file name. */
  log?: LogFn
}

interface PendingOp { name: string, args: unknown[], data: Uint8Array | undefined, deferred: QuickJSDeferredPromise }

/** Per-call state that the host functions inside QuickJS reach through the engine. */
interface CallState { tape: OracleTape, ops: PendingOp[] }

/** A QuickJS instance with the prelude and the script loaded. Dropped, not disposed, after a fault. */
class ScriptRuntime {
  dead = false
  constructor (
    readonly rt: QuickJSRuntime,
    readonly ctx: QuickJSContext,
    readonly counter: InterruptCounter,
    readonly invoke: QuickJSHandle,
    readonly runOracle: QuickJSHandle,
    readonly methods: string[]
  ) {}

  dispose (): void {
    if (this.dead) return
    this.dead = true
    this.invoke.dispose()
    this.runOracle.dispose()
    this.ctx.dispose()
    this.rt.dispose()
  }
}

export class QuickJSEngine implements Engine {
  private runtime: ScriptRuntime | null = null
  private readonly meter = new Meter()
  private readonly fs: FileSystem
  private readonly limits: typeof DEFAULT_LIMITS
  private readonly log: LogFn
  private current: CallState | null = null
  private queue: Promise<unknown> = Promise.resolve()
  private closed = false
  private broken: Error | null = null

  private constructor (
    private readonly source: string,
    private readonly options: InternalEngineOptions
  ) {
    this.fs = new FileSystem(options.files ?? new MemoryFiles())
    this.limits = {
      gasLimit: options.gasLimit ?? DEFAULT_LIMITS.gasLimit,
      memoryLimit: options.memoryLimit ?? DEFAULT_LIMITS.memoryLimit,
      timeoutMs: options.timeoutMs ?? DEFAULT_LIMITS.timeoutMs
    }
    const name = options.filename ?? 'script.js'
    this.log = options.log ?? ((level, message) => process.stderr.write(`[${name}] ${level === 'error' ? 'error: ' : ''}${message}\n`))
  }

  static async create (source: string, options: InternalEngineOptions = {}): Promise<QuickJSEngine> {
    if (typeof source !== 'string') throw new TypeError('createEngine(source): source must be a string')
    const engine = new QuickJSEngine(source, options)
    engine.runtime = await engine.openRuntime()
    return engine
  }

  get methods (): string[] {
    return this.runtime?.methods.slice() ?? []
  }

  call (method: string, args: unknown[] = [], options: CallOptions = {}): Promise<CallRecord> {
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

  private async openRuntime (): Promise<ScriptRuntime> {
    const filename = this.options.filename ?? 'script.js'
    const qjs = await instantiateQuickJS()
    const rt = qjs.newRuntime()
    rt.setMemoryLimit(this.limits.memoryLimit)
    rt.setMaxStackSize(STACK_LIMIT)
    const ctx = rt.newContext()
    const counter = InterruptCounter.locate(qjs, ctx)
    rt.setInterruptHandler(() => this.meter.poll())
    let invoke: QuickJSHandle | null = null
    let runOracle: QuickJSHandle | null = null
    try {
      const api = this.installPrelude(ctx)
      invoke = ctx.getProp(api, 'invoke')
      runOracle = ctx.getProp(api, 'runOracle')
      const load = ctx.getProp(api, 'load')
      api.dispose()
      this.meter.start(this.limits.gasLimit, this.limits.timeoutMs, undefined)
      counter.reset()
      const methods = this.loadScript(ctx, load, filename)
      load.dispose()
      return new ScriptRuntime(rt, ctx, counter, invoke, runOracle, methods)
    } catch (err) {
      invoke?.dispose()
      runOracle?.dispose()
      try { ctx.dispose(); rt.dispose() } catch {}
      throw err
    }
  }

  private installPrelude (ctx: QuickJSContext): QuickJSHandle {
    const factory = ctx.unwrapResult(ctx.evalCode(PRELUDE, 'nodevms-prelude.js'))
    const alea = ctx.unwrapResult(ctx.evalCode(`(function () { var module = { exports: {} }; ${ALEA_SOURCE}\n; return module.exports })()`, 'alea.js'))
    const host = ctx.newObject()
    const define = (name: string, fn: (...args: QuickJSHandle[]) => QuickJSHandle | undefined) => {
      const handle = ctx.newFunction(name, fn)
      ctx.setProp(host, name, handle)
      handle.dispose()
    }
    define('fileOp', (name, argsJson, data) => this.queueFileOp(ctx, ctx.getString(name), ctx.getString(argsJson), data))
    define('oracle', (fn) => ctx.newString(this.oracle(ctx, fn)))
    define('log', (level, text) => { this.log(ctx.getString(level) === 'error' ? 'error' : 'log', ctx.getString(text)); return undefined })
    const api = ctx.unwrapResult(ctx.callFunction(factory, ctx.undefined, host, alea))
    factory.dispose()
    alea.dispose()
    host.dispose()
    return api
  }

  private loadScript (ctx: QuickJSContext, load: QuickJSHandle, filename: string): string[] {
    const compiled = ctx.evalCode(`(function (exports, module) {${this.source}\n})`, filename)
    if (compiled.error) {
      const info = dumpError(ctx, compiled.error)
      compiled.error.dispose()
      load.dispose()
      throw EngineError.SCRIPT_SYNTAX(filename, info)
    }
    const loaded = ctx.callFunction(load, ctx.undefined, compiled.value)
    compiled.value.dispose()
    if (loaded.error) {
      const info = this.meter.stopped === 'gas'
        ? 'GasExhaustedError: the top level ran out of gas'
        : this.meter.stopped === 'deadline' ? 'DeadlineExceededError: the top level ran past the deadline' : dumpError(ctx, loaded.error)
      loaded.error.dispose()
      load.dispose()
      throw EngineError.SCRIPT_LOAD_FAILED(filename, info)
    }
    const methods = JSON.parse(ctx.getString(loaded.value)) as string[]
    loaded.value.dispose()
    // Promise jobs the top level queued settle now, inside the load's gas, not in the first call's.
    const jobs = ctx.runtime.executePendingJobs()
    if (jobs.error) {
      const info = this.meter.stopped !== null ? `${this.meter.stopped === 'gas' ? 'GasExhaustedError' : 'DeadlineExceededError'}: the top level's promise jobs ran too long` : dumpError(ctx, jobs.error)
      jobs.error.dispose()
      throw EngineError.SCRIPT_LOAD_FAILED(filename, info)
    }
    return methods
  }

  private async runCall (method: string, args: unknown[], options: CallOptions): Promise<CallRecord> {
    if (this.closed) throw EngineError.ENGINE_CLOSED()
    if (this.broken) throw this.broken
    let runtime = this.runtime!
    if (!runtime.methods.includes(method)) throw EngineError.METHOD_NOT_FOUND(method, runtime.methods)
    const argsJson = encodeArgs(method, args)
    const replay = options.replay
    const record: CallRecord = {
      method,
      args: JSON.parse(argsJson) as unknown[],
      caller: options.caller ?? null,
      oracles: [],
      gas: 0
    }
    if (this.options.seeded === true) {
      record.time = replay?.time ?? Date.now()
      record.seed = replay?.seed ?? randomBytes(16).toString('hex')
    }
    const tape = new OracleTape(replay ? replay.oracles : null)
    this.current = { tape, ops: [] }
    this.meter.start(this.limits.gasLimit, this.limits.timeoutMs, replay?.deadlineGas)
    runtime.counter.reset()

    let outcome: string | null = null
    let fault: unknown = null
    try {
      outcome = await this.execute(runtime, record, argsJson)
    } catch (err) {
      fault = err
    }
    this.current = null
    record.oracles = tape.recorded
    record.gas = this.meter.gas

    const stopped = this.meter.stopped
    if (stopped === 'gas') {
      record.error = { name: CallErrorName.GAS_EXHAUSTED, message: `${method} ran out of gas (limit ${this.limits.gasLimit}). Do less work per call, or raise --gas.` }
    } else if (stopped === 'deadline') {
      // Fired inside an oracle fn: the oracle outcome records it, not a gas position.
      if (!this.meter.stoppedInOracle) record.deadlineGas = this.meter.gas
      record.error = { name: CallErrorName.DEADLINE_EXCEEDED, message: `${method} ran past the ${this.limits.timeoutMs} ms deadline. Do less work per call, or raise --timeout.` }
    } else if (fault instanceof StorageFault) {
      // The files archive failed under the call: its outcome is not a function of the log, so the
      // engine must not go on as if it were.
      this.broken = fault.error
      throw fault.error
    } else if (fault !== null || outcome === null || isOutOfMemory(outcome)) {
      const oom = fault === null || isOutOfMemoryFault(fault)
      record.error = oom
        ? { name: CallErrorName.OUT_OF_MEMORY, message: `${method} ran out of memory (limit ${Math.round(this.limits.memoryLimit / 1048576)} MB). The script's in-memory state was reset.` }
        : { name: CallErrorName.ENGINE_FAULT, message: `QuickJS failed while running ${method}: ${String(fault)}. The script's in-memory state was reset.` }
      record.rebuilt = true
      runtime.dead = true
      this.runtime = runtime = await this.openRuntime()
    } else if (outcome === UNSETTLED) {
      record.error = { name: CallErrorName.UNSETTLED, message: `${method} returned a promise that can never settle: it waits on something that nothing will resolve.` }
    } else if (outcome.startsWith('ok')) {
      record.result = JSON.parse(outcome.slice(2))
    } else {
      record.error = JSON.parse(outcome.slice(3)) as { name: string, message: string }
    }
    if (tape.overrun || tape.unused > 0) {
      record.error = { name: CallErrorName.REPLAY_DIVERGED, message: `${method} asked for ${tape.recorded.length + tape.unused - (tape.overrun ? 1 : 0)} oracle(s) in the replay, but the log recorded ${replay?.oracles.length ?? 0}` }
      delete record.result
    }
    return record
  }

  /** Runs the call to completion: the result string, UNSETTLED, or null when QuickJS could not continue. */
  private async execute (runtime: ScriptRuntime, record: CallRecord, argsJson: string): Promise<string | null> {
    const { ctx, rt } = runtime
    const state = this.current!
    const handles = [
      ctx.newString(record.method),
      ctx.newString(argsJson),
      ctx.newString(JSON.stringify(record.caller)),
      record.time === undefined ? ctx.undefined : ctx.newNumber(record.time),
      record.seed === undefined ? ctx.undefined : ctx.newString(record.seed)
    ]
    const started = ctx.callFunction(runtime.invoke, ctx.undefined, ...handles)
    for (const h of handles) h.dispose()
    if (started.error) {
      started.error.dispose()
      if (this.meter.stopped === null) return null
      this.drain(runtime)
      return null
    }
    const promise = started.value
    try {
      for (;;) {
        const jobs = rt.executePendingJobs()
        if (jobs.error) {
          const isNull = ctx.typeof(jobs.error) === 'object' && ctx.dump(jobs.error) === null
          jobs.error.dispose()
          if (this.meter.stopped !== null) { this.drain(runtime); return null }
          if (isNull) return null
          continue
        }
        if (this.meter.stopped !== null) { this.drain(runtime); return null }
        const op = state.ops.shift()
        if (op === undefined) break
        await this.performFileOp(ctx, op)
      }
      const settled = ctx.getPromiseState(promise)
      if (settled.type === 'pending') return UNSETTLED
      if (settled.type === 'rejected') { settled.error.dispose(); return null }
      const text = ctx.typeof(settled.value) === 'string' ? ctx.getString(settled.value) : null
      settled.value.dispose()
      return text
    } finally {
      promise.alive && promise.dispose()
    }
  }

  /** After an interrupt: refuse the call's remaining host operations and run out its jobs (every poll now interrupts). */
  private drain (runtime: ScriptRuntime): void {
    const state = this.current!
    for (let i = 0; i < 10_000; i++) {
      for (const op of state.ops.splice(0)) rejectOp(runtime.ctx, op, { name: 'Error', message: 'the call was interrupted' })
      if (!runtime.rt.hasPendingJob()) return
      const jobs = runtime.rt.executePendingJobs()
      if (jobs.error) jobs.error.dispose()
    }
  }

  private queueFileOp (ctx: QuickJSContext, name: string, argsJson: string, data: QuickJSHandle | undefined): QuickJSHandle {
    const deferred = ctx.newPromise()
    let bytes: Uint8Array | undefined
    if (data !== undefined && ctx.typeof(data) === 'object') {
      const lifetime = ctx.getArrayBuffer(data)
      bytes = lifetime.value.slice()
      lifetime.dispose()
    }
    const op = { name, args: JSON.parse(argsJson) as unknown[], data: bytes, deferred }
    if (this.current === null || this.meter.stopped !== null) rejectOp(ctx, op, { name: 'Error', message: 'the call was interrupted' })
    else this.current.ops.push(op)
    return deferred.handle
  }

  private async performFileOp (ctx: QuickJSContext, op: PendingOp): Promise<void> {
    let value: string | Uint8Array | undefined
    try {
      value = await this.fileOp(op)
    } catch (err) {
      if (err instanceof FileOpError) return rejectOp(ctx, op, err.guest)
      throw new StorageFault(err)
    }
    const handle = value === undefined ? ctx.undefined : typeof value === 'string' ? ctx.newString(value) : ctx.newArrayBuffer(toArrayBuffer(value))
    op.deferred.resolve(handle)
    handle.dispose()
  }

  private async fileOp ({ name, args, data }: PendingOp): Promise<string | Uint8Array | undefined> {
    const path = normalizePath(args[0])
    switch (name) {
      case 'readFile': {
        const encoding = args[1]
        const bytes = await this.fs.readFile(path)
        if (encoding === 'binary') return bytes
        return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString(textEncoding(encoding === 'json' ? 'utf8' : encoding))
      }
      case 'writeFile': {
        const bytes = data ?? Buffer.from(String(args[2]), textEncoding(args[1]))
        await this.fs.writeFile(path, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength))
        return undefined
      }
      case 'stat': return JSON.stringify(await this.fs.stat(path))
      case 'readdir': return JSON.stringify(await this.fs.readdir(path, args[1] === true))
      case 'mkdir': await this.fs.mkdir(path); return undefined
      case 'unlink': await this.fs.unlink(path); return undefined
      case 'rmdir': await this.fs.rmdir(path, args[1] === true); return undefined
      default: throw new FileOpError({ name: 'TypeError', message: `unknown file operation ${name}` })
    }
  }

  /** Live: runs fn with the interrupt counter saved and gas paused, and records it. Replay: plays back. */
  private oracle (ctx: QuickJSContext, fn: QuickJSHandle): string {
    const { tape } = this.current!
    const recorded = tape.playback()
    if (recorded !== undefined) {
      if (!tape.isInterrupted(tape.recorded.length - 1)) return recorded
      this.meter.stop('deadline', true)
      return '!interrupt'
    }
    const runtime = this.runtime!
    const saved = runtime.counter.get()
    this.meter.inOracle = true
    const ran = ctx.callFunction(runtime.runOracle, ctx.undefined, fn)
    this.meter.inOracle = false
    runtime.counter.set(saved)
    if (ran.error) {
      ran.error.dispose()
      tape.record(JSON.stringify(INTERRUPTED_OUTCOME))
      this.meter.stop('deadline', true)
      return '!interrupt'
    }
    const json = ctx.getString(ran.value)
    ran.value.dispose()
    tape.record(json)
    return json
  }
}

const UNSETTLED = '\u0000unsettled'

/** A failure of the files archive itself (not a NotFoundError and the like): not the script's doing. */
class StorageFault {
  readonly error: EngineError
  constructor (cause: unknown) {
    this.error = new EngineError(`The files archive failed during a call: ${String((cause as Error)?.message ?? cause)}. The engine stopped; recreate it.`, 'STORAGE_FAILED', { cause })
  }
}

function rejectOp (ctx: QuickJSContext, op: PendingOp, info: { name: string, message: string, code?: string }): void {
  const handle = ctx.newString(JSON.stringify(info))
  op.deferred.reject(handle)
  handle.dispose()
}

function encodeArgs (method: string, args: unknown): string {
  if (!Array.isArray(args)) throw EngineError.INVALID_ARGS(method, 'args must be an array')
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

function textEncoding (encoding: unknown): BufferEncoding {
  if (encoding === 'utf8' || encoding === 'utf-8' || encoding === 'base64' || encoding === 'hex') return encoding
  throw new FileOpError({ name: 'TypeError', message: `Unknown encoding ${JSON.stringify(encoding)}: use 'utf8', 'json', 'base64', 'hex' or 'binary'` })
}

function toArrayBuffer (bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer
}

function isOutOfMemory (outcome: string): boolean {
  return outcome.startsWith('err') && outcome.includes('"message":"out of memory"') && outcome.includes('"name":"InternalError"')
}

function isOutOfMemoryFault (fault: unknown): boolean {
  return fault === null || /out of memory|memory access out of bounds/i.test(String((fault as Error)?.message ?? fault))
}

function dumpError (ctx: QuickJSContext, handle: QuickJSHandle): string {
  const e = ctx.dump(handle) as { name?: string, message?: string, stack?: string } | null
  if (e === null || typeof e !== 'object') return String(e)
  const where = /at [^\n]*?:(\d+)(?::(\d+))?/.exec(e.stack ?? '')
  const loc = where ? ` (line ${where[1]}${where[2] ? `, column ${where[2]}` : ''})` : ''
  return `${e.name ?? 'Error'}: ${e.message ?? ''}${loc}`
}
