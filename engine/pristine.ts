// A prepared instance (instance.ts) as it was before any script loaded, kept so that the worker can
// put its instance back to that moment when an engine closes, instead of making a new one: a new
// WASM instance and the prelude's compilation cost milliseconds, a memory copy a fraction of one.
// Afterwards the instance is what prepare() would have made: the same bytes up to the allocator's
// break, zeros above it up to where the last engine reached, and the same state on this side
// (no host functions, no interrupt handler, the prelude's factory). The stack below its top is dead
// between calls, and how large the heap grew does not change what an allocation does (heap.ts).
import type { QuickJSHandle, QuickJSWASMModule } from 'quickjs-emscripten'
import type { Prepared } from './instance.js'
import { MemoryImage } from './memory-image.js'
import { memoryOf } from './wasm.js'
import { wasmProbes } from './wasm-probe.js'

/** An instance whose heap grew past this is dropped instead: its memory cannot shrink. */
const MAX_REUSED_HEAP = 64 * 1024 * 1024

interface RuntimeInternals { hostRefs: object, interruptHandler?: unknown }
interface ContextInternals { memory: { heapValueHandle (ptr: number): QuickJSHandle } }

export class Pristine {
  private constructor (private readonly prepared: Prepared, private readonly image: MemoryImage, private readonly factory: number) {}

  /** Taken right after prepare(), before the instance is used. */
  static capture (prepared: Prepared): Pristine {
    return new Pristine(prepared, MemoryImage.capture(memoryOf(prepared.qjs), wasmProbes()!), prepared.factory.value as unknown as number)
  }

  /** Whether this is the instance `qjs`, and it can be put back rather than dropped. */
  canReset (qjs: QuickJSWASMModule): boolean {
    return qjs === this.prepared.qjs && memoryOf(qjs).buffer.byteLength <= MAX_REUSED_HEAP
  }

  /** The instance, back as prepare() left it; whatever was made in it since is gone, not freed. */
  reset (): Prepared {
    const { qjs, rt, ctx } = this.prepared
    this.image.restoreInto(memoryOf(qjs), wasmProbes()!)
    const runtime = rt as unknown as RuntimeInternals
    runtime.hostRefs = new (runtime.hostRefs.constructor as new () => object)()
    runtime.interruptHandler = undefined
    const factory = (ctx as unknown as ContextInternals).memory.heapValueHandle(this.factory)
    return { qjs, rt, ctx, factory }
  }
}
