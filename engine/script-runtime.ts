// A script loaded in its own QuickJS instance: the WASM instance, runtime and context, the prelude,
// and the handles the engine calls. A fault or out-of-memory drops it and the engine opens a new one.
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import type { QuickJSContext, QuickJSHandle, QuickJSRuntime, QuickJSWASMModule } from 'quickjs-emscripten'
import { EngineError } from './errors.js'
import type { Meter } from './meter.js'
import { PRELUDE } from './prelude.js'
import type { LoadOptions } from './protocol.js'
import { capHeap, HeapWords, InterruptCounter, instantiateQuickJS, probeInterruptCounter } from './wasm.js'

const require = createRequire(import.meta.url)
const ALEA_SOURCE = readFileSync(require.resolve('seedrandom/lib/alea.js'), 'utf8')

/** Below V8's own stack, so deep recursion ends in a clean InternalError (CONTRACT §2). */
const STACK_LIMIT = 256 * 1024

/**
 * The WASM heap may grow to four times the QuickJS limit plus the 16 MB it starts with: room for the
 * allocator's fragmentation (a growing Map or array reallocates), and a bound on the ArrayBuffer data
 * that QuickJS's own limit does not count.
 */
function heapCapFor (memoryLimit: number): number {
  return Math.min(4 * memoryLimit + 16 * 1024 * 1024, 2 ** 31)
}

/** The prelude's entry points that the host calls. */
const GUEST_ENTRIES = ['load', 'invoke', 'invokeName', 'pending', 'adopt', 'encodeValue', 'encodeReason', 'step', 'requestData', 'settle', 'runOracle'] as const
type GuestEntry = typeof GUEST_ENTRIES[number]

/** What the guest's host bridge calls back into. */
export interface Bridge {
  oracle (fn: QuickJSHandle): string
  log (level: 'log' | 'error', message: string): void
}

/**
 * The parts of quickjs-emscripten's context that a direct call uses: its callFunction() allocates and
 * frees an argument array in the WASM heap on every call, which is a tenth of a counter call's cost.
 */
interface ContextInternals {
  ffi: {
    QTS_Call (ctx: number, fn: number, thisVal: number, argc: number, argv: number): number
    QTS_ResolveException (ctx: number, ptr: number): number
    QTS_FreeValuePointer (ctx: number, ptr: number): void
    QTS_PromiseState (ctx: number, ptr: number): number
    QTS_PromiseResult (ctx: number, ptr: number): number
  }
  module: { _malloc (bytes: number): number, _free (ptr: number): void }
  memory: { heapValueHandle (ptr: number): QuickJSHandle }
  ctx: { value: number }
}

/** JSPromiseStateEnum */
const PROMISE_PENDING = 0
const PROMISE_FULFILLED = 1

type GuestResult = { value: QuickJSHandle, error?: undefined } | { error: QuickJSHandle }

export class ScriptRuntime {
  dead = false
  /** The last call's text as a guest string: repeated calls of a method without args reuse it. */
  private lastCall: { text: string, handle: QuickJSHandle } | null = null
  /** An argument array of two slots in the WASM heap, reused by every call into the guest. */
  private readonly argv: number
  private readonly internals: ContextInternals

  private constructor (
    readonly rt: QuickJSRuntime,
    readonly ctx: QuickJSContext,
    private readonly heap: HeapWords,
    readonly counter: InterruptCounter,
    private readonly api: Record<GuestEntry, QuickJSHandle>,
    readonly methods: string[],
    readonly source: string
  ) {
    this.internals = ctx as unknown as ContextInternals
    this.argv = this.internals.module._malloc(8)
  }

  /** Installs the prelude in a prepared instance and loads the script (its top level run under gas). */
  static load (prepared: Prepared, source: string, options: LoadOptions, meter: Meter, bridge: Bridge): ScriptRuntime {
    const { qjs, rt, ctx, factory } = prepared
    capHeap(qjs, heapCapFor(options.memoryLimit))
    rt.setMemoryLimit(options.memoryLimit)
    rt.setMaxStackSize(STACK_LIMIT)
    const heap = HeapWords.of(qjs)
    const counter = InterruptCounter.locate(heap, ctx)
    rt.setInterruptHandler(() => meter.poll())
    const owned: QuickJSHandle[] = [factory]
    try {
      const exported = installPrelude(ctx, factory, bridge, options.seeded)
      const api = {} as Record<GuestEntry, QuickJSHandle>
      for (const name of GUEST_ENTRIES) owned.push(api[name] = ctx.getProp(exported, name))
      exported.dispose()
      meter.start(options.gasLimit, options.timeoutMs, undefined)
      counter.reset()
      const methods = loadScript(ctx, api.load, source, options.filename, meter)
      return new ScriptRuntime(rt, ctx, heap, counter, api, methods, source)
    } catch (err) {
      for (const h of owned) if (h.alive) h.dispose()
      try { ctx.dispose(); rt.dispose() } catch {}
      throw err
    }
  }

  get runOracle (): QuickJSHandle { return this.api.runOracle }

  /**
   * Starts a call: invokeName(method) for a call with no args, caller or seed, else invoke(call JSON).
   * Which one runs depends only on the call, so the guest work it does (counted as gas) does too.
   */
  invoke (text: string, byName: boolean): GuestResult {
    if (this.lastCall === null || this.lastCall.text !== text) {
      this.lastCall?.handle.dispose()
      this.lastCall = { text, handle: this.ctx.newString(text) }
    }
    return this.callGuest(byName ? this.api.invokeName : this.api.invoke, this.lastCall.handle)
  }

  /**
   * After invoke() said 'async': the method's result. A native promise (told natively, so no script
   * code answers for it) is returned, for settledOutcome() once the call's jobs are done; anything
   * else the guest adopts as 'await' would, and step() gives its outcome. Undefined if interrupted.
   */
  takeResult (): { promise: QuickJSHandle | null } | undefined {
    const got = this.callGuest(this.api.pending)
    if (got.error) { got.error.dispose(); return undefined }
    const { ffi, ctx } = this.internals
    if (ffi.QTS_PromiseState(ctx.value, got.value.value as unknown as number) >= 0) return { promise: got.value }
    const adopted = this.callGuest(this.api.adopt, got.value)
    got.value.dispose()
    if (adopted.error) { adopted.error.dispose(); return undefined }
    adopted.value.dispose()
    return { promise: null }
  }

  /** A native promise's outcome, encoded by the guest: 'undefined' while it is pending, null if interrupted. */
  settledOutcome (promise: QuickJSHandle): number | string | null {
    const { ffi, ctx, memory } = this.internals
    const state = ffi.QTS_PromiseState(ctx.value, promise.value as unknown as number)
    if (state === PROMISE_PENDING) return 'undefined'
    const value = memory.heapValueHandle(ffi.QTS_PromiseResult(ctx.value, promise.value as unknown as number))
    const encoded = this.callGuest(state === PROMISE_FULFILLED ? this.api.encodeValue : this.api.encodeReason, value)
    value.dispose()
    return this.readAndDispose(encoded)
  }

  /** The oldest unsettled file request ('R' + JSON), or the call's outcome so far; null if interrupted. */
  step (): number | string | null {
    return this.readAndDispose(this.callGuest(this.api.step))
  }

  /** The bytes of the oldest request (a binary write), copied out of the guest; null if there are none. */
  requestData (): Uint8Array | null {
    const got = this.callGuest(this.api.requestData)
    if (got.error) { got.error.dispose(); return null }
    try {
      return this.ctx.getArrayBuffer(got.value).consume((view) => view.value.slice())
    } catch {
      return null
    } finally {
      got.value.dispose()
    }
  }

  /** Resolves (ok) or rejects the oldest request's promise with value. False if the guest was interrupted. */
  settle (ok: boolean, value: string | Uint8Array | undefined): boolean {
    const { ctx } = this
    const handle = value === undefined ? ctx.undefined : typeof value === 'string' ? ctx.newString(value) : ctx.newArrayBuffer(toArrayBuffer(value))
    const done = this.callGuest(this.api.settle, ok ? ctx.true : ctx.false, handle)
    handle.dispose()
    if (done.error) { done.error.dispose(); return false }
    done.value.dispose()
    return true
  }

  /**
   * What the guest returned: a finite number is a result in itself; anything else is read as a string
   * ('ok…', 'err…', 'oom', 'R…' or 'undefined'). Reading the number first spares a string round-trip.
   */
  read (handle: QuickJSHandle): number | string {
    const n = this.ctx.getNumber(handle)
    if (!Number.isNaN(n)) return n === 0 ? 0 : n
    return this.ctx.getString(handle)
  }

  private readAndDispose (got: GuestResult): number | string | null {
    if (got.error) { got.error.dispose(); return null }
    const value = this.read(got.value)
    got.value.dispose()
    return value
  }

  /** A call into the guest through the FFI, with this runtime's argument array. */
  private callGuest (fn: QuickJSHandle, ...args: QuickJSHandle[]): GuestResult {
    const { ffi, memory, ctx } = this.internals
    for (let i = 0; i < args.length; i++) this.heap.set(this.argv + 4 * i, args[i].value as unknown as number)
    const resultPtr = ffi.QTS_Call(ctx.value, fn.value as unknown as number, this.ctx.undefined.value as unknown as number, args.length, this.argv)
    const errorPtr = ffi.QTS_ResolveException(ctx.value, resultPtr)
    if (errorPtr !== 0) {
      ffi.QTS_FreeValuePointer(ctx.value, resultPtr)
      return { error: memory.heapValueHandle(errorPtr) }
    }
    return { value: memory.heapValueHandle(resultPtr) }
  }

  dispose (): void {
    if (this.dead) return
    this.dead = true
    this.lastCall?.handle.dispose()
    this.internals.module._free(this.argv)
    for (const handle of Object.values(this.api)) handle.dispose()
    this.ctx.dispose()
    this.rt.dispose()
  }
}

/** An instance with a runtime, a context and the compiled prelude: everything that does not depend on the script. */
export interface Prepared { qjs: QuickJSWASMModule, rt: QuickJSRuntime, ctx: QuickJSContext, factory: QuickJSHandle }

/** Every engine's heap goes through these same steps, so where memory runs out does not depend on which one it is. */
export async function prepare (): Promise<Prepared> {
  await probeInterruptCounter()
  const qjs = await instantiateQuickJS()
  const rt = qjs.newRuntime()
  const ctx = rt.newContext()
  const factory = ctx.unwrapResult(ctx.evalCode(PRELUDE, 'nodevms-prelude.js'))
  return { qjs, rt, ctx, factory }
}

/** Frees a prepared instance that was never loaded. */
export function disposePrepared ({ rt, ctx, factory }: Prepared): void {
  factory.dispose()
  ctx.dispose()
  rt.dispose()
}

function installPrelude (ctx: QuickJSContext, factory: QuickJSHandle, bridge: Bridge, seeded: boolean): QuickJSHandle {
  // alea is compiled only where it is used: it is a tenth of the cost of creating an engine.
  const alea = seeded
    ? ctx.unwrapResult(ctx.evalCode(`(function () { var module = { exports: {} }; ${ALEA_SOURCE}\n; return module.exports })()`, 'alea.js'))
    : ctx.undefined
  const host = ctx.newObject()
  const define = (name: string, fn: (...args: QuickJSHandle[]) => QuickJSHandle | undefined) => {
    const handle = ctx.newFunction(name, fn)
    ctx.setProp(host, name, handle)
    handle.dispose()
  }
  define('oracle', (fn) => ctx.newString(bridge.oracle(fn)))
  define('log', (level, text) => {
    // Only the prelude calls this, with strings; anything else is not read (reading could run guest code).
    if (ctx.typeof(level) === 'string' && ctx.typeof(text) === 'string') bridge.log(ctx.getString(level) === 'error' ? 'error' : 'log', ctx.getString(text))
    return undefined
  })
  const api = ctx.unwrapResult(ctx.callFunction(factory, ctx.undefined, host, alea))
  factory.dispose()
  alea.dispose()
  host.dispose()
  return api
}

function loadScript (ctx: QuickJSContext, load: QuickJSHandle, source: string, filename: string, meter: Meter): string[] {
  const stopped = () => (meter.stopped === 'gas' ? 'GasExhaustedError: the top level ran out of gas' : 'DeadlineExceededError: the top level ran past the deadline')
  const compiled = ctx.evalCode(`${SCRIPT_HEAD}${source}\n})`, filename)
  if (compiled.error) {
    const info = dumpError(ctx, compiled.error, filename)
    compiled.error.dispose()
    throw EngineError.SCRIPT_SYNTAX(filename, info)
  }
  const loaded = ctx.callFunction(load, ctx.undefined, compiled.value)
  compiled.value.dispose()
  if (loaded.error) {
    const info = meter.stopped !== null ? stopped() : dumpError(ctx, loaded.error, filename)
    loaded.error.dispose()
    throw EngineError.SCRIPT_LOAD_FAILED(filename, info)
  }
  const methods = ctx.typeof(loaded.value) === 'string' ? methodList(ctx.getString(loaded.value)) : null
  loaded.value.dispose()
  if (methods === null) throw EngineError.SCRIPT_LOAD_FAILED(filename, 'the list of its methods could not be read')
  // Promise jobs the top level queued settle now, inside the load's gas, not in the first call's.
  const jobs = ctx.runtime.executePendingJobs()
  if (jobs.error) {
    const info = meter.stopped !== null ? stopped() : dumpError(ctx, jobs.error, filename)
    jobs.error.dispose()
    throw EngineError.SCRIPT_LOAD_FAILED(filename, info)
  }
  return methods
}

/** The method names from the prelude's JSON list, or null when it is not a list of strings. */
function methodList (json: string): string[] | null {
  let list: unknown
  try { list = JSON.parse(json) } catch { return null }
  return Array.isArray(list) && list.every((name) => typeof name === 'string') ? list as string[] : null
}

// The script runs as the body of this function, on its first line: columns on line 1 are shifted by its length.
const SCRIPT_HEAD = '(function (exports, module) {'

/**
 * "Name: message (line L, column C)" from a QuickJS error, for load-time errors. The place is the innermost
 * frame in the script itself (not in the prelude, when the script called a guarded builtin), in the
 * script's own coordinates.
 */
function dumpError (ctx: QuickJSContext, handle: QuickJSHandle, filename: string): string {
  const e = ctx.dump(handle) as { name?: string, message?: string, stack?: string } | null
  if (e === null || typeof e !== 'object') return String(e)
  const frame = (e.stack ?? '').split('\n').map((line) => /^\s*at (?:.*\()?(.*?):(\d+)(?::(\d+))?\)?\s*$/.exec(line)).find((m) => m?.[1] === filename)
  const line = frame ? Number(frame[2]) : null
  const column = frame?.[3] === undefined ? null : Number(frame[3]) - (line === 1 ? SCRIPT_HEAD.length : 0)
  const loc = line === null ? '' : ` (line ${line}${column !== null ? `, column ${column}` : ''})`
  // The detail goes into a sentence of its own: without a place after it, a final full stop would double.
  return `${e.name ?? 'Error'}: ${loc === '' ? (e.message ?? '').replace(/\.$/, '') : e.message ?? ''}${loc}`
}

function toArrayBuffer (bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer
}
