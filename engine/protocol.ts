// The messages between an engine (the caller's side, engine.ts) and its worker (worker.ts), as JSON
// texts over the channel. The caller sends one message, and the worker answers with one:
//   load (+ checkpoint bytes) → loaded | failed
//   calls → (read (+ records, writes) → read answer | writes → ack | records (not done) → ack)* → records (done)
//   checkpoint → checkpoint (+ bytes) | failed      stats → stats
//   close → closed | failed       recycle → ready   log flush → ack
// A batch's System.files operations run in the worker, over what it knows of the files; it asks for what it
// does not know (a read), and sends the writes along with its next message (worker-files.ts).
import type { CallInput } from './call-runner.js'
import type { SandboxStats } from './sandbox.js'
import type { OracleOutcome } from './types.js'
import type { WasmProbes } from './wasm-probe.js'

/** The options a script is loaded with, as the worker needs them. */
export interface LoadOptions {
  filename: string
  seeded: boolean
  gasLimit: number
  memoryLimit: number
  timeoutMs: number
}

/** A console line from the guest: level and text. */
export type LogLine = ['log' | 'error', string]

export type ToWorker =
  | { t: 'load', source: string, options: LoadOptions } // a checkpoint to start from travels as the bytes
  | { t: 'checkpoint' }
  | { t: 'stats' }
  /** Calls to run in order (see CallInput in call-runner.ts). */
  | { t: 'calls', calls: CallInput[] }
  /** The answer to a read: a file's content travels as the bytes (none: no file), a listing as `paths`. */
  | { t: 'read', paths?: string[] }
  /** The files archive failed (a read, or the writes sent): the worker stops the call. */
  | { t: 'fault' }
  | { t: 'ack' }
  /** Free the script's instance (→ closed | failed), then, to become a spare, prepare a new one (→ ready). */
  | { t: 'close' }
  | { t: 'recycle' }

/** What a replayed call reuses from its record. */
export interface ReplayInput { oracles: unknown[], deadlineGas?: number }

/** Every message from the worker may carry the console lines written since its last one. */
export type FromWorker = (
  | { t: 'ready', probes: WasmProbes }
  | { t: 'loaded', methods: string[] }
  | { t: 'checkpoint' } // the checkpoint file travels as the bytes
  | { t: 'stats', stats: SandboxStats }
  | { t: 'closed' }
  | { t: 'failed', code: string, message: string }
  /**
   * What the running call needs from the caller's files: a file's content, or the paths below a directory.
   * The records of the batch's calls that ended since the last message come first: the caller takes them
   * (and their writes) before it answers.
   */
  | { t: 'read', op: 'get' | 'list', path: string, records?: RecordMessage[] }
  /** Writes that would not wait for the next message (too many bytes): answered with ack or fault. */
  | { t: 'writes', records?: RecordMessage[] }
  | { t: 'logs' }
  /**
   * How calls of the batch ended, in order. Not done: more follow once acknowledged. Stopped: the
   * engine cannot go on, and the batch's other calls were not run.
   */
  | { t: 'records', records: RecordMessage[], done: boolean, stopped?: { code: string, message: string } }
) & { logs?: LogLine[], writes?: WriteList }

/**
 * Writes made since the worker's last message, in order, each as [call, path, size]: `call` counts from
 * the first of the message's records (records.length: the call still running), size -1 is a delete, and
 * the contents follow each other in the message's bytes.
 */
export type WriteList = Array<[number, string, number]>

/** How a call ended. `result` is present when it returned; `storageFault` when the files failed under it. */
export interface RecordMessage {
  result?: unknown
  error?: { name: string, message: string }
  oracles: OracleOutcome[]
  gas: number
  deadlineGas?: number
  storageFault?: boolean
}
