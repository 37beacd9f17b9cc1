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
export const ENGINE_VERSION = `1.0.0+quickjs-emscripten.${QUICKJS_VERSION}`

let compiled: { module: WebAssembly.Module, sha256: string } | null = null

function compile () {
  if (compiled === null) {
    const bytes = readFileSync(WASM_PATH)
    compiled = { module: new WebAssembly.Module(bytes), sha256: createHash('sha256').update(bytes).digest('hex') }
  }
  return compiled
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

const variant = newVariant(RELEASE_SYNC, {
  emscriptenModule: {
    instantiateWasm (imports: Imports, done: (instance: WebAssembly.Instance, module: WebAssembly.Module) => void) {
      pinTimeZoneToUtc(imports)
      const { module } = compile()
      WebAssembly.instantiate(module, imports as WebAssembly.Imports).then((instance) => done(instance, module))
      return {}
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

/**
 * QuickJS polls the interrupt handler when ctx->interrupt_counter runs down from 10000. That counter
 * is not exposed, so its offset in JSContext is found once, by watching which word is reset to 10000
 * at every poll and counts down between polls. Writing it makes gas independent of earlier calls.
 */
export class InterruptCounter {
  private readonly memory: WebAssembly.Memory
  private readonly address: number

  private constructor (memory: WebAssembly.Memory, address: number) {
    this.memory = memory
    this.address = address
  }

  static locate (qjs: QuickJSWASMModule, context: QuickJSContext): InterruptCounter {
    const memory = (qjs as unknown as { getWasmMemory (): WebAssembly.Memory }).getWasmMemory()
    const ctxPtr = (context as unknown as { ctx: { value: number } }).ctx.value
    if (counterOffset === null) counterOffset = findCounterOffset(memory, context, ctxPtr)
    return new InterruptCounter(memory, ctxPtr + counterOffset)
  }

  get (): number { return new DataView(this.memory.buffer).getInt32(this.address, true) }
  set (value: number): void { new DataView(this.memory.buffer).setInt32(this.address, value, true) }
  reset (): void { this.set(INTERRUPT_COUNTER_INIT) }
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
