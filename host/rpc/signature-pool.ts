// ed25519 checks for signed calls, off the main thread. A check costs about 41 µs of CPU, which on the main
// thread is time the host cannot spend parsing, running and committing calls. Checks asked for in one turn
// of the event loop (every request the socket reads delivered together) go to a worker as one message, and
// come back as one: the channel's cost (a thread wake-up, 150–190 µs on a 2-core machine) is paid per batch,
// not per call. Workers start on the first check and never keep the process alive when idle. A worker that
// fails hands its checks back to this thread, so an answer is always given.
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import crypto from 'hypercore-crypto'
import type { SignatureBatch, SignatureResults } from './signature-worker.js'

interface Job { payload: Uint8Array, signature: Buffer, publicKey: Buffer, resolve (ok: boolean): void }
interface Thread { worker: Worker, batches: Map<number, Job[]> }

/** Jobs in one message at most: bounds how long one batch holds its callers. */
const MAX_BATCH = 256
/** Workers lost (crashed, failed to start) before the pool gives up on threads and checks in this one. */
const MAX_LOSSES = 3
const WORKER = new URL('./signature-worker.js', import.meta.url)

/** Worker threads that leave a core to the main thread (and the engine's worker): one on two cores. */
export function defaultPoolSize (): number {
  return Math.max(1, Math.min(4, availableParallelism() - 1))
}

const check = (job: Job): boolean => crypto.verify(job.payload, job.signature, job.publicKey)

export class SignaturePool {
  private readonly threads: Thread[] = []
  private pending: Job[] = []
  private scheduled = false
  private nextBatch = 1
  private turn = 0
  private losses = 0
  private closed = false
  /** How many batches and jobs went to workers: what the channel's cost is spread over. */
  readonly stats = { batches: 0, jobs: 0, inThread: 0 }

  constructor (readonly size = defaultPoolSize()) {}

  /** Whether `signature` by `publicKey` covers `payload`. Never rejects. */
  verify (payload: Uint8Array, signature: Buffer, publicKey: Buffer): Promise<boolean> {
    return new Promise((resolve) => {
      const job = { payload, signature, publicKey, resolve }
      if (this.closed || this.size === 0) return this.inThread([job])
      this.pending.push(job)
      if (!this.scheduled) {
        this.scheduled = true
        setImmediate(() => this.flush()) // after this turn's I/O: every request read so far rides along
      }
    })
  }

  /** Terminates the workers; checks still out are done on this thread. */
  async close (): Promise<void> {
    this.closed = true
    const threads = this.threads.splice(0)
    for (const thread of threads) this.inThread([...thread.batches.values()].flat())
    this.inThread(this.pending.splice(0))
    await Promise.all(threads.map((t) => t.worker.terminate()))
  }

  private flush (): void {
    this.scheduled = false
    while (this.pending.length > 0) {
      const jobs = this.pending.splice(0, MAX_BATCH)
      const thread = this.thread()
      if (thread === null) { this.inThread(jobs); continue }
      this.post(thread, jobs)
    }
  }

  private post (thread: Thread, jobs: Job[]): void {
    const size = jobs.reduce((sum, j) => sum + 100 + j.payload.byteLength, 0)
    const data = new ArrayBuffer(size)
    const bytes = Buffer.from(data)
    let at = 0
    for (const job of jobs) {
      bytes.writeUInt32LE(job.payload.byteLength, at)
      bytes.set(job.publicKey, at + 4)
      bytes.set(job.signature, at + 36)
      bytes.set(job.payload, at + 100)
      at += 100 + job.payload.byteLength
    }
    const id = this.nextBatch++
    thread.batches.set(id, jobs)
    if (thread.batches.size === 1) thread.worker.ref() // an answer is owed: keep the process up for it
    const batch: SignatureBatch = { id, count: jobs.length, data }
    thread.worker.postMessage(batch, [data])
    this.stats.batches++
    this.stats.jobs += jobs.length
  }

  /** The next worker in turn, started on first use; null when none can run. */
  private thread (): Thread | null {
    if (this.threads.length < this.size && this.losses < MAX_LOSSES) {
      try {
        this.threads.push(this.start())
      } catch {
        this.losses++
      }
    }
    return this.threads[this.turn++ % this.threads.length] ?? null
  }

  private start (): Thread {
    const worker = new Worker(WORKER)
    const thread: Thread = { worker, batches: new Map() }
    worker.unref()
    worker.on('message', ({ id, results }: SignatureResults) => {
      const jobs = thread.batches.get(id)
      if (jobs === undefined) return
      thread.batches.delete(id)
      if (thread.batches.size === 0) worker.unref()
      jobs.forEach((job, i) => job.resolve(results[i] === 1))
    })
    const lost = (): void => {
      const i = this.threads.indexOf(thread)
      if (i === -1) return // closed, or already handled
      this.threads.splice(i, 1)
      this.losses++
      this.inThread([...thread.batches.values()].flat())
      thread.batches.clear()
    }
    worker.on('error', lost)
    worker.on('exit', lost)
    return thread
  }

  private inThread (jobs: Job[]): void {
    this.stats.inThread += jobs.length
    for (const job of jobs) job.resolve(check(job))
  }
}
