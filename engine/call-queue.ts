// The caller's side of an engine's work, in order: calls, and the other requests (a checkpoint, stats)
// between them. Calls waiting together go to the worker as one batch, and their records come back
// together: a replay that queues its calls crosses threads once per batch, not once per call. System.files
// runs in the worker (worker-files.ts): this thread, where the Files objects live, answers what it asks
// (a file's content, a listing) and applies the writes it sends, each to the Files of the call that made it.
import type { EngineWorker, Received } from './engine-worker.js'
import { EngineError } from './errors.js'
import { StorageFault } from './file-ops.js'
import type { CallInput } from './call-runner.js'
import type { FromWorker, LogLine, RecordMessage } from './protocol.js'
import type { CallRecord, Files } from './types.js'

export type LogFn = (level: 'log' | 'error', message: string) => void

/**
 * A call ready to send: what the worker needs, the record to fill in from what it answers, the files its
 * requests go to (null: the engine's), and what to tell as soon as it ended.
 */
export interface PreparedCall { input: CallInput, record: CallRecord, files: Files | null, ended?: (record: CallRecord) => void }

interface Pending { resolve (value: unknown): void, reject (err: unknown): void }
type Job = Pending & ({ call: () => PreparedCall } | { op: () => Promise<unknown> })
type Sent = Pending & { prepared: PreparedCall }

/** Calls sent in one batch, at most. */
const MAX_BATCH = 512
/** Calls per batch, on average lately, above which the queue waits for the event loop's turn before it sends. */
const BUSY_BATCH = 1.5
/** How long a batch's exchanges may keep the thread before its event loop runs once. */
const TURN_MS = 1

export class CallQueue {
  private readonly jobs: Job[] = []
  /** The pump at work, if any; it clears this itself in the same step as it finds no job left. */
  private running: Promise<void> | null = null
  /** Set when the engine cannot go on: every later job fails with it. */
  broken: Error | null = null
  /** Calls per batch lately (a moving average over about four batches): above one, calls arrive together. */
  private recentBatch = 0
  /** A number for each archive calls' Files show (Files.viewOf), so the worker knows when it changes. */
  private readonly archives = new WeakMap<Files, number>()
  private archiveCount = 0

  constructor (private readonly worker: EngineWorker, private readonly files: Files, private readonly log: LogFn) {}

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
    // Started from push(): what the caller queues at once goes in the first batch. While batches have had
    // company lately, so do the calls of a server's other sockets read in this turn of the event loop: wait
    // for the turn. Calls made one at a time (a lone caller) go at once. An average, not the last batch:
    // under load, a batch of one call alternates with a full one, and the lone call should have waited too.
    // Only a pump's first batch waits: the calls that come in while a batch runs go as soon as it is done,
    // so the worker runs them while this thread commits and answers the batch before.
    if (this.recentBatch > BUSY_BATCH) await new Promise((resolve) => setImmediate(resolve))
    else await null
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
      this.recentBatch += (batch.length - this.recentBatch) / 4
      if (batch.length > 0) await this.run(batch)
    }
  }

  private archiveOf (files: Files): number {
    const archive = files.viewOf ?? files
    let n = this.archives.get(archive)
    if (n === undefined) {
      n = this.archiveCount++
      this.archives.set(archive, n)
    }
    return n
  }

  /**
   * Sends a batch and serves its file reads until the worker has answered for every call in it. Each
   * call's writes are applied, and its record handed to its `ended` hook, as they arrive, before anything
   * later is served: a message comes with the records of the calls that ended before it and the writes
   * since the last one, and a read is answered from the Files of the call that made it (the batch's first
   * call without a record). Once the files fail, the batch fails, and what the worker still sends is only
   * answered (with a fault where it waits on the files) until it has stopped.
   */
  private async run (batch: Sent[]): Promise<void> {
    let done = 0
    let failed = false
    const fail = (err: Error) => {
      failed = true
      this.broken ??= err
      for (const sent of batch.slice(done)) sent.reject(this.broken)
    }
    const filesOf = () => batch[done]?.prepared.files ?? this.files
    /** Takes the message's records and writes. False when the batch cannot go on (fail() was called). */
    const take = async (message: FromWorker, bytes: Uint8Array | undefined): Promise<boolean> => {
      const records = 'records' in message ? message.records ?? [] : []
      const writes = message.writes ?? []
      let write = 0
      let offset = 0
      /** Applies the writes of the message's call `call` (its place among the message's records). */
      const applyWrites = async (call: number) => {
        for (; write < writes.length && writes[write][0] === call; write++) {
          const [, path, size] = writes[write]
          if (size < 0) {
            await filesOf().del(path)
            continue
          }
          if (bytes === undefined || offset + size > bytes.byteLength) throw EngineError.ENGINE_PROTOCOL('writes without their contents')
          await filesOf().put(path, bytes.subarray(offset, offset + size))
          offset += size
        }
      }
      try {
        for (let i = 0; i < records.length; i++) {
          await applyWrites(i)
          const ended = records[i]
          // The files archive failed under the call: its outcome is not a function of the log, so the
          // engine must not go on as if it were (the fault that caused it already failed the batch).
          if (ended.storageFault === true) { fail(new StorageFault('the worker could not perform a file request').error); return false }
          const sent = batch[done++]
          if (sent === undefined) { fail(EngineError.ENGINE_PROTOCOL('more records than calls')); return false }
          const record = fill(sent.prepared.record, ended)
          try {
            sent.prepared.ended?.(record)
          } catch (err) {
            sent.reject(err)
            continue
          }
          sent.resolve(record)
        }
        await applyWrites(records.length)
      } catch (err) {
        fail(err instanceof EngineError ? err : new StorageFault(err).error)
        return false
      }
      if (write < writes.length) { fail(EngineError.ENGINE_PROTOCOL('writes out of order')); return false }
      return true
    }
    /** A read of the running call's files: a listing, content, or null (no file); a StorageFault when they failed. */
    const read = async (op: string, path: string): Promise<string[] | Uint8Array | null | StorageFault> => {
      try {
        return op === 'list' ? await filesOf().list(path) : await filesOf().get(path)
      } catch (err) {
        return new StorageFault(err)
      }
    }
    try {
      this.worker.send({ t: 'calls', calls: batch.map((s) => ({ ...s.prepared.input, files: this.archiveOf(s.prepared.files ?? this.files) })) })
      let turn = performance.now()
      for (;;) {
        // Messages that follow each other closely are handled without going back to the event loop; let it
        // run now and then, so that the thread's other work (disk completions, sockets) is not held back.
        if (performance.now() - turn >= TURN_MS) {
          await new Promise((resolve) => setImmediate(resolve))
          turn = performance.now()
        }
        const got = await this.worker.receive()
        const { message } = got
        emitLogs(this.log, message.logs)
        if (message.t === 'logs') {
          this.worker.send({ t: 'ack' })
          continue
        }
        if (message.t !== 'records' && message.t !== 'read' && message.t !== 'writes') {
          if (!failed) fail(message.t === 'failed' ? new EngineError(message.message, message.code) : unexpected(got))
          return
        }
        const ok = !failed && await take(message, got.bytes)
        if (message.t === 'records') {
          if (message.done) {
            if (ok && message.stopped !== undefined) fail(new EngineError(message.stopped.message, message.stopped.code))
            return
          }
          this.worker.send(ok ? { t: 'ack' } : { t: 'fault' })
        } else if (!ok) {
          this.worker.send({ t: 'fault' })
        } else if (message.t === 'writes') {
          this.worker.send({ t: 'ack' })
        } else {
          const value = await read(message.op, message.path)
          if (value instanceof StorageFault) {
            fail(value.error)
            this.worker.send({ t: 'fault' })
          } else if (Array.isArray(value)) {
            this.worker.send({ t: 'read', paths: value })
          } else {
            this.worker.send({ t: 'read' }, value ?? undefined)
          }
        }
      }
    } catch (err) {
      if (!failed) fail(err as Error)
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
  return EngineError.ENGINE_PROTOCOL(`an unexpected ${message.t} message`)
}
