// A fresh QuickJS instance with the prelude, and the steps that load a script into it. Every engine's
// heap goes through these same steps, whichever thread or worker runs them, so where memory runs out,
// and where a checkpoint's pointers lie, never depend on which instance it is.
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import type { QuickJSContext, QuickJSHandle, QuickJSRuntime, QuickJSWASMModule } from 'quickjs-emscripten'
import { EngineError } from './errors.js'
import type { Meter } from './meter.js'
import { PRELUDE } from './prelude.js'
import { instantiateQuickJS } from './wasm.js'
import { probeWasm } from './wasm-probe.js'

const require = createRequire(import.meta.url)
const ALEA_SOURCE = readFileSync(require.resolve('seedrandom/lib/alea.js'), 'utf8')

/** Below V8's own stack, so deep recursion ends in a clean InternalError (CONTRACT §2). */
export const STACK_LIMIT = 256 * 1024

/**
 * The WASM heap may grow to four times the QuickJS limit plus the 16 MB it starts with: room for the
 * allocator's fragmentation (a growing Map or array reallocates), and a bound on the ArrayBuffer data
 * that QuickJS's own limit does not count.
 */
export function heapCapFor (memoryLimit: number): number {
  return Math.min(4 * memoryLimit + 16 * 1024 * 1024, 2 ** 31)
}

/** What the guest's host bridge calls back into. */
export interface Bridge {
  oracle (fn: QuickJSHandle): string
  log (level: 'log' | 'error', message: string): void
}

/** An instance with a runtime, a context and the compiled prelude: everything that does not depend on the script. */
export interface Prepared { qjs: QuickJSWASMModule, rt: QuickJSRuntime, ctx: QuickJSContext, factory: QuickJSHandle }

/** Every engine's heap goes through these same steps, so where memory runs out does not depend on which one it is. */
export async function prepare (): Promise<Prepared> {
  await probeWasm()
  const qjs = await instantiateQuickJS()
  const rt = qjs.newRuntime()
  const ctx = rt.newContext()
  const factory = ctx.unwrapResult(ctx.evalCode(PRELUDE, 'nodevms-prelude.js'))
  return { qjs, rt, ctx, factory }
}

export function installPrelude (ctx: QuickJSContext, factory: QuickJSHandle, bridge: Bridge, seeded: boolean): QuickJSHandle {
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

export function loadScript (ctx: QuickJSContext, load: QuickJSHandle, source: string, filename: string, meter: Meter): string[] {
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

