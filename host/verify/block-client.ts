// The verifier's connection to a host's block endpoint (host/block-frames.ts): requests go out with ids,
// replies must come back in request order, each one binary, well formed and not oversized. A reply that breaks
// that, a socket that closes, or silence while requests wait fails every waiting request: never a hang.
import type { WebSocket } from 'ws'
import { ClientError, normaliseUrl, openWebSocket } from '../../client/node.js'
import { BLOCKS_PATH, HostError, MAX_REPLY_BYTES, decodeReply, type BlockRequest } from '../index.js'

/** How long requests may wait with no reply at all before the host is declared silent. */
const DEFAULT_SILENCE_MS = 30_000
/** Requests sent and not yet answered; more wait here (the host takes at most 16 per socket). */
const MAX_OUTSTANDING = 8

type Request = BlockRequest extends infer R ? R extends { id: number } ? Omit<R, 'id'> : never : never

/** One reply: its header (checked by the caller, which knows what it asked), its payload. */
export interface Reply { header: Record<string, unknown>, payload: Buffer }

interface Waiting { id: number, what: string, text: string, resolve (reply: Reply): void, reject (err: unknown): void }

export interface BlockClientOptions { timeout?: number, silenceMs?: number, maxReplyBytes?: number }

export class BlockClient {
  private readonly waiting: Waiting[] = [] // sent, in order
  private readonly queued: Waiting[] = [] // not sent yet
  private nextId = 1
  private failure: unknown = null
  private timer: NodeJS.Timeout | null = null

  private constructor (private readonly ws: WebSocket, readonly url: string, private readonly silenceMs: number, maxReplyBytes: number) {
    ws.on('message', (data, isBinary) => this.onReply(data as Buffer, isBinary))
    ws.on('error', (err) => {
      const oversized = (err as { code?: string }).code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH'
      this.fail(oversized ? HostError.BAD_FRAME(this.describe(), `a reply bigger than ${maxReplyBytes} bytes, the most a verifier accepts`) : err)
    })
    ws.on('close', () => this.fail(ClientError.CONNECTION_CLOSED(url, 'fetch blocks')))
  }

  /** Connects to the host's block endpoint; null when the host has none (an older host: use replication). */
  static async open (url: string, opts: BlockClientOptions = {}): Promise<BlockClient | null> {
    const target = new URL(normaliseUrl(url))
    target.pathname = BLOCKS_PATH
    target.search = ''
    const maxReplyBytes = opts.maxReplyBytes ?? MAX_REPLY_BYTES + 1024 * 1024 // a largest block, and its header
    let ws: WebSocket
    try {
      ws = await openWebSocket(target.href, { timeout: opts.timeout, maxPayload: maxReplyBytes })
    } catch (err) {
      if (err instanceof ClientError && /HTTP 404/.test(err.message)) return null
      throw err
    }
    return new BlockClient(ws, url, opts.silenceMs ?? DEFAULT_SILENCE_MS, maxReplyBytes)
  }

  /** Sends one request; resolves with its reply. `what` names the core for errors. */
  request (request: Request, what: string): Promise<Reply> {
    if (this.failure !== null) return Promise.reject(this.failure)
    const id = this.nextId++
    return new Promise<Reply>((resolve, reject) => {
      this.queued.push({ id, what, text: JSON.stringify({ id, ...request }), resolve, reject })
      this.sendQueued()
    })
  }

  private sendQueued (): void {
    while (this.queued.length > 0 && this.waiting.length < MAX_OUTSTANDING && this.failure === null) {
      const next = this.queued.shift()!
      this.waiting.push(next)
      this.ws.send(next.text)
      this.timer ??= this.watch()
    }
  }

  async close (): Promise<void> {
    this.fail(ClientError.CONNECTION_CLOSED(this.url, 'fetch blocks'))
    if (this.ws.readyState === this.ws.CLOSED) return
    const closed = new Promise<void>((resolve) => this.ws.once('close', () => resolve()))
    this.ws.terminate()
    await closed
  }

  private onReply (data: Buffer, isBinary: boolean): void {
    const next = this.waiting[0]
    if (next === undefined) return this.fail(HostError.BAD_FRAME(this.describe(), 'a reply nobody asked for'))
    if (!isBinary) return this.fail(HostError.BAD_FRAME(next.what, 'a text reply where a binary frame belongs'))
    let reply: { header: unknown, payload: Buffer }
    try {
      reply = decodeReply(data)
    } catch (err) {
      return this.fail(HostError.BAD_FRAME(next.what, `a malformed reply: ${(err as Error).message}`))
    }
    const header = reply.header as Record<string, unknown>
    if (typeof header !== 'object' || header === null || Array.isArray(header)) return this.fail(HostError.BAD_FRAME(next.what, 'a reply whose header is not an object'))
    if (header.id !== next.id) {
      return this.fail(HostError.BAD_FRAME(next.what, `the reply to request ${String(header.id)} came where the reply to request ${next.id} was due: replies out of order`))
    }
    this.waiting.shift()
    this.rewatch()
    this.sendQueued()
    if (header.type === 'error') {
      next.reject(HostError.BAD_FRAME(next.what, `the host refused a request: ${String(header.message)}`))
      return
    }
    next.resolve({ header, payload: reply.payload })
  }

  private fail (err: unknown): void {
    if (this.failure === null) this.failure = err
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    for (const w of [...this.waiting.splice(0), ...this.queued.splice(0)]) w.reject(this.failure)
    if (this.ws.readyState === this.ws.OPEN) this.ws.terminate()
  }

  private watch (): NodeJS.Timeout {
    const timer = setTimeout(() => this.fail(HostError.HOST_SILENT(this.describe(), this.silenceMs)), this.silenceMs)
    timer.unref()
    return timer
  }

  /** A reply came: the silence clock restarts, or stops when nothing waits. */
  private rewatch (): void {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = this.waiting.length > 0 ? this.watch() : null
  }

  private describe (): string {
    return this.waiting[0]?.what ?? `the cores of ${this.url}`
  }
}
