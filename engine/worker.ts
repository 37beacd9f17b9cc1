// An engine's worker thread: it owns one QuickJS instance and runs the script's calls, answering its
// caller (engine.ts) over the channel. It runs with a fixed, large native stack (engine-worker.ts), so
// where deep recursion ends never depends on the host process's own stack size.
// The worker blocks between messages: its event loop only runs while it prepares a new instance.
import { workerData } from 'node:worker_threads'
import type { FileAnswer, FileBridge, Outcome } from './call-runner.js'
import { WorkerEndpoint, type ChannelInit, type Message } from './channel.js'
import { decodeCheckpoint, encodeCheckpoint } from './checkpoint-file.js'
import { EngineError } from './errors.js'
import { disposePrepared, prepare, type Prepared } from './instance.js'
import type { FromWorker, LoadOptions, LogLine, ToWorker } from './protocol.js'
import { Sandbox } from './sandbox.js'
import { adoptCompiled, type CompiledWasm } from './wasm.js'
import { adoptProbes, wasmProbes, type WasmProbes } from './wasm-probe.js'

/** What the caller hands a new worker. */
export interface WorkerInit { channel: ChannelInit, wasm: CompiledWasm, probes: WasmProbes | null }

/** Console output is sent with the worker's next message, or on its own past this many characters. */
const LOG_FLUSH_CHARS = 64 * 1024
/** Calls this far apart leave time for a checkpoint (sandbox.ts). */
const IDLE_MS = 20

class EngineThread implements FileBridge {
  private readonly endpoint: WorkerEndpoint
  private prepared: Prepared | null = null
  private sandbox: Sandbox | null = null
  private logs: LogLine[] = []
  private logChars = 0

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
        case 'call': await this.call(request); break
        case 'checkpoint': this.exportCheckpoint(); break
        case 'stats': this.send({ t: 'stats', stats: this.sandbox!.stats }); break
        case 'close': this.close(); break
        case 'recycle': await this.ready(); break
        default: throw new Error(`unexpected message ${request.t} between calls`)
      }
    }
  }

  /** Prepares a fresh instance and tells the caller it can load a script. */
  private async ready (): Promise<void> {
    if (this.prepared !== null) disposePrepared(this.prepared)
    this.prepared = await prepare()
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

  /** Runs a call and answers with its record; then, before the next message, undoes it if it hit a limit. */
  private async call (request: ToWorker & { t: 'call' }): Promise<void> {
    const sandbox = this.sandbox!
    if (sandbox.broken !== null) return this.fail(sandbox.broken)
    this.reply(sandbox.call(request, this))
    await sandbox.settle()
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

  /** Frees the script's instance; a leaked handle makes QuickJS abort here, and the caller hears of it. */
  private close (): void {
    const sandbox = this.sandbox
    this.sandbox = null
    try {
      sandbox?.dispose()
      this.send({ t: 'closed' })
    } catch (err) {
      this.send({ t: 'failed', code: 'DISPOSE_FAILED', message: `QuickJS failed to free the script's instance: ${(err as Error).message}` })
    }
  }

  /** The record message, with the result's JSON text spliced in as the guest produced it. */
  private reply (outcome: Outcome): void {
    const { resultJson, ...rest } = outcome
    const record: FromWorker = { t: 'record', ...rest }
    if (this.logs.length > 0) record.logs = this.takeLogs()
    const json = JSON.stringify(record)
    this.endpoint.send({ json: resultJson === undefined ? json : `${json.slice(0, -1)},"result":${resultJson}}` })
  }

  perform (name: string, args: unknown[], data: Uint8Array | undefined): FileAnswer {
    const request: FromWorker = { t: 'file', name, args }
    if (this.logs.length > 0) request.logs = this.takeLogs()
    this.endpoint.send(data === undefined ? { json: JSON.stringify(request) } : { json: JSON.stringify(request), bytes: data })
    const answer = this.receive()
    if (answer.request.t === 'fault') return 'fault'
    if (answer.request.t !== 'file') throw new Error(`expected a file answer, got ${answer.request.t}`)
    if (!answer.request.ok) return { ok: false, error: answer.request.error }
    return { ok: true, value: answer.bytes ?? answer.request.value }
  }

  private log (level: LogLine[0], text: string): void {
    this.logs.push([level, text])
    this.logChars += text.length
    if (this.logChars < LOG_FLUSH_CHARS) return
    this.send({ t: 'logs' })
    const ack = this.receive()
    if (ack.request.t !== 'ack') throw new Error(`expected an ack, got ${ack.request.t}`)
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

const init = workerData as WorkerInit
adoptCompiled(init.wasm)
if (init.probes !== null) adoptProbes(init.probes)
await new EngineThread(init).serve()
