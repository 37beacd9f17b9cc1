// An engine's worker thread: it owns one QuickJS instance and runs the script's calls, answering its
// caller (engine.ts) over the channel. It runs with a fixed, large native stack (engine-worker.ts), so
// where deep recursion ends never depends on the host process's own stack size.
// The worker blocks between messages: its event loop only runs while it prepares a new instance.
import { workerData } from 'node:worker_threads'
import type { CallInput, FileAnswer, FileBridge, Outcome } from './call-runner.js'
import { WorkerEndpoint, type ChannelInit, type Message } from './channel.js'
import { decodeCheckpoint, encodeCheckpoint } from './checkpoint-file.js'
import { EngineError } from './errors.js'
import { performRequest } from './file-ops.js'
import { FileSystem } from './files.js'
import { prepare, type Prepared } from './instance.js'
import { Pristine } from './pristine.js'
import type { FromWorker, LoadOptions, LogLine, ToWorker } from './protocol.js'
import { Sandbox } from './sandbox.js'
import { adoptCompiled, type CompiledWasm } from './wasm.js'
import { adoptProbes, wasmProbes, type WasmProbes } from './wasm-probe.js'
import { FilesFault, WorkerFiles, type FilesLink } from './worker-files.js'

/** What the caller hands a new worker. */
export interface WorkerInit { channel: ChannelInit, wasm: CompiledWasm, probes: WasmProbes | null }

/** Console output is sent with the worker's next message, or on its own past this many characters. */
const LOG_FLUSH_CHARS = 64 * 1024
/** Calls this far apart leave time for a checkpoint (sandbox.ts). */
const IDLE_MS = 20
/** A batch's records are sent at least this often, so a long call does not hold back the ones before it. */
const RECORDS_EVERY_MS = 10

class EngineThread implements FileBridge, FilesLink {
  private readonly endpoint: WorkerEndpoint
  private prepared: Prepared | null = null
  /** The current instance as prepare() made it, and whether the last engine left it to be put back so. */
  private pristine: Pristine | null = null
  private resettable = false
  private sandbox: Sandbox | null = null
  private logs: LogLine[] = []
  private logChars = 0
  /** Records of the batch's finished calls not sent yet (they go with its next message). */
  private unsent: string[] = []
  /** The files as the batch's running call sees them; System.files runs on them. */
  private files: WorkerFiles | null = null
  private fileSystem: FileSystem | null = null

  constructor (init: WorkerInit) {
    this.endpoint = new WorkerEndpoint(init.channel)
  }

  async serve (): Promise<void> {
    await this.ready()
    for (;;) {
      let message = this.endpoint.receive(this.sandbox?.hasTape === true ? IDLE_MS : Infinity)
      if (message === null) {
        this.sandbox!.idle()
        message = this.endpoint.receive()!
      }
      const request = JSON.parse(message.json) as ToWorker
      switch (request.t) {
        case 'load': await this.load(request.source, request.options, message.bytes); break
        case 'calls': await this.calls(request.calls); break
        case 'checkpoint': this.exportCheckpoint(); break
        case 'stats': this.send({ t: 'stats', stats: this.sandbox!.stats }); break
        case 'close': this.close(); break
        case 'recycle': await this.ready(); break
        default: throw new Error(`unexpected message ${request.t} between calls`)
      }
    }
  }

  /**
   * Readies an instance and tells the caller it can load a script: one never used, the last one put
   * back as it was prepared, or a new one.
   */
  private async ready (): Promise<void> {
    if (this.prepared === null && this.pristine !== null && this.resettable) {
      this.prepared = this.pristine.reset()
    } else if (this.prepared === null) {
      this.prepared = await prepare()
      this.pristine = Pristine.capture(this.prepared)
    }
    this.resettable = false
    this.send({ t: 'ready', probes: wasmProbes()! })
  }

  private async load (source: string, options: LoadOptions, checkpoint: Uint8Array | undefined): Promise<void> {
    const log = (level: LogLine[0], text: string) => this.log(level, text)
    let image
    try {
      image = checkpoint === undefined ? null : decodeCheckpoint(checkpoint, source, options, wasmProbes()!)
    } catch (err) {
      return this.fail(err)
    }
    // From here the prepared instance is the sandbox's, or freed by the failed load.
    const prepared = this.prepared!
    this.prepared = null
    try {
      this.sandbox = image === null ? Sandbox.load(prepared, source, options, log) : Sandbox.restore(prepared, source, options, log, image)
      this.send({ t: 'loaded', methods: this.sandbox.methods })
    } catch (err) {
      return this.fail(err)
    }
    // The first checkpoint is taken after the caller has its engine, before the first call.
    await this.sandbox.settle()
  }

  /**
   * Runs a batch of calls in order, each followed by its settling (a rollback if it hit a limit, or
   * a checkpoint); the last one settles after the records are sent, so its caller does not wait for it.
   */
  private async calls (calls: CallInput[]): Promise<void> {
    const sandbox = this.sandbox!
    this.files = new WorkerFiles(this)
    this.fileSystem = new FileSystem(this.files)
    try {
      let since = performance.now()
      for (let i = 0; i < calls.length; i++) {
        if (sandbox.broken !== null) return this.sendRecords(true, sandbox.broken)
        // Another archive: what is known of the last one does not hold for it.
        if (i > 0 && calls[i].files !== calls[i - 1].files) this.files.forget()
        const outcome = sandbox.call(calls[i], this)
        this.unsent.push(recordJson(outcome))
        if (i === calls.length - 1 || outcome.storageFault === true) break
        // Its writes may be dropped by the caller (a limit it hit, or an error it ended with, for the host).
        if (outcome.error !== undefined) this.files.forget()
        await sandbox.settle()
        if (performance.now() - since >= RECORDS_EVERY_MS) {
          this.sendRecords(false, null)
          if (!this.acked()) break // the caller could not apply the writes sent: the batch stops
          since = performance.now()
        }
      }
      this.sendRecords(true, null)
    } finally {
      this.files = null
      this.fileSystem = null
    }
    await sandbox.settle()
  }

  private sendRecords (done: boolean, stopped: EngineError | null): void {
    const message: FromWorker = { t: 'records', records: [], done }
    if (stopped !== null) message.stopped = { code: stopped.code, message: stopped.message }
    this.endpoint.send(this.withRecords(message))
  }

  /**
   * The message with the console lines so far, the unsent records and the writes waiting. The records
   * travel as the guest's JSON produced them, never parsed here. They are written first, so nothing the
   * guest wrote elsewhere in the message can be taken for them.
   */
  private withRecords (message: FromWorker): Message {
    if (this.logs.length > 0) message.logs = this.takeLogs()
    const pending = this.files?.takeWrites() ?? null
    if (pending !== null) message.writes = pending.writes
    const records = this.unsent
    this.unsent = []
    const { records: _, ...rest } = message as FromWorker & { records?: unknown }
    const json = `{"records":[${records.join(',')}],${JSON.stringify(rest).slice(1)}`
    return pending === null ? { json } : { json, bytes: pending.bytes }
  }

  private exportCheckpoint (): void {
    const sandbox = this.sandbox!
    if (sandbox.broken !== null) return this.fail(sandbox.broken)
    const file = encodeCheckpoint(sandbox.image(), sandbox.source, sandbox.options, wasmProbes()!)
    this.endpoint.send({ json: JSON.stringify({ t: 'checkpoint' }), bytes: file })
  }

  private fail (err: unknown): void {
    const code = err instanceof EngineError ? err.code : 'ENGINE_FAULT'
    this.send({ t: 'failed', code, message: (err as Error).message })
  }

  /**
   * Ends the engine. Its instance is put back as prepare() left it or, when it grew too large or a fault
   * moved the script to another instance, dropped whole: nothing in it is freed piece by piece. Freeing
   * would only look for leftovers, and QuickJS aborts on some it leaves itself (an async call that built
   * a string of megabytes, an out-of-memory error), which turned a finished engine into a failed close.
   */
  private close (): void {
    const sandbox = this.sandbox
    this.sandbox = null
    sandbox?.abandon()
    this.resettable = sandbox !== null && this.pristine?.canReset(sandbox.instance) === true
    this.send({ t: 'closed' })
  }

  /** A System.files request of the running call, performed here (a storage fault stops the call). */
  perform (name: string, args: unknown[], data: Uint8Array | undefined): FileAnswer {
    try {
      return performRequest(this.fileSystem!, { name, args, data })
    } catch {
      return 'fault'
    }
  }

  get call (): number { return this.unsent.length }

  /**
   * Asks the caller for what the running call needs. The records of the batch's calls that ended before it,
   * and the writes waiting, go first in the same message: the caller acts on them (the next call's files
   * depend on them) before it answers.
   */
  get (path: string): Uint8Array | null {
    return this.read('get', path).bytes ?? null
  }

  list (dir: string): string[] {
    const { request } = this.read('list', dir)
    if (request.t !== 'read' || !Array.isArray(request.paths)) throw new Error('expected a listing')
    return request.paths
  }

  flush (): void {
    this.endpoint.send(this.withRecords({ t: 'writes' }))
    if (!this.acked()) throw new FilesFault()
  }

  private read (op: 'get' | 'list', path: string): { request: ToWorker, bytes?: Uint8Array } {
    this.endpoint.send(this.withRecords({ t: 'read', op, path }))
    const answer = this.receive()
    if (answer.request.t === 'fault') throw new FilesFault()
    if (answer.request.t !== 'read') throw new Error(`expected a read answer, got ${answer.request.t}`)
    return answer
  }

  /** The caller's ack: true, or false for a fault (it could not apply the writes sent). */
  private acked (): boolean {
    const ack = this.receive()
    if (ack.request.t === 'fault') return false
    if (ack.request.t !== 'ack') throw new Error(`expected an ack, got ${ack.request.t}`)
    return true
  }

  private log (level: LogLine[0], text: string): void {
    this.logs.push([level, text])
    this.logChars += text.length
    if (this.logChars < LOG_FLUSH_CHARS) return
    this.send({ t: 'logs' })
    if (!this.acked()) throw new Error('expected an ack for the console lines, got a fault')
  }

  private takeLogs (): LogLine[] {
    const logs = this.logs
    this.logs = []
    this.logChars = 0
    return logs
  }

  private send (message: FromWorker): void {
    if (this.logs.length > 0) message.logs = this.takeLogs()
    this.endpoint.send({ json: JSON.stringify(message) })
  }

  private receive (): { request: ToWorker, bytes?: Uint8Array } {
    const message: Message = this.endpoint.receive()!
    return { request: JSON.parse(message.json) as ToWorker, bytes: message.bytes }
  }
}

/** A record's JSON, with the result's JSON text spliced in as the guest produced it. */
function recordJson (outcome: Outcome): string {
  const { resultJson, ...rest } = outcome
  const json = JSON.stringify(rest)
  return resultJson === undefined ? json : `${json.slice(0, -1)},"result":${resultJson}}`
}

const init = workerData as WorkerInit
adoptCompiled(init.wasm)
if (init.probes !== null) adoptProbes(init.probes)
await new EngineThread(init).serve()
