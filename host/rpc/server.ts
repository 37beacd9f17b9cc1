// JSON-RPC 2.0 over WebSocket (CONTRACT §5), plus read-only Hypercore replication on the same port.
//   ws://host:port/            JSON-RPC; with --debug, /?user=NAME or `Authorization: Basic` names the caller
//   ws://host:port/replicate   Hypercore replication of the call log and files archive (binary frames)
//   ws://host:port/blocks      the same cores in bulk, for verifiers that check them in memory (block-server.ts)
//   http://host:port/          a browser's GET (Accept: text/html): the status page; other HTTP gets 426
// Both upgrades pass the origin policy first: a page whose origin is not allowed gets 403.
// The server never serializes connections: fairness and the script-wide lock come from the service's FIFO queue.
import { createServer, type IncomingMessage, type Server as HttpServer } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { WebSocket, WebSocketServer, createWebSocketStream, type RawData } from 'ws'
import { REPLICATION_PATH } from '../../client/wire.js'
import { BLOCKS_PATH, HostError } from '../index.js'
import { claimedUser, keyShapedNameRefusal } from './debug-user.js'
import { Dispatcher, type Caller, type Service } from './dispatch.js'
import { OriginPolicy } from './origin-policy.js'
import { sendStatusPage, wantsStatusPage } from './status-page.js'

export interface RpcServerOptions {
  service: Service
  host?: string                 // default 127.0.0.1; 'localhost' listens on 127.0.0.1 (CONTRACT §4)
  port?: number                 // default 5555; 0 picks a free port
  debug?: boolean               // allow ?user= / Basic auth to name the caller
  origins?: OriginPolicy        // pages that may open a WebSocket (default: any, or local pages only under debug)
  maxPayload?: number           // largest JSON-RPC message, bytes (default 1 MiB); bigger closes with 1009
  replicationMaxPayload?: number // largest replication frame (default 64 MiB)
  heartbeatMs?: number          // ping interval; a socket silent for two intervals is terminated (default 30 s)
  maxBufferedBytes?: number     // unread reply bytes past which a socket takes no new calls, and is cut off if it stops reading (default 8 MiB)
  maxInFlight?: number          // calls awaiting a reply per connection (default 256)
  onError?: (err: unknown) => void // unexpected failures, for the host's log (default: stderr)
}

interface Peer { ws: WebSocket, alive: boolean, unreadAtLastBeat: number }
interface RpcPeer extends Peer, Caller {}

export class RpcServer {
  readonly service: Service
  readonly debug: boolean
  readonly origins: OriginPolicy
  private readonly host: string
  private readonly requestedPort: number
  private readonly maxBufferedBytes: number
  private readonly dispatcher: Dispatcher
  private readonly heartbeatMs: number
  private readonly onError: (err: unknown) => void
  private readonly http: HttpServer
  private readonly rpcWss: WebSocketServer
  private readonly replicationWss: WebSocketServer
  private readonly blocksWss: WebSocketServer
  private readonly peers = new Set<Peer>()
  private boundPort: number | null = null
  private heartbeat: NodeJS.Timeout | null = null
  private opening: Promise<void> | null = null
  private closing: Promise<void> | null = null

  constructor (opts: RpcServerOptions) {
    this.service = opts.service
    this.debug = opts.debug ?? false
    this.origins = opts.origins ?? (this.debug ? OriginPolicy.localPages() : OriginPolicy.anyOrigin())
    this.host = !opts.host || opts.host === 'localhost' ? '127.0.0.1' : opts.host
    this.requestedPort = opts.port ?? 5555
    this.maxBufferedBytes = opts.maxBufferedBytes ?? 8 * 1024 * 1024
    this.heartbeatMs = opts.heartbeatMs ?? 30_000
    this.onError = opts.onError ?? ((err) => { process.stderr.write(`nodevms rpc: ${(err as Error)?.stack ?? err}\n`) })
    this.dispatcher = new Dispatcher(opts.service, opts.maxInFlight ?? 256, this.onError, this.maxBufferedBytes)
    const common = { noServer: true, clientTracking: false, perMessageDeflate: false }
    this.rpcWss = new WebSocketServer({ ...common, maxPayload: opts.maxPayload ?? 1024 * 1024 })
    this.replicationWss = new WebSocketServer({ ...common, maxPayload: opts.replicationMaxPayload ?? 64 * 1024 * 1024 })
    this.blocksWss = new WebSocketServer({ ...common, maxPayload: 64 * 1024 }) // requests are small JSON
    this.http = createServer((req, res) => {
      if (wantsStatusPage(req)) return sendStatusPage(req, res, () => this.service.handshakeInfo(), this.url.slice('ws://'.length))
      res.writeHead(426, { 'content-type': 'text/plain' })
      res.end('This is a nodevms host: connect with a WebSocket (JSON-RPC at /, replication at /replicate).\n')
    })
    this.http.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket, head))
  }

  /** The bound port (the free port chosen when 0 was asked); kept after close() for messages. */
  get port (): number { return this.boundPort ?? this.requestedPort }

  /** The bound IP address. */
  get address (): string { return this.host }

  /** ws://address:port/ */
  get url (): string {
    return `ws://${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.port}`
  }

  /** Open sockets, JSON-RPC and replication together. */
  get clientCount (): number { return this.peers.size }

  /** Starts listening; resolves once bound. Safe to call more than once. */
  open (): Promise<void> {
    this.opening ??= new Promise<void>((resolve, reject) => {
      const onError = (err: unknown) => reject(HostError.LISTEN_FAILED(this.host, this.requestedPort, err))
      this.http.once('error', onError)
      this.http.listen(this.requestedPort, this.host, () => {
        this.http.off('error', onError)
        const addr = this.http.address()
        this.boundPort = addr && typeof addr === 'object' ? addr.port : this.requestedPort
        this.http.on('error', this.onError)
        this.heartbeat = setInterval(() => this.beat(), this.heartbeatMs)
        this.heartbeat.unref()
        resolve()
      })
    })
    return this.opening
  }

  /** Terminates every socket and stops listening. Calls still running complete; their replies are dropped. */
  close (): Promise<void> {
    this.closing ??= this.closeNow()
    return this.closing
  }

  private async closeNow (): Promise<void> {
    if (this.opening) await this.opening.catch(() => {})
    if (this.heartbeat) clearInterval(this.heartbeat)
    for (const peer of this.peers) peer.ws.terminate()
    this.rpcWss.close()
    this.replicationWss.close()
    this.blocksWss.close()
    await this.service.close?.()
    if (!this.http.listening) return
    const closed = new Promise<void>((resolve) => this.http.close(() => resolve()))
    this.http.closeAllConnections()
    await closed
  }

  private onUpgrade (req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => {}) // a reset during the upgrade is the client's business
    if (this.closing) return refuse(socket, 503, 'This nodevms host is shutting down.')
    const origin = req.headers.origin
    if (!this.origins.allows(origin)) return refuse(socket, 403, this.origins.refusal(origin!))
    const url = new URL(req.url ?? '/', 'ws://host')
    const replicate = url.pathname === REPLICATION_PATH && typeof this.service.replicate === 'function'
    if (url.pathname === BLOCKS_PATH && typeof this.service.serveBlocks === 'function') return this.upgradeBlocks(req, socket, head)
    if (url.pathname !== '/' && !replicate) {
      return refuse(socket, 404, `No endpoint at ${url.pathname}: JSON-RPC is at / and replication at ${REPLICATION_PATH}.`)
    }
    const caller = claimedUser(req, url)
    if (caller !== null && !this.debug) {
      return refuse(socket, 401, `This host does not accept debug user names (user ${JSON.stringify(caller)}): ` +
        'they work only when the host runs `nodevms exec --debug`. In production, sign calls with an ed25519 identity instead.')
    }
    const keyShaped = caller === null ? null : keyShapedNameRefusal(caller)
    if (keyShaped !== null) return refuse(socket, 400, keyShaped)
    const wss = replicate ? this.replicationWss : this.rpcWss
    wss.handleUpgrade(req, socket, head, (ws) => {
      if (this.closing) return ws.terminate()
      if (replicate) this.onReplicationSocket(ws)
      else this.onRpcSocket(ws, caller)
    })
  }

  /** The block endpoint: read-only like replication, and like it open to anyone the origin policy lets in. */
  private upgradeBlocks (req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.blocksWss.handleUpgrade(req, socket, head, (ws) => {
      if (this.closing) return ws.terminate()
      this.track({ ws, alive: true, unreadAtLastBeat: 0 })
      this.service.serveBlocks!(ws)
    })
  }

  private track (peer: Peer): void {
    this.peers.add(peer)
    peer.ws.on('pong', () => { peer.alive = true })
    peer.ws.on('error', () => {}) // e.g. an oversize message: ws closes the socket itself (1009)
    peer.ws.on('close', () => this.peers.delete(peer))
  }

  private onReplicationSocket (ws: WebSocket): void {
    this.track({ ws, alive: true, unreadAtLastBeat: 0 })
    const stream = createWebSocketStream(ws)
    // ws only ends the readable half when the socket closes; destroy the whole stream so replication stops.
    ws.once('close', () => stream.destroy())
    stream.on('error', () => stream.destroy())
    try {
      this.service.replicate!(stream)
    } catch (err) {
      this.onError(err)
      ws.terminate()
    }
  }

  private onRpcSocket (ws: WebSocket, caller: string | null): void {
    const peer: RpcPeer = { ws, alive: true, unreadAtLastBeat: 0, caller, inFlight: 0, unread: () => ws.bufferedAmount }
    this.track(peer)
    ws.on('message', (data, isBinary) => this.onMessage(peer, data, isBinary))
  }

  private onMessage (peer: RpcPeer, data: RawData, isBinary: boolean): void {
    if (isBinary) return this.send(peer, Dispatcher.binaryFrame())
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data)
    this.dispatcher.message(peer, bytes.toString('utf8')).then((reply) => { if (reply !== null) this.send(peer, reply) }, this.onError)
  }

  private send (peer: Peer, text: string): void {
    // A client that left mid-call: the call has completed (the service decided); the reply is dropped.
    if (peer.ws.readyState !== WebSocket.OPEN) return
    // A reply is sent whatever its own size (a call that ran is answered); a client that has not read the
    // replies before it is cut off instead, so we never buffer without bound. New calls from a client
    // behind on its reading are refused before they run (Dispatcher, SLOW_READER).
    if (peer.ws.bufferedAmount > this.maxBufferedBytes) {
      peer.ws.terminate()
      return
    }
    peer.ws.send(text)
  }

  private beat (): void {
    for (const peer of this.peers) {
      // Over the cap and not draining since the last beat: the client stopped reading.
      const unread = peer.ws.bufferedAmount
      const stalled = unread > this.maxBufferedBytes && unread >= peer.unreadAtLastBeat
      peer.unreadAtLastBeat = unread
      if (!peer.alive || stalled) {
        peer.ws.terminate()
        continue
      }
      peer.alive = false
      peer.ws.ping()
    }
  }
}

function refuse (socket: Duplex, status: number, message: string): void {
  const reason = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 503: 'Service Unavailable' }[status] ?? 'Error'
  const body = message + '\n'
  socket.write(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
  ;(socket as Socket).destroySoon() // close once written, without waiting for the client to hang up
}
