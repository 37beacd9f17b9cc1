// One engine, as its caller sees it: a script loaded in its own worker thread (worker.ts), called one
// call at a time. script → engine.call() → CallRecord. The worker runs the call; System.files requests
// come back to this thread, where the Files object lives, one request at a time.
import { randomBytes } from 'node:crypto'
import type { EngineWorker, Received } from './engine-worker.js'
import { EngineError } from './errors.js'
import { performRequest, StorageFault, type FileOutcome } from './file-ops.js'
import { FileSystem, MemoryFiles } from './files.js'
import type { LoadOptions, LogLine, RecordMessage, ToWorker } from './protocol.js'
import type { SandboxStats } from './sandbox.js'
import type { CallOptions, CallRecord, Engine, EngineOptions } from './types.js'
import { returnWorker, takeWorker } from './worker-pool.js'

export const DEFAULT_LIMITS = {
  /** Interrupt polls per call: roughly a second of busy compute on a 2020s core. */
  gasLimit: 10_000,
  memoryLimit: 64 * 1024 * 1024,
  timeoutMs: 5_000
}

export type LogFn = (level: 'log' | 'error', message: string) => void

export interface InternalEngineOptions extends EngineOptions {
  /** Where console.log / console.error go. Default: stderr, prefixed with the file name. */
  log?: LogFn
}

export class QuickJSEngine implements Engine {
  private queue: Promise<unknown> = Promise.resolve()
  private closed = false
  private broken: Error | null = null

  private constructor (
    private readonly worker: EngineWorker,
    private readonly methodNames: string[],
    private readonly fs: FileSystem,
    private readonly seeded: boolean,
    private readonly log: LogFn
  ) {}

  static async create (source: string, options: InternalEngineOptions = {}): Promise<QuickJSEngine> {
    if (typeof source !== 'string') throw new TypeError('createEngine(source): source must be a string')
    if (options.checkpoint !== undefined && !(options.checkpoint instanceof Uint8Array)) throw new TypeError('createEngine(source, { checkpoint }): checkpoint must be a Uint8Array, as Engine.checkpoint() gives it')
    const filename = options.filename ?? 'script.js'
    const load: LoadOptions = {
      filename,
      seeded: options.seeded === true,
      gasLimit: options.gasLimit ?? DEFAULT_LIMITS.gasLimit,
      memoryLimit: options.memoryLimit ?? DEFAULT_LIMITS.memoryLimit,
      timeoutMs: options.timeoutMs ?? DEFAULT_LIMITS.timeoutMs
    }
    const log = options.log ?? ((level, message) => process.stderr.write(`[${filename}] ${level === 'error' ? 'error: ' : ''}${message}\n`))
    const worker = await takeWorker()
    let reply: Received
    try {
      worker.send({ t: 'load', source, options: load }, options.checkpoint)
      reply = await worker.receive()
    } catch (err) {
      await worker.terminate()
      throw err
    }
    emitLogs(log, reply.message.logs)
    if (reply.message.t !== 'loaded') {
      await returnWorker(worker)
      throw reply.message.t === 'failed' ? new EngineError(reply.message.message, reply.message.code) : unexpected(reply)
    }
    return new QuickJSEngine(worker, reply.message.methods, new FileSystem(options.files ?? new MemoryFiles()), load.seeded, log)
  }

  get methods (): string[] {
    return this.methodNames.slice()
  }

  call (method: string, args: unknown[] = [], options: CallOptions = {}): Promise<CallRecord> {
    return this.enqueue(() => this.runCall(method, args, options))
  }

  /** The engine's state between calls, as bytes that createEngine({ checkpoint }) can start from. */
  checkpoint (): Promise<Uint8Array> {
    return this.enqueue(async () => (await this.exchange({ t: 'checkpoint' }, 'checkpoint')).bytes!)
  }

  /** What the worker measured about checkpoints and rollbacks (for benchmarks). */
  stats (): Promise<SandboxStats> {
    return this.enqueue(async () => ((await this.exchange({ t: 'stats' }, 'stats')).message as { stats: SandboxStats }).stats)
  }

  /** Work for the worker, after everything asked before it. Checked when asked: what was queued before close() still runs. */
  private enqueue<T> (work: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(EngineError.ENGINE_CLOSED())
    const run = this.queue.then(work)
    this.queue = run.catch(() => {})
    return run
  }

  private async exchange (request: ToWorker, expected: string): Promise<Received> {
    if (this.broken) throw this.broken
    this.worker.send(request)
    const got = await this.worker.receive()
    emitLogs(this.log, got.message.logs)
    if (got.message.t === expected) return got
    if (got.message.t === 'failed') throw new EngineError(got.message.message, got.message.code)
    throw unexpected(got)
  }

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.queue
    if (!this.worker.alive) return await this.worker.terminate()
    this.worker.send({ t: 'close' })
    const reply = await this.worker.receive().catch(() => null)
    if (reply?.message.t !== 'closed') {
      await this.worker.terminate()
      if (reply?.message.t === 'failed') throw new EngineError(reply.message.message, reply.message.code)
      return
    }
    await returnWorker(this.worker)
  }

  private async runCall (method: string, args: unknown[], options: CallOptions): Promise<CallRecord> {
    if (this.broken) throw this.broken
    if (!this.methodNames.includes(method)) throw EngineError.METHOD_NOT_FOUND(method, this.methodNames)
    const argsJson = encodeArgs(method, args)
    const caller = options.caller ?? null
    if (caller !== null && typeof caller !== 'string') throw EngineError.INVALID_ARGS(method, 'the caller must be a string or null')
    const replay = options.replay
    const record: CallRecord = {
      method,
      args: argsJson === '[]' ? [] : JSON.parse(argsJson) as unknown[],
      caller,
      oracles: [],
      gas: 0
    }
    if (this.seeded) {
      // A replay never takes a live value: a record without time or seed leaves Date and Math.random guarded.
      if (replay === undefined) {
        record.time = Date.now()
        record.seed = randomBytes(16).toString('hex')
      } else {
        if (replay.time !== undefined) record.time = replay.time
        if (replay.seed !== undefined) record.seed = replay.seed
      }
    }
    const byName = argsJson === '[]' && caller === null && record.time === undefined && record.seed === undefined
    const text = byName ? method : `[${JSON.stringify(method)},${argsJson},${JSON.stringify(caller)},${record.time ?? null},${record.seed === undefined ? null : JSON.stringify(record.seed)}]`
    const input: ToWorker = {
      t: 'call',
      text,
      byName,
      method,
      replay: replay === undefined ? null : { oracles: replay.oracles ?? [], deadlineGas: replay.deadlineGas }
    }
    let ended: RecordMessage
    try {
      ended = await this.run(input)
    } catch (err) {
      this.broken = err as Error
      throw err
    }
    return this.fill(record, ended)
  }

  /** Sends the call and serves its file requests until the worker says how it ended. */
  private async run (input: ToWorker): Promise<RecordMessage> {
    let fault: StorageFault | null = null
    this.worker.send(input)
    for (;;) {
      const got = await this.worker.receive()
      const { message } = got
      emitLogs(this.log, message.logs)
      if (message.t === 'record') {
        // The files archive failed under the call: its outcome is not a function of the log, so the
        // engine must not go on as if it were.
        if (message.storageFault === true) throw fault?.error ?? new StorageFault('unknown').error
        return message
      }
      if (message.t === 'logs') {
        this.worker.send({ t: 'ack' })
      } else if (message.t === 'file') {
        let outcome: FileOutcome | null = null
        try {
          outcome = await performRequest(this.fs, { name: message.name, args: message.args, data: got.bytes })
        } catch (err) {
          fault = err instanceof StorageFault ? err : new StorageFault(err)
        }
        if (outcome === null) this.worker.send({ t: 'fault' })
        else if (!outcome.ok) this.worker.send({ t: 'file', ok: false, error: outcome.error })
        else if (outcome.value instanceof Uint8Array) this.worker.send({ t: 'file', ok: true }, outcome.value)
        else this.worker.send(outcome.value === undefined ? { t: 'file', ok: true } : { t: 'file', ok: true, value: outcome.value })
      } else if (message.t === 'failed') {
        throw new EngineError(message.message, message.code)
      } else {
        throw unexpected(got)
      }
    }
  }

  /** The record in the order it has always had: result or error, then the deadline's gas position. */
  private fill (record: CallRecord, ended: RecordMessage): CallRecord {
    record.oracles = ended.oracles
    record.gas = ended.gas
    if (ended.deadlineGas !== undefined) record.deadlineGas = ended.deadlineGas
    if ('result' in ended) record.result = ended.result
    if (ended.error !== undefined) record.error = ended.error
    return record
  }
}

function emitLogs (log: LogFn, lines: LogLine[] | undefined): void {
  if (lines === undefined) return
  for (const [level, text] of lines) log(level, text)
}

function unexpected ({ message }: Received): EngineError {
  return new EngineError(`The engine's worker sent an unexpected ${message.t} message. Recreate the engine.`, 'ENGINE_PROTOCOL')
}

function encodeArgs (method: string, args: unknown): string {
  if (!Array.isArray(args)) throw EngineError.INVALID_ARGS(method, 'args must be an array')
  if (args.length === 0) return '[]'
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
