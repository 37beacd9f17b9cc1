// Running JSON-RPC messages against a Service: one text message in, its reply text out (or none).
// Sockets, peers and the upgrade live in server.ts; this is what happens between a frame and its answer.
import type { Duplex } from 'node:stream'
import type { WebSocket } from 'ws'
import { RPC_CODES, errorResponse, resultResponse, type JsonRpcId, type JsonRpcResponse } from '../../client/wire.js'
import { HostError } from '../index.js'
import { parseMessage, type JsonRpcItem } from './request.js'

export interface CallContext { caller: string | null, auth?: unknown /* signed-call auth member, passed through */ }

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

/** What the dispatcher knows of a connection: who it speaks for, and how many of its calls await a reply. */
export interface Caller { caller: string | null, inFlight: number }

/** Known HostError codes and the JSON-RPC error each becomes. A HostError with `rpcCode` maps itself. */
const HOST_ERROR_RPC: Record<string, { code: number, message: string }> = {
  QUEUE_FULL: { code: RPC_CODES.QUEUE_FULL, message: 'queue full, try again' },
  HOST_CLOSING: { code: RPC_CODES.HOST_CLOSING, message: 'host is shutting down, try again later' }
}

export class Dispatcher {
  constructor (
    private readonly service: Service,
    private readonly maxInFlight: number,
    private readonly onError: (err: unknown) => void
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
    if (message.kind === 'single') return await this.run(peer, message.item)
    // Every item is handed to the service now, in order, so the FIFO queue keeps the batch order.
    const replies = await Promise.all(message.items.map((item) => this.run(peer, item)))
    const out = replies.filter((r): r is string => r !== null)
    return out.length > 0 ? `[${out.join(',')}]` : null
  }

  /** Runs one request; resolves to the encoded reply, or null when none is owed (notifications). */
  private async run (peer: Caller, item: JsonRpcItem): Promise<string | null> {
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
      if (known) return errorResponse(id, known.code, known.message, err.message)
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
