// nodevms/engine: the deterministic QuickJS sandbox for backend scripts.
import { QuickJSEngine, type InternalEngineOptions } from './engine.js'
import { warmUp } from './worker-pool.js'
import type { Engine } from './types.js'

/** Loads a backend script into a fresh, deterministic QuickJS engine. */
export async function createEngine (source: string, options?: InternalEngineOptions): Promise<Engine> {
  return await QuickJSEngine.create(source, options)
}

/**
 * Starts preparing a worker thread and QuickJS instance for the next createEngine(), when none is ready or on
 * its way: a caller that will need an engine soon (the verifier, while it reaches a host) overlaps the engine's
 * start (a few hundred milliseconds in a new process) with its own work. It never keeps the process alive.
 */
export function warmEngine (): void {
  warmUp()
}

export { replay, compareRecords } from './replay.js'
export { MemoryFiles, normalizePath, DIR_MARKER } from './files.js'
export { EngineError, CallErrorName } from './errors.js'
export { DEFAULT_LIMITS } from './engine.js'
export { ENGINE_NAME, ENGINE_VERSION, wasmSha256 } from './wasm.js'
export type { InternalEngineOptions as EngineOptionsWithLog, LogFn } from './engine.js'
export type {
  CallOptions,
  CallRecord,
  Divergence,
  Engine,
  EngineOptions,
  Files,
  OracleOutcome,
  ReplayResult
} from './types.js'
