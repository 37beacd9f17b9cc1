// The caller's side of an engine's work, in order: calls, and the other requests (a checkpoint, stats)
// between them. Calls waiting together go to the worker as one batch, and their records come back
// together: a replay that queues its calls crosses threads once per batch, not once per call. File
// requests are served as they come, one at a time, on this thread where the Files object lives.
import type { EngineWorker, Received } from './engine-worker.js'
import { EngineError } from './errors.js'
import { performRequest, StorageFault, type FileOutcome } from './file-ops.js'
import type { FileSystem } from './files.js'
import type { CallInput } from './call-runner.js'
import type { LogLine, RecordMessage } from './protocol.js'
import type { CallRecord } from './types.js'

export type LogFn = (level: 'log' | 'error', message: string) => void

/**
 * A call ready to send: what the worker needs, the record to fill in from what it answers, the files its
 * requests go to (null: the engine's), and what to tell as soon as it ended.
 */
export interface PreparedCall { input: CallInput, record: CallRecord, fs: FileSystem | null, ended?: (record: CallRecord) => void }

interface Pending { resolve (value: unknown): void, reject (err: unknown): void }
type Job = Pending & ({ call: () => PreparedCall } | { op: () => Promise<unknown> })
type Sent = Pending & { prepared: PreparedCall }

/** Calls sent in one batch, at most. */
const MAX_BATCH = 512
/** How long a batch's exchanges may keep the thread before its event loop runs once. */
const TURN_MS = 1

export class CallQueue {
  private readonly jobs: Job[] = []
  /** The pump at work, if any; it clears this itself in the same step as it finds no job left. */
  private running: Promise<void> | null = null
  /** Set when the engine cannot go on: every later job fails with it. */
  broken: Error | null = null

  constructor (private readonly worker: EngineWorker, private readonly fs: FileSystem, private readonly log: LogFn) {}

  /** A call, prepared (checked, its text built) when its turn comes. */
  call (prepare: () => PreparedCall): Promise<CallRecord> {
    return this.push({ call: prepare }) as Promise<CallRecord>
  }

  /** Any other exchange with the worker, after everything queued before it. */
  op<T> (run: () => Promise<T>): Promise<T> {
    return this.push({ op: run }) as Promise<T>
  }

  /** Until everything queued so far is done. */
  async drained (): Promise<void> {
    while (this.running !== null) await this.running
  }

  private push (job: Omit<Job, keyof Pending>): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.jobs.push({ ...job, resolve, reject } as Job)
      this.running ??= this.pump()
    })
  }

  private async pump (): Promise<void> {
    // Started from push(): the caller queues everything it has before the first batch goes.
    await null
    for (;;) {
      if (this.jobs.length === 0) {
        this.running = null
        return
      }
      const job = this.jobs.shift()!
      if ('op' in job) {
        await job.op().then(job.resolve, job.reject)
        continue
      }
      const batch: Sent[] = []
      for (let next: Job | undefined = job; next !== undefined; next = batch.length < MAX_BATCH && this.jobs.length > 0 && 'call' in this.jobs[0] ? this.jobs.shift() : undefined) {
        if (!('call' in next)) break
        if (this.broken !== null) { next.reject(this.broken); continue }
        try {
          batch.push({ prepared: next.call(), resolve: next.resolve, reject: next.reject })
        } catch (err) {
          next.reject(err)
        }
      }
      if (batch.length > 0) await this.run(batch)
    }
  }

  /**
   * Sends a batch and serves its file requests until the worker has answered for every call in it. Each
   * call's record is handed to its `ended` hook as it arrives, before anything later is served: a file
   * request comes with the records of the calls that ended before it, and is served with the Files of the
   * call that made it (the batch's first call without a record).
   */
  private async run (batch: Sent[]): Promise<void> {
    let done = 0
    let fault: StorageFault | null = null
    const fail = (err: Error) => {
      this.broken ??= err
      for (const sent of batch.slice(done)) sent.reject(this.broken)
    }
    /** Takes the records that came; false when the engine cannot go on. */
    const take = (records: RecordMessage[] | undefined): boolean => {
      for (const ended of records ?? []) {
        // The files archive failed under the call: its outcome is not a function of the log,
        // so the engine must not go on as if it were.
        if (ended.storageFault === true) { fail(fault?.error ?? new StorageFault('unknown').error); return false }
        const sent = batch[done++]
        if (sent === undefined) { fail(new EngineError('The engine\'s worker sent more records than calls. Recreate the engine.', 'ENGINE_PROTOCOL')); return false }
        const record = fill(sent.prepared.record, ended)
        try {
          sent.prepared.ended?.(record)
        } catch (err) {
          sent.reject(err)
          continue
        }
        sent.resolve(record)
      }
      return true
    }
    try {
      this.worker.send({ t: 'calls', calls: batch.map((s) => s.prepared.input) })
      // Once a call works with files, the worker's next message follows the answer closely: waiting for
      // it without letting other work in is then cheaper, even on a patient thread (until calls end).
      let answered = false
      let turn = performance.now()
      for (;;) {
        // Messages that follow each other closely are handled without going back to the event loop; let it
        // run now and then, so that the thread's other work (disk completions, sockets) is not held back.
        if (performance.now() - turn >= TURN_MS) {
          await new Promise((resolve) => setImmediate(resolve))
          turn = performance.now()
        }
        const got = await this.worker.receive(true, answered)
        const { message } = got
        emitLogs(this.log, message.logs)
        if (message.t === 'records') {
          if (!take(message.records)) return
          if (message.stopped !== undefined) return fail(new EngineError(message.stopped.message, message.stopped.code))
          if (message.done) return
          answered = false
          this.worker.send({ t: 'ack' })
        } else if (message.t === 'logs') {
          this.worker.send({ t: 'ack' })
        } else if (message.t === 'file') {
          if (!take(message.records)) return
          const fs = batch[done]?.prepared.fs ?? this.fs
          let outcome: FileOutcome | null = null
          try {
            outcome = await performRequest(fs, { name: message.name, args: message.args, data: got.bytes })
          } catch (err) {
            fault = err instanceof StorageFault ? err : new StorageFault(err)
          }
          answered = true
          if (outcome === null) this.worker.send({ t: 'fault' })
          else if (!outcome.ok) this.worker.send({ t: 'file', ok: false, error: outcome.error })
          else if (outcome.value instanceof Uint8Array) this.worker.send({ t: 'file', ok: true }, outcome.value)
          else this.worker.send(outcome.value === undefined ? { t: 'file', ok: true } : { t: 'file', ok: true, value: outcome.value })
        } else if (message.t === 'failed') {
          return fail(new EngineError(message.message, message.code))
        } else {
          return fail(unexpected(got))
        }
      }
    } catch (err) {
      fail(err as Error)
    }
  }
}

/** The record in the order it has always had: result or error, then the deadline's gas position. */
function fill (record: CallRecord, ended: RecordMessage): CallRecord {
  record.oracles = ended.oracles
  record.gas = ended.gas
  if (ended.deadlineGas !== undefined) record.deadlineGas = ended.deadlineGas
  if ('result' in ended) record.result = ended.result
  if (ended.error !== undefined) record.error = ended.error
  return record
}

export function emitLogs (log: LogFn, lines: LogLine[] | undefined): void {
  if (lines === undefined) return
  for (const [level, text] of lines) log(level, text)
}

export function unexpected ({ message }: Received): EngineError {
  return new EngineError(`The engine's worker sent an unexpected ${message.t} message. Recreate the engine.`, 'ENGINE_PROTOCOL')
}
