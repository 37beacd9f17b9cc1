// One engine, as its caller sees it: a script loaded in its own worker thread (worker.ts), called one
// call at a time, in order. script → engine.call() → CallRecord. The worker runs the calls (queued
// calls go as one batch, call-queue.ts). System.files runs in the worker too: what it does not know of the
// files it asks of this thread, where the Files object lives, and its writes come back to be applied here.
import { randomBytes } from 'node:crypto'
import { CallQueue, emitLogs, unexpected, type LogFn, type PreparedCall } from './call-queue.js'
import type { EngineWorker, Received } from './engine-worker.js'
import { EngineError } from './errors.js'
import { MemoryFiles } from './files.js'
import type { LoadOptions, ToWorker } from './protocol.js'
import type { SandboxStats } from './sandbox.js'
import type { CallOptions, CallRecord, Engine, EngineOptions, Files } from './types.js'
import { returnWorker, takeWorker } from './worker-pool.js'

export const DEFAULT_LIMITS = {
  /** Interrupt polls per call: roughly a second of busy compute on a 2020s core. */
  gasLimit: 10_000,
  memoryLimit: 64 * 1024 * 1024,
  timeoutMs: 5_000
}

export type { LogFn }

export interface InternalEngineOptions extends EngineOptions {
  /** Where console.log / console.error go. Default: stderr, prefixed with the file name. */
  log?: LogFn
  /**
   * The calling thread has other work while the engine runs (a server): it never blocks waiting for the worker
   * (it spins briefly, then awaits). Calls then cost more one at a time and less when they come together.
   */
  patient?: boolean
}

export class QuickJSEngine implements Engine {
  private readonly queue: CallQueue
  private closed = false

  private constructor (
    private readonly worker: EngineWorker,
    private readonly methodNames: string[],
    files: Files,
    private readonly seeded: boolean,
    private readonly log: LogFn
  ) {
    this.queue = new CallQueue(worker, files, log)
  }

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
    worker.patient = options.patient === true
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
    return new QuickJSEngine(worker, reply.message.methods, options.files ?? new MemoryFiles(), load.seeded, log)
  }

  get methods (): string[] {
    return this.methodNames.slice()
  }

  call (method: string, args: unknown[] = [], options: CallOptions = {}): Promise<CallRecord> {
    if (this.closed) return Promise.reject(EngineError.ENGINE_CLOSED())
    return this.queue.call(() => this.prepare(method, args, options))
  }

  /** The engine's state between calls, as bytes that createEngine({ checkpoint }) can start from. */
  checkpoint (): Promise<Uint8Array> {
    if (this.closed) return Promise.reject(EngineError.ENGINE_CLOSED())
    return this.queue.op(async () => (await this.exchange({ t: 'checkpoint' }, 'checkpoint')).bytes!)
  }

  /** What the worker measured about checkpoints and rollbacks (for benchmarks). */
  stats (): Promise<SandboxStats> {
    return this.queue.op(async () => ((await this.exchange({ t: 'stats' }, 'stats')).message as { stats: SandboxStats }).stats)
  }

  private async exchange (request: ToWorker, expected: string): Promise<Received> {
    if (this.queue.broken !== null) throw this.queue.broken
    this.worker.send(request)
    const got = await this.worker.receive()
    emitLogs(this.log, got.message.logs)
    if (got.message.t === expected) return got
    if (got.message.t === 'failed') throw new EngineError(got.message.message, got.message.code)
    throw unexpected(got)
  }

  /** Calls made before close() still run; later ones are refused with ENGINE_CLOSED. */
  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.queue.drained()
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

  /** Checks a call when its turn comes, and builds the guest's call text and the record to fill in. */
  private prepare (method: string, args: unknown[], options: CallOptions): PreparedCall {
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
    const input = { text, byName, method, replay: replay === undefined ? null : { oracles: replay.oracles ?? [], deadlineGas: replay.deadlineGas } }
    return { input, record, files: options.files ?? null, ended: options.ended }
  }
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
