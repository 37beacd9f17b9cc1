// ed25519 checks for signed calls, off the main thread. A check costs about 41 µs of CPU, and building the
// signed payload (canonical JSON) a few more, which on the main thread is time the host cannot spend parsing,
// running and committing calls. A call goes to the worker as JSON.stringify's text of its parsed params (one
// native call for the whole batch), and the worker builds the payload and checks it. Checks travel to a worker in
// batches, one message each way, so the channel's cost (a postMessage and a thread wake-up, 150–190 µs on a
// 2-core machine) is paid per batch, not per call. Each worker has at most one batch out, as a group commit
// has one write in flight: checks asked for while it is out wait and go together when it comes back, so
// batches grow with the load instead of shrinking to one call per message when calls trickle in. Workers start
// on the first check and never keep the process alive when idle. A worker that fails hands its checks back
// to this thread, so an answer is always given.
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import type { SignedAuth } from '../../client/wire.js'
import { signatureCovers } from '../index.js'
import { SIGNATURE_WORKER, type CallToCheck, type SignatureBatch, type SignatureResults } from './signature-worker.js'

interface Job { call: CallToCheck, auth: SignedAuth, resolve (ok: boolean): void }
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

export class SignaturePool {
  private readonly threads: Thread[] = []
  private pending: Job[] = []
  private scheduled = false
  private nextBatch = 1
  private losses = 0
  private closed = false
  /** How many batches and jobs went to workers: what the channel's cost is spread over. */
  readonly stats = { batches: 0, jobs: 0, inThread: 0 }

  /** Checks signed calls to the log with key `logKey` (hex), in `size` worker threads (0: on this thread). */
  constructor (readonly logKey: string, readonly size = defaultPoolSize()) {}

  /** Whether the signature in `auth` covers this call (CONTRACT §5), as signatureCovers() answers. Never rejects. */
  check (method: string, params: unknown[], auth: SignedAuth): Promise<boolean> {
    return new Promise((resolve) => {
      const job = { call: [method, params, auth.counter, auth.pubkey, auth.signature] as CallToCheck, auth, resolve }
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
    for (const thread of threads) {
      this.inThread([...thread.batches.values()].flat())
      thread.batches.clear()
    }
    this.inThread(this.pending.splice(0))
    await Promise.all(threads.map((t) => t.worker.terminate()))
  }

  /** Sends waiting checks to every worker that has no batch out; the rest wait for one to come back. */
  private flush (): void {
    this.scheduled = false
    while (this.pending.length > 0) {
      const thread = this.idleThread()
      if (thread === undefined) return
      if (thread === null) { this.inThread(this.pending.splice(0)); return }
      this.post(thread, this.pending.splice(0, MAX_BATCH))
    }
  }

  private post (thread: Thread, jobs: Job[]): void {
    const id = this.nextBatch++
    thread.batches.set(id, jobs)
    if (thread.batches.size === 1) thread.worker.ref() // an answer is owed: keep the process up for it
    const batch: SignatureBatch = { id, logKey: this.logKey, calls: JSON.stringify(jobs.map((j) => j.call)) }
    thread.worker.postMessage(batch)
    this.stats.batches++
    this.stats.jobs += jobs.length
  }

  /** A worker with no batch out (started when fewer than `size` run); undefined: all busy; null: none can run. */
  private idleThread (): Thread | null | undefined {
    const idle = this.threads.find((t) => t.batches.size === 0)
    if (idle !== undefined) return idle
    if (this.threads.length < this.size && this.losses < MAX_LOSSES) {
      try {
        const thread = this.start()
        this.threads.push(thread)
        return thread
      } catch {
        this.losses++
      }
    }
    return this.threads.length > 0 ? undefined : null
  }

  private start (): Thread {
    const worker = new Worker(WORKER, { workerData: SIGNATURE_WORKER })
    const thread: Thread = { worker, batches: new Map() }
    worker.unref()
    worker.on('message', ({ id, results }: SignatureResults) => {
      const jobs = thread.batches.get(id)
      if (jobs === undefined) return
      thread.batches.delete(id)
      if (thread.batches.size === 0) worker.unref()
      jobs.forEach((job, i) => job.resolve(results[i] === 1))
      this.flush() // what came in meanwhile goes out now, as one batch
    })
    const lost = (): void => {
      const i = this.threads.indexOf(thread)
      if (i === -1) return // closed, or already handled
      this.threads.splice(i, 1)
      this.losses++
      this.inThread([...thread.batches.values()].flat())
      thread.batches.clear()
      this.flush()
    }
    worker.on('error', lost)
    worker.on('exit', lost)
    return thread
  }

  private inThread (jobs: Job[]): void {
    this.stats.inThread += jobs.length
    for (const job of jobs) job.resolve(signatureCovers(this.logKey, job.call[0], job.call[1], job.auth))
  }
}
