// One compiled QuickJS module per process, one WASM instance per engine: a fault (trap, out of memory)
// then kills one engine, not all of them. Also pins QuickJS's local-time imports to UTC, so the
// host's TZ never reaches Date inside the sandbox, and hands heap growth to heap.ts.
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { newQuickJSWASMModuleFromVariant, newVariant, RELEASE_SYNC } from 'quickjs-emscripten'
import type { QuickJSWASMModule } from 'quickjs-emscripten'
import { controlHeapGrowth } from './heap.js'

const require = createRequire(import.meta.url)
const WASM_PATH = require.resolve('@jitl/quickjs-wasmfile-release-sync/wasm')
const QUICKJS_VERSION: string = require('@jitl/quickjs-wasmfile-release-sync/package.json').version

export const ENGINE_NAME = 'nodevms-quickjs'
/** Changes whenever replay behaviour could change: the QuickJS build and the engine's own rules. */
export const ENGINE_VERSION = `1.1.0+quickjs-emscripten.${QUICKJS_VERSION}`

/** The compiled QuickJS module, its sha256, and where its stack starts (the stack pointer's first value). */
export interface CompiledWasm { module: WebAssembly.Module, sha256: string, stackTop: number }

let compiled: CompiledWasm | null = null

/** Compiles the QuickJS wasm, once per thread; engine workers are handed their caller's (adoptCompiled). */
export function compile (): CompiledWasm {
  if (compiled === null) {
    const bytes = readFileSync(WASM_PATH)
    compiled = { module: new WebAssembly.Module(bytes), sha256: createHash('sha256').update(bytes).digest('hex'), stackTop: initialStackPointer(bytes) }
  }
  return compiled
}

/**
 * The initial value of the module's one mutable i32 global, emscripten's stack pointer: the top of
 * the stack, which grows down. (The export names are minified; the global section is not.)
 */
function initialStackPointer (bytes: Uint8Array): number {
  let p = 8
  const leb = (): number => { let r = 0; let shift = 0; let b: number; do { b = bytes[p++]; r |= (b & 0x7f) << shift; shift += 7 } while (b & 0x80); return r >>> 0 }
  const sleb = (): number => { let r = 0; let shift = 0; let b: number; do { b = bytes[p++]; r |= (b & 0x7f) << shift; shift += 7 } while (b & 0x80); return shift < 32 && (b & 0x40) ? r | (~0 << shift) : r }
  while (p < bytes.length) {
    const id = bytes[p++]
    const size = leb()
    const end = p + size
    if (id === 6) {
      const found: number[] = []
      for (let n = leb(); n > 0; n--) {
        const type = bytes[p++]
        const mutable = bytes[p++] === 1
        const op = bytes[p++]
        const value = op === 0x41 ? sleb() : NaN
        if (bytes[p++] !== 0x0b) throw new Error('unexpected global initialiser in the QuickJS wasm: unsupported build')
        if (type === 0x7f && mutable && op === 0x41) found.push(value)
      }
      if (found.length !== 1) throw new Error(`expected 1 mutable i32 global (the stack pointer) in the QuickJS wasm, found ${found.length}: unsupported build`)
      return found[0]
    }
    p = end
  }
  throw new Error('the QuickJS wasm has no globals: unsupported build')
}

/** Uses a module compiled by another thread of this process instead of compiling it again. */
export function adoptCompiled (wasm: CompiledWasm): void {
  compiled ??= wasm
}

/** sha256 (hex) of the QuickJS wasm that runs scripts; recorded in the log's init entry. */
export function wasmSha256 (): string {
  return compile().sha256
}

export type Imports = Record<string, Record<string, unknown>>

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

// types/webassembly.d.ts declares no Instance constructor; this is the one the JS API has.
type InstanceConstructor = new (module: WebAssembly.Module, imports: WebAssembly.Imports) => WebAssembly.Instance

const variant = newVariant(RELEASE_SYNC, {
  emscriptenModule: {
    instantiateWasm (imports: Imports, done: (instance: WebAssembly.Instance, module: WebAssembly.Module) => void) {
      pinTimeZoneToUtc(imports)
      controlHeapGrowth(imports)
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

/** The linear memory of a QuickJS instance. */
export function memoryOf (qjs: QuickJSWASMModule): WebAssembly.Memory {
  return (qjs as unknown as { getWasmMemory (): WebAssembly.Memory }).getWasmMemory()
}

