// Running JSON-RPC messages against a Service: one text message in, its reply text out (or none).
// Sockets, peers and the upgrade live in server.ts; this is what happens between a frame and its answer.
import type { Duplex } from 'node:stream'
import type { WebSocket } from 'ws'
import { RPC_CODES, errorResponse, resultResponse, type JsonRpcId, type JsonRpcResponse } from '../../client/wire.js'
import { HostError } from '../index.js'
import { parseMessage, type JsonRpcItem } from './request.js'

export interface CallContext {
  caller: string | null
  auth?: unknown /* signed-call auth member, passed through */
  /** For the service to call just before the call runs (in queue order); throwing refuses it unrun. */
  beforeRun?: () => void
  /** For the service to call once it ran, with an upper bound of its reply's size in bytes. */
  afterRun?: (bytes: number) => void
}

export type CallOutcome = { result: unknown } | { error: { name: string, message: string } }

export interface Service {
  readonly methods: string[]
  /** The `handshake` result: { methods, callLogUrl, filesArchiveUrl, ... }. */
  handshakeInfo (): Record<string, unknown>
  /** Runs one call. A script error is an outcome; a refusal is a thrown HostError (see HOST_ERROR_RPC). */
  call (method: string, params: unknown[], ctx: CallContext, rawRequest: Record<string, unknown>): Promise<CallOutcome>
  /** Read-only hypercore replication over the socket. */
  replicate? (stream: Duplex): void
  /** The block endpoint (host/block-frames.ts) over the socket: read-only, for verifiers that fetch in bulk. */
  serveBlocks? (ws: WebSocket): void
  /** Releases what the service holds (worker threads); the server calls it once, when it closes. */
  close? (): Promise<void>
}

/**
 * What the dispatcher knows of a connection: who it speaks for, how many of its calls await a reply, and
 * how many bytes of replies it has not read yet.
 */
export interface Caller { caller: string | null, inFlight: number, unread (): number }

/**
 * Replies of one batch go out as one message. Once the replies of a batch's earlier calls take this many
 * bytes, its later calls are refused before they run (a call's reply is at most one log entry, 15 MiB),
 * so every batch reply that is sent stays within what a client takes (ws accepts 100 MiB by default).
 */
export const BATCH_REPLY_BYTES = 32 * 1024 * 1024

/**
 * Known HostError codes and the JSON-RPC error each becomes; `data` is the error's message unless given here
 * (the storage errors name host paths, which stay on the host). A HostError with `rpcCode` maps itself.
 */
const HOST_ERROR_RPC: Record<string, { code: number, message: string, data?: string }> = {
  QUEUE_FULL: { code: RPC_CODES.QUEUE_FULL, message: 'queue full, try again' },
  BATCH_TOO_LARGE: { code: RPC_CODES.CALL_TOO_LARGE, message: 'call too large' },
  SLOW_READER: { code: RPC_CODES.TOO_MANY_IN_FLIGHT, message: 'too many replies unread' },
  HOST_CLOSING: { code: RPC_CODES.HOST_CLOSING, message: 'host is shutting down, try again later' },
  ARGS_TOO_LARGE: { code: RPC_CODES.CALL_TOO_LARGE, message: 'call too large' },
  DISK_FULL: { code: RPC_CODES.DISK_FULL, message: 'disk full', data: 'the host\'s disk is full, so this call was not acknowledged; the host refuses calls until it has room again. Try again later.' },
  STORE_DAMAGED: { code: RPC_CODES.STORE_FAILED, message: 'store failed', data: 'the host\'s store is damaged, so this call was not acknowledged, and the host stopped taking calls. Its operator has the details.' },
  STORE_FAILED: { code: RPC_CODES.STORE_FAILED, message: 'store failed', data: 'the host\'s store failed, so this call was not acknowledged, and the host stopped taking calls. Its operator has the details.' }
}

export class Dispatcher {
  constructor (
    private readonly service: Service,
    private readonly maxInFlight: number,
    private readonly onError: (err: unknown) => void,
    private readonly maxUnread = Infinity
  ) {}

  /** The reply to a binary frame: an invalid request (not a parse error), since the bytes were never read as text. */
  static binaryFrame (): string {
    return encode(errorResponse(null, RPC_CODES.INVALID_REQUEST, 'Invalid Request',
      'binary frames are not accepted: send each JSON-RPC message as a text frame'))
  }

  /** Runs a single request or a batch; resolves to the reply text, or null when none is owed. */
  async message (peer: Caller, text: string): Promise<string | null> {
    const message = parseMessage(text)
    if (message.kind === 'invalid') return encode(message.response)
    if (message.kind === 'single') return await this.run(peer, message.item, null)
    // Every item is handed to the service now, in order, so the FIFO queue keeps the batch order.
    const budget = { bytes: 0 }
    const replies = await Promise.all(message.items.map((item) => this.run(peer, item, budget)))
    const out = replies.filter((r): r is string => r !== null)
    return out.length > 0 ? `[${out.join(',')}]` : null
  }

  /** Runs one request; resolves to the encoded reply, or null when none is owed (notifications). */
  private async run (peer: Caller, item: JsonRpcItem, batch: { bytes: number } | null): Promise<string | null> {
    if ('response' in item) return item.response === null ? null : encode(item.response)
    const { method, params, raw } = item.request
    const id: JsonRpcId = item.request.id ?? null
    const owed = item.request.id !== undefined
    const reply = (res: JsonRpcResponse): string | null => owed ? encode(res) : null
    if (method === 'handshake') {
      try {
        return reply(resultResponse(id, this.service.handshakeInfo()))
      } catch (err) {
        return reply(this.toRpcError(id, err))
      }
    }
    if (!this.service.methods.includes(method)) {
      return reply(errorResponse(id, RPC_CODES.METHOD_NOT_FOUND, 'Method not found',
        `this script has no method ${JSON.stringify(method)}; it has: ${this.service.methods.join(', ') || '(none)'}`))
    }
    if (peer.inFlight >= this.maxInFlight) {
      return reply(errorResponse(id, RPC_CODES.TOO_MANY_IN_FLIGHT, 'too many calls in flight',
        `at most ${this.maxInFlight} calls may await a reply on one connection: wait for replies before sending more`))
    }
    peer.inFlight++
    try {
      const ctx: CallContext = { caller: peer.caller }
      if (raw.auth !== undefined) ctx.auth = raw.auth
      // A call that runs is answered: refused before it runs when its reply could not be delivered.
      ctx.beforeRun = () => {
        if (peer.unread() > this.maxUnread) throw HostError.SLOW_READER(peer.unread(), this.maxUnread)
        if (owed && batch !== null && batch.bytes >= BATCH_REPLY_BYTES) throw HostError.BATCH_TOO_LARGE(batch.bytes, BATCH_REPLY_BYTES)
      }
      if (owed && batch !== null) ctx.afterRun = (bytes) => { batch.bytes += bytes }
      const outcome = await this.service.call(method, params, ctx, raw)
      if ('error' in outcome) return reply(errorResponse(id, RPC_CODES.SCRIPT_ERROR, outcome.error.name, outcome.error.message))
      return reply(resultResponse(id, outcome.result))
    } catch (err) {
      return reply(this.toRpcError(id, err))
    } finally {
      peer.inFlight--
    }
  }

  private toRpcError (id: JsonRpcId, err: unknown): JsonRpcResponse {
    if (err instanceof HostError) {
      if (typeof err.rpcCode === 'number') return errorResponse(id, err.rpcCode, err.message, err.data)
      const known = HOST_ERROR_RPC[err.code]
      if (known) return errorResponse(id, known.code, known.message, known.data ?? err.message)
    }
    this.onError(err) // details stay on the host; the client gets a clean message
    return errorResponse(id, RPC_CODES.INTERNAL_ERROR, 'Internal error', 'the host failed to run this call; its log has the details')
  }
}

/** JSON text of a reply; a result that cannot be encoded becomes an error for that call alone. */
function encode (res: JsonRpcResponse): string {
  try {
    return JSON.stringify(res)
  } catch (err) {
    return JSON.stringify(errorResponse(res.id, RPC_CODES.INTERNAL_ERROR, 'Internal error',
      `the result cannot be sent as JSON: ${(err as Error).message}`))
  }
}
