// The caller's handle on one engine worker thread (worker.ts): starting it with a fixed native stack,
// sending it messages, and noticing when it dies. A worker that dies fails what waits on it with
// WORKER_DIED; it never hangs the caller or takes the process down.
import { statSync } from 'node:fs'
import { MessageChannel, Worker } from 'node:worker_threads'
import { CallerEndpoint, channelBuffer, type Message } from './channel.js'
import { EngineError } from './errors.js'
import type { FromWorker, ToWorker } from './protocol.js'
import { cachedProbes } from './probe-cache.js'
import type { WasmProbes } from './wasm-probe.js'
import { compile } from './wasm.js'
import type { WorkerInit } from './worker.js'

/**
 * The worker's native stack. QuickJS checks only its own stack (256 KB of linear memory), while WASM
 * frames live on the thread's native stack; 64 MB is enough for every recursion to end in QuickJS's
 * own error first, and a worker's stack does not depend on the process's --stack-size or ulimit.
 */
const STACK_MB = 64

const WORKER_URL = workerEntry()

/**
 * worker.js, or the same code as one file (npm run build bundles it: worker.bundle.js), which a new thread
 * loads in about 25 ms less than the graph of modules. The bundle is used only when it is at least as new as
 * worker.js, so a compile without the bundle step never runs older code.
 */
export function workerEntry (dir = new URL('./', import.meta.url)): URL {
  const modules = new URL('worker.js', dir)
  const bundle = new URL('worker.bundle.js', dir)
  try {
    return statSync(bundle).mtimeMs >= statSync(modules).mtimeMs ? bundle : modules
  } catch {
    return modules
  }
}

/** Measured when nodevms was built, else by the first worker; handed to every worker so it skips the probe. */
let probes: WasmProbes | null | undefined

export interface Received { message: FromWorker, bytes?: Uint8Array }

export class EngineWorker {
  private readonly worker: Worker
  private readonly endpoint: CallerEndpoint
  private holds = 0
  private terminating = false
  private death: string | null = null
  private readonly exited: Promise<void>

  constructor () {
    const { port1, port2 } = new MessageChannel()
    const buffer = channelBuffer()
    if (probes === undefined) probes = cachedProbes()
    const init: WorkerInit = { channel: { buffer, port: port2 }, wasm: compile(), probes }
    this.worker = new Worker(WORKER_URL, { workerData: init, transferList: [port2], resourceLimits: { stackSizeMb: STACK_MB } })
    this.worker.unref()
    port1.unref()
    this.endpoint = new CallerEndpoint({ buffer, port: port1 }, { ref: () => this.hold(), unref: () => this.release() })
    this.worker.on('error', (err) => { this.death ??= err.message })
    this.exited = new Promise((resolve) => {
      this.worker.once('exit', (code) => {
        this.death ??= `it exited with code ${code}`
        this.endpoint.close()
        port1.close()
        resolve()
      })
    })
  }

  get alive (): boolean { return this.death === null }

  /** Set while the engine using it wants its thread never to block waiting (see CallerEndpoint.receive). */
  patient = false

  send (message: ToWorker, bytes?: Uint8Array): void {
    if (this.death !== null) throw EngineError.WORKER_DIED(this.death)
    this.endpoint.send(bytes === undefined ? { json: JSON.stringify(message) } : { json: JSON.stringify(message), bytes })
  }

  /** The worker's next message. With `hold` (the default), the process stays alive while it waits. */
  async receive (hold = true): Promise<Received> {
    const got: Message | null = await this.endpoint.receive(hold, this.patient)
    if (got === null) throw EngineError.WORKER_DIED(this.death ?? 'it stopped')
    const message = JSON.parse(got.json) as FromWorker
    if (message.t === 'ready') probes ??= message.probes
    return got.bytes === undefined ? { message } : { message, bytes: got.bytes }
  }

  /** Keeps the process alive until release(): while a caller waits on this worker. */
  hold (): void {
    if (this.holds++ === 0) this.worker.ref()
  }

  release (): void {
    // Worker.terminate() refs the handle until 'exit' is emitted; an unref in between (an answer that was
    // already on its way) would let the process end first, with terminate()'s promise never settled.
    if (--this.holds === 0 && !this.terminating) this.worker.unref()
  }

  async terminate (): Promise<void> {
    this.death ??= 'it was terminated'
    this.terminating = true
    await this.worker.terminate()
    await this.exited
  }
}
