// One compiled QuickJS module per process, one WASM instance per engine: a fault (trap, out of memory)
// then kills one engine, not all of them. Also pins QuickJS's local-time imports to UTC, so the
// host's TZ never reaches Date inside the sandbox.
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { newQuickJSWASMModuleFromVariant, newVariant, RELEASE_SYNC } from 'quickjs-emscripten'
import type { QuickJSContext, QuickJSWASMModule } from 'quickjs-emscripten'

const require = createRequire(import.meta.url)
const WASM_PATH = require.resolve('@jitl/quickjs-wasmfile-release-sync/wasm')
const QUICKJS_VERSION: string = require('@jitl/quickjs-wasmfile-release-sync/package.json').version

export const ENGINE_NAME = 'nodevms-quickjs'
/** Changes whenever replay behaviour could change: the QuickJS build and the engine's own rules. */
export const ENGINE_VERSION = `1.1.0+quickjs-emscripten.${QUICKJS_VERSION}`

/** The compiled QuickJS module and its sha256. */
export interface CompiledWasm { module: WebAssembly.Module, sha256: string }

let compiled: CompiledWasm | null = null

/** Compiles the QuickJS wasm, once per thread; engine workers are handed their caller's (adoptCompiled). */
export function compile (): CompiledWasm {
  if (compiled === null) {
    const bytes = readFileSync(WASM_PATH)
    compiled = { module: new WebAssembly.Module(bytes), sha256: createHash('sha256').update(bytes).digest('hex') }
  }
  return compiled
}

/** Uses a module compiled by another thread of this process instead of compiling it again. */
export function adoptCompiled (wasm: CompiledWasm): void {
  compiled ??= wasm
}

/** sha256 (hex) of the QuickJS wasm that runs scripts; recorded in the log's init entry. */
export function wasmSha256 (): string {
  return compile().sha256
}

type Imports = Record<string, Record<string, unknown>>

// Emscripten's _localtime_js and _tzset_js read the host's time zone. They are found by what their
// bodies call (the import names are minified), and replaced by UTC versions.
function pinTimeZoneToUtc (imports: Imports): void {
  const env = imports.a
  const memory = Object.values(env).find((v) => v instanceof WebAssembly.Memory) as WebAssembly.Memory | undefined
  if (memory === undefined) throw new Error('QuickJS wasm imports have no memory: unsupported quickjs-emscripten build')
  let pinned = 0
  for (const [name, fn] of Object.entries(env)) {
    if (typeof fn !== 'function') continue
    const body = fn.toString()
    if (!body.includes('getTimezoneOffset')) continue
    if (body.includes('getSeconds')) {
      env[name] = (time: bigint | number, tmPtr: number) => {
        const t = Number(time)
        const d = new Date(t * 1000)
        const tm = new Int32Array(memory.buffer, tmPtr, 10)
        const year = d.getUTCFullYear()
        const yday = Math.floor((Date.UTC(year, d.getUTCMonth(), d.getUTCDate()) - Date.UTC(year, 0, 1)) / 86400000)
        tm.set([d.getUTCSeconds(), d.getUTCMinutes(), d.getUTCHours(), d.getUTCDate(), d.getUTCMonth(),
          year - 1900, d.getUTCDay(), yday, 0, 0].map((n) => n | 0))
      }
    } else {
      env[name] = (timezonePtr: number, daylightPtr: number, stdNamePtr: number, dstNamePtr: number) => {
        const view = new DataView(memory.buffer)
        view.setInt32(timezonePtr, 0, true)
        view.setInt32(daylightPtr, 0, true)
        const utc = [0x55, 0x54, 0x43, 0]
        new Uint8Array(memory.buffer, stdNamePtr, 4).set(utc)
        new Uint8Array(memory.buffer, dstNamePtr, 4).set(utc)
      }
    }
    pinned++
  }
  if (pinned !== 2) throw new Error(`expected 2 time-zone imports in the QuickJS wasm, found ${pinned}: unsupported build`)
}

/** Per WASM instance: the most bytes its heap may grow to (set by the engine after instantiation). */
const heapCaps = new WeakMap<WebAssembly.Memory, { bytes: number }>()

// QuickJS's memory limit does not count ArrayBuffer data (it is calloc'd past the limit check), so
// a script could grow the WASM heap to 2 GB with typed arrays. Emscripten asks the host to grow the
// heap through one import (found by its call to memory.grow); refusing there makes malloc return
// NULL, which QuickJS reports as out of memory. The requested size depends only on the allocations
// made, so where the cap bites is as deterministic as the rest of the heap.
function capHeapGrowth (imports: Imports): void {
  const env = imports.a
  const memory = Object.values(env).find((v) => v instanceof WebAssembly.Memory) as WebAssembly.Memory
  const cap = { bytes: Infinity }
  heapCaps.set(memory, cap)
  const names = Object.keys(env).filter((name) => typeof env[name] === 'function' && String(env[name]).includes('.grow('))
  if (names.length !== 1) throw new Error(`expected 1 heap-resize import in the QuickJS wasm, found ${names.length}: unsupported build`)
  const resize = env[names[0]] as (requested: number) => boolean
  env[names[0]] = (requested: number) => (requested >>> 0) > cap.bytes ? false : resize(requested)
}

/** Caps the WASM heap of this QuickJS instance at `bytes`: growing past it fails the allocation. */
export function capHeap (qjs: QuickJSWASMModule, bytes: number): void {
  const memory = (qjs as unknown as { getWasmMemory (): WebAssembly.Memory }).getWasmMemory()
  const cap = heapCaps.get(memory)
  if (cap === undefined) throw new Error('this QuickJS instance was not made by instantiateQuickJS()')
  cap.bytes = bytes
}

// types/webassembly.d.ts declares no Instance constructor; this is the one the JS API has.
type InstanceConstructor = new (module: WebAssembly.Module, imports: WebAssembly.Imports) => WebAssembly.Instance

const variant = newVariant(RELEASE_SYNC, {
  emscriptenModule: {
    instantiateWasm (imports: Imports, done: (instance: WebAssembly.Instance, module: WebAssembly.Module) => void) {
      pinTimeZoneToUtc(imports)
      capHeapGrowth(imports)
      // Synchronous: the module is compiled already, and the async form only waits for a later task.
      const { module } = compile()
      const instance = new (WebAssembly.Instance as unknown as InstanceConstructor)(module, imports as WebAssembly.Imports)
      done(instance, module)
      return instance.exports
    }
  } as never
})

/** A fresh QuickJS module backed by its own WASM instance and memory. */
export async function instantiateQuickJS (): Promise<QuickJSWASMModule> {
  compile()
  return await newQuickJSWASMModuleFromVariant(variant)
}

const INTERRUPT_COUNTER_INIT = 10000
let counterOffset: number | null = null

/** 32-bit words of a WASM memory; the view is remade only after the heap grows (growing detaches it). */
export class HeapWords {
  private view: Int32Array | null = null
  constructor (readonly memory: WebAssembly.Memory) {}

  static of (qjs: QuickJSWASMModule): HeapWords {
    return new HeapWords((qjs as unknown as { getWasmMemory (): WebAssembly.Memory }).getWasmMemory())
  }

  private words (): Int32Array {
    if (this.view === null || this.view.buffer !== this.memory.buffer) this.view = new Int32Array(this.memory.buffer)
    return this.view
  }

  get (address: number): number { return this.words()[address >> 2] }
  set (address: number, value: number): void { this.words()[address >> 2] = value }
}

/**
 * QuickJS polls the interrupt handler when ctx->interrupt_counter runs down from 10000. That counter
 * is not exposed, so its offset in JSContext is found once, by watching which word is reset to 10000
 * at every poll and counts down between polls. Writing it makes gas independent of earlier calls.
 */
export class InterruptCounter {
  private constructor (private readonly heap: HeapWords, private readonly address: number) {}

  /** The counter of `context`; probeInterruptCounter() must have run in this process. */
  static locate (heap: HeapWords, context: QuickJSContext): InterruptCounter {
    const ctxPtr = (context as unknown as { ctx: { value: number } }).ctx.value
    if (counterOffset === null) throw new Error('probeInterruptCounter() has not run')
    const address = ctxPtr + counterOffset
    if (address % 4 !== 0) throw new Error('the QuickJS interrupt counter is not word-aligned: unsupported build')
    return new InterruptCounter(heap, address)
  }

  get (): number { return this.heap.get(this.address) }
  set (value: number): void { this.heap.set(this.address, value) }
  reset (): void { this.set(INTERRUPT_COUNTER_INIT) }
}

/** The offset probeInterruptCounter() found, for other threads of this process (adoptCounterOffset). */
export function interruptCounterOffset (): number | null {
  return counterOffset
}

export function adoptCounterOffset (offset: number): void {
  counterOffset ??= offset
}

/**
 * Finds the counter's offset, once per process, in a throwaway instance: probing in an engine's own
 * instance would leave the first engine's heap different from every later one's.
 */
export async function probeInterruptCounter (): Promise<void> {
  if (counterOffset !== null) return
  const qjs = await instantiateQuickJS()
  const context = qjs.newContext()
  try {
    const memory = (qjs as unknown as { getWasmMemory (): WebAssembly.Memory }).getWasmMemory()
    counterOffset ??= findCounterOffset(memory, context, (context as unknown as { ctx: { value: number } }).ctx.value)
  } finally {
    context.dispose()
  }
}

function findCounterOffset (memory: WebAssembly.Memory, context: QuickJSContext, ctxPtr: number): number {
  const WORDS = 1024
  const snapshots: Int32Array[] = []
  context.runtime.setInterruptHandler(() => {
    snapshots.push(new Int32Array(memory.buffer.slice(ctxPtr, ctxPtr + WORDS * 4)))
    return false
  })
  const result = context.evalCode('let s = 0; for (let i = 0; i < 100000; i++) s += i; s')
  context.runtime.removeInterruptHandler()
  if (result.error) { result.error.dispose(); throw new Error('could not probe the QuickJS interrupt counter') }
  result.value.dispose()
  const after = new Int32Array(memory.buffer.slice(ctxPtr, ctxPtr + WORDS * 4))
  const candidates: number[] = []
  for (let i = 0; i < WORDS; i++) {
    if (snapshots.length >= 2 && snapshots.every((s) => s[i] === INTERRUPT_COUNTER_INIT) &&
      after[i] < INTERRUPT_COUNTER_INIT && after[i] > 0) candidates.push(i * 4)
  }
  if (candidates.length !== 1) throw new Error(`could not locate the QuickJS interrupt counter (${candidates.length} candidates): unsupported build`)
  return candidates[0]
}
