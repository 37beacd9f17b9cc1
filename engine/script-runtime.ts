// A script loaded in its own QuickJS instance (instance.ts): the runtime and context, the prelude's
// entry points, and the calls into the guest that the sandbox makes. Its state can be captured between
// calls (image) and put back, in place or into a fresh instance of the same build (restore).
import type { QuickJSContext, QuickJSHandle, QuickJSRuntime, QuickJSWASMModule } from 'quickjs-emscripten'
import { EngineError } from './errors.js'
import { capHeap } from './heap.js'
import { heapCapFor, installPrelude, loadScript, STACK_LIMIT, type Bridge, type Prepared } from './instance.js'
import { HeapWords, InterruptCounter } from './interrupt-counter.js'
import { MemoryImage } from './memory-image.js'
import type { Meter } from './meter.js'
import type { LoadOptions } from './protocol.js'
import { memoryOf } from './wasm.js'
import { readBreak, wasmProbes, type WasmProbes } from './wasm-probe.js'

/** The prelude's entry points that the host calls. */
const GUEST_ENTRIES = ['load', 'invoke', 'invokeName', 'pending', 'adopt', 'encodeValue', 'encodeReason', 'step', 'requestData', 'settle', 'runOracle'] as const
type GuestEntry = typeof GUEST_ENTRIES[number]

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

/** The pointers this side holds into the guest's memory: a checkpoint records them, a restore checks or adopts them. */
export interface RuntimePointers {
  rt: number
  ctx: number
  api: number[]
  argv: number
  /** quickjs-emscripten's next host-function id (the ids of the prelude's bridge functions). */
  hostRefs: number
  lastCall: { text: string, ptr: number } | null
}

/** Everything a checkpoint needs: the memory, the pointers into it, and the script's methods. */
export interface RuntimeImage { memory: MemoryImage, pointers: RuntimePointers, methods: string[] }

export class ScriptRuntime {
  /** The last call's text as a guest string: repeated calls of a method without args reuse it. */
  private lastCall: { text: string, handle: QuickJSHandle } | null = null
  private readonly internals: ContextInternals
  private readonly memory: WebAssembly.Memory

  private constructor (
    readonly rt: QuickJSRuntime,
    readonly ctx: QuickJSContext,
    private readonly heap: HeapWords,
    readonly counter: InterruptCounter,
    private readonly api: Record<GuestEntry, QuickJSHandle>,
    readonly methods: string[],
    /** An argument array of two slots in the WASM heap, reused by every call into the guest. */
    private readonly argv: number,
    private readonly probes: WasmProbes,
    private readonly qjs: QuickJSWASMModule
  ) {
    this.internals = ctx as unknown as ContextInternals
    this.memory = heap.memory
  }

  /** Installs the prelude in a prepared instance and loads the script (its top level run under gas). */
  static load (prepared: Prepared, source: string, options: LoadOptions, meter: Meter, bridge: Bridge): ScriptRuntime {
    return ScriptRuntime.open(prepared, options, meter, bridge, { source })
  }

  /**
   * Puts a checkpoint into a prepared instance: the same steps as load() up to the script, which
   * leave every pointer this side holds where the checkpointed engine had it, then its memory.
   * A pointer that does not match means another build or other steps: CHECKPOINT_REFUSED.
   */
  static restore (prepared: Prepared, options: LoadOptions, meter: Meter, bridge: Bridge, image: RuntimeImage): ScriptRuntime {
    return ScriptRuntime.open(prepared, options, meter, bridge, { image })
  }

  /** An instance with the script loaded from its source, or put back from an image of one. */
  private static open (prepared: Prepared, options: LoadOptions, meter: Meter, bridge: Bridge, start: { source: string } | { image: RuntimeImage }): ScriptRuntime {
    const { qjs, rt, ctx, factory } = prepared
    const probes = wasmProbes()
    if (probes === null) throw new Error('the QuickJS build has not been probed in this thread')
    const memory = memoryOf(qjs)
    capHeap(memory, heapCapFor(options.memoryLimit))
    rt.setMemoryLimit(options.memoryLimit)
    rt.setMaxStackSize(STACK_LIMIT)
    const heap = new HeapWords(memory)
    const counter = InterruptCounter.locate(heap, ctx, probes.counterOffset)
    rt.setInterruptHandler(() => meter.poll())
    const owned: QuickJSHandle[] = [factory]
    try {
      const exported = installPrelude(ctx, factory, bridge, options.seeded)
      const api = {} as Record<GuestEntry, QuickJSHandle>
      for (const name of GUEST_ENTRIES) owned.push(api[name] = ctx.getProp(exported, name))
      exported.dispose()
      if ('image' in start) {
        const { image } = start
        const mismatch = differingPointer(image.pointers, rt, ctx, api)
        if (mismatch !== null) throw EngineError.CHECKPOINT_REFUSED(`its ${mismatch} is not where this engine puts it (another build, or other start-up steps)`)
        image.memory.restoreInto(memory, probes)
        const runtime = new ScriptRuntime(rt, ctx, heap, counter, api, image.methods, image.pointers.argv, probes, qjs)
        runtime.resumeAt(image.pointers)
        return runtime
      }
      meter.start(options.gasLimit, options.timeoutMs, undefined)
      counter.reset()
      const methods = loadScript(ctx, api.load, start.source, options.filename, meter)
      const argv = (ctx as unknown as ContextInternals).module._malloc(8)
      return new ScriptRuntime(rt, ctx, heap, counter, api, methods, argv, probes, qjs)
    } catch (err) {
      for (const h of owned) if (h.alive) h.dispose()
      try { ctx.dispose(); rt.dispose() } catch {}
      throw err
    }
  }

  /** The guest's state between calls: its memory and the pointers this side holds into it (over `reuse`'s buffers). */
  image (reuse: RuntimeImage | null = null): RuntimeImage {
    return { memory: MemoryImage.capture(this.memory, this.probes, reuse?.memory), pointers: this.pointers(), methods: this.methods }
  }

  /** Puts back an image of this same instance (its memory did not move): the guest is back at that moment. */
  rewind (image: RuntimeImage): void {
    image.memory.restoreInto(this.memory, this.probes)
    this.resumeAt(image.pointers)
  }

  private pointers (): RuntimePointers {
    const lastCall = this.lastCall === null ? null : { text: this.lastCall.text, ptr: this.lastCall.handle.value as unknown as number }
    return { ...ownPointers(this.rt, this.ctx, this.api), argv: this.argv, lastCall }
  }

  /** The handle made for a later call points into memory that is free again: it is dropped, not freed. */
  private resumeAt (pointers: RuntimePointers): void {
    const { lastCall } = pointers
    this.lastCall = lastCall === null ? null : { text: lastCall.text, handle: this.internals.memory.heapValueHandle(lastCall.ptr) }
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

  /** Bytes of the heap in use: up to the allocator's break. */
  get heapBytes (): number { return readBreak(this.memory, this.probes.breakAddress) }

  /** The QuickJS instance this runtime lives in. */
  get instance (): QuickJSWASMModule { return this.qjs }

  /** Gives the instance up without freeing anything in it: it is put back as it was (pristine.ts) or dropped whole. */
  abandon (): void {
    this.lastCall = null
  }
}

function ownPointers (rt: QuickJSRuntime, ctx: QuickJSContext, api: Record<GuestEntry, QuickJSHandle>): Omit<RuntimePointers, 'argv' | 'lastCall'> {
  return {
    rt: (rt as unknown as { rt: { value: number } }).rt.value,
    ctx: (ctx as unknown as { ctx: { value: number } }).ctx.value,
    api: GUEST_ENTRIES.map((name) => api[name].value as unknown as number),
    hostRefs: (rt as unknown as { hostRefs: { nextId: number } }).hostRefs.nextId
  }
}

/** Which of the checkpoint's pointers this instance does not have in the same place, or null. */
function differingPointer (expected: RuntimePointers, rt: QuickJSRuntime, ctx: QuickJSContext, api: Record<GuestEntry, QuickJSHandle>): string | null {
  const mine = ownPointers(rt, ctx, api)
  if (mine.rt !== expected.rt) return 'runtime'
  if (mine.ctx !== expected.ctx) return 'context'
  if (mine.hostRefs !== expected.hostRefs) return 'host function table'
  if (expected.api.length !== mine.api.length || mine.api.some((p, i) => p !== expected.api[i])) return 'prelude entry points'
  return null
}

function toArrayBuffer (bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer
}
