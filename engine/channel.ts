// The message channel between an engine's caller and its worker thread (see engine-worker.ts). Messages
// strictly alternate: the caller sends one, the worker answers with one, so a single SharedArrayBuffer
// carries each message in turn, and one counter per direction wakes the receiver. A message too big
// for the buffer goes over a MessagePort instead, and the buffer then only says so.
// The worker blocks (spin, then Atomics.wait). The caller spins briefly, then blocks for a little
// while too (a futex wake-up is cheap; a wake-up through the event loop is not), and only then
// awaits Atomics.waitAsync, so a long call leaves its thread free.
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads'

/** One message: a JSON text, and bytes for the file data it carries, if any. */
export interface Message { json: string, bytes?: Uint8Array }

const TO_WORKER = 0
const TO_CALLER = 1
const JSON_BYTES = 2
const DATA_BYTES = 3
const VIA_PORT = 4
const CLOSED = 5
const HEADER = 64
/** Room for a message in the shared buffer; bigger ones take the port. */
const CAPACITY = 256 * 1024

/** How long a receiver polls before it sleeps: a call answered sooner costs no thread wake-up. */
const CALLER_SPIN_MS = 0.03
const WORKER_SPIN_MS = 0.05
/**
 * How long the caller then blocks before it lets its event loop run. An engine that ran in the
 * caller's thread blocked it for the whole call; this blocks it for at most this long.
 */
const CALLER_BLOCK_MS = 2

/** The shared half of a channel: what both threads are given. */
export interface ChannelInit { buffer: SharedArrayBuffer, port: MessagePort }

export function channelBuffer (): SharedArrayBuffer {
  return new SharedArrayBuffer(HEADER + CAPACITY)
}

type WaitAsync = (array: Int32Array, index: number, value: number) => { async: false, value: string } | { async: true, value: Promise<string> }
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync

class Endpoint {
  protected readonly words: Int32Array
  protected readonly bytes: Buffer
  protected seen = 0

  constructor (protected readonly init: ChannelInit, private readonly outbox: number, protected readonly inbox: number) {
    this.words = new Int32Array(init.buffer, 0, HEADER / 4)
    this.bytes = Buffer.from(init.buffer)
  }

  get closed (): boolean { return Atomics.load(this.words, CLOSED) !== 0 }

  send (message: Message): void {
    const { json, bytes } = message
    const dataLength = bytes?.byteLength ?? 0
    // A string of n code units has at most 3n UTF-8 bytes: most messages skip the exact count.
    const fits = json.length * 3 + dataLength <= CAPACITY || Buffer.byteLength(json) + dataLength <= CAPACITY
    if (fits) {
      const jsonLength = this.bytes.write(json, HEADER)
      if (bytes !== undefined) this.bytes.set(bytes, HEADER + jsonLength)
      this.words[JSON_BYTES] = jsonLength
      this.words[DATA_BYTES] = bytes === undefined ? -1 : dataLength
      this.words[VIA_PORT] = 0
    } else {
      this.init.port.postMessage(message)
      this.words[VIA_PORT] = 1
    }
    Atomics.add(this.words, this.outbox, 1)
    Atomics.notify(this.words, this.outbox)
  }

  /** True when a message has arrived since the last one read. */
  protected arrived (): boolean {
    return Atomics.load(this.words, this.inbox) !== this.seen
  }

  protected read (): Message {
    this.seen = Atomics.load(this.words, this.inbox)
    if (this.words[VIA_PORT] === 1) {
      const got = receiveMessageOnPort(this.init.port)
      if (got === undefined) throw new Error('the engine channel lost a message')
      return got.message as Message
    }
    const jsonLength = this.words[JSON_BYTES]
    const dataLength = this.words[DATA_BYTES]
    const json = this.bytes.toString('utf8', HEADER, HEADER + jsonLength)
    if (dataLength < 0) return { json }
    const start = HEADER + jsonLength
    return { json, bytes: new Uint8Array(this.bytes.subarray(start, start + dataLength)) }
  }

  protected spin (ms: number): boolean {
    if (this.arrived()) return true
    const until = performance.now() + ms
    while (performance.now() < until) if (this.arrived()) return true
    return false
  }
}

/** What keeps the process alive while the caller waits: the worker's handle. */
export interface Hold { ref (): void, unref (): void }

/** The caller's end: sends requests, awaits answers. */
export class CallerEndpoint extends Endpoint {
  constructor (init: ChannelInit, private readonly handle: Hold) {
    super(init, TO_WORKER, TO_CALLER)
  }

  /**
   * The worker's next message; null once the channel is closed (the worker exited). With `hold`, the
   * process stays alive while it waits (Atomics.waitAsync alone does not keep the event loop alive).
   * `patient`: the thread has other work (a server's sockets and disk), so it spins briefly but never blocks.
   */
  async receive (hold = true, patient = false): Promise<Message | null> {
    if (!this.spin(CALLER_SPIN_MS) && (patient || !this.block(CALLER_BLOCK_MS))) {
      if (hold) this.handle.ref()
      try {
        while (!this.arrived()) {
          const waited = waitAsync(this.words, this.inbox, this.seen)
          if (waited.async) await waited.value
        }
      } finally {
        if (hold) this.handle.unref()
      }
    }
    if (this.closed) return null
    return this.read()
  }

  /** (A wake-up is not proof: the counter says whether the worker wrote.) */
  private block (ms: number): boolean {
    const until = performance.now() + ms
    for (let left = ms; !this.arrived() && left > 0; left = until - performance.now()) Atomics.wait(this.words, this.inbox, this.seen, left)
    return this.arrived()
  }

  /** Marks the channel closed and wakes a receive() in progress. */
  close (): void {
    Atomics.store(this.words, CLOSED, 1)
    Atomics.add(this.words, TO_CALLER, 1)
    Atomics.notify(this.words, TO_CALLER)
  }
}

/** The worker's end: blocks until the caller's next message. */
export class WorkerEndpoint extends Endpoint {
  constructor (init: ChannelInit) {
    super(init, TO_CALLER, TO_WORKER)
  }

  /** The caller's next message, or null when none came within `timeoutMs`. */
  receive (timeoutMs = Infinity): Message | null {
    if (!this.spin(WORKER_SPIN_MS)) {
      const until = performance.now() + timeoutMs
      while (!this.arrived()) {
        const left = until - performance.now()
        if (left <= 0) return null
        Atomics.wait(this.words, this.inbox, this.seen, left === Infinity ? undefined : left)
      }
    }
    return this.read()
  }
}
