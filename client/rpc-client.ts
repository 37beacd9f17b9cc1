// The JS client: JSON-RPC 2.0 over WebSocket to `nodevms exec` (CONTRACT §5), the same in Node and in
// browsers; the platform (client/node.ts, client/browser.ts) supplies the socket and ed25519.
//   const client = await connect('localhost:5555'); await client.increment()
//   const signed = await connect('localhost:5555', { identity })
// Remote methods become async functions on the client, except names the client itself uses (close, on, ...):
// those stay callable as client.call(name, ...args). Reserved names (then, __proto__, ...: method-names.ts)
// never become properties, whatever a host lists.
import { logKeyFromUrl, signCallWith } from './call-signature.js'
import { Emitter } from './emitter.js'
import { ClientError, RpcError } from './errors.js'
import { checkIdentity, identityId, type Identity, type IdentityJson } from './identity.js'
import { AUTH_RPC_CODES } from './jsonrpc.js'
import { reservedMethodReason } from './method-names.js'
import type { ClientSocket, Platform } from './platform.js'
import { normaliseUrl } from './url.js'

export interface ConnectOptions {
  user?: string                      // debug user name, sent as ?user= (the host must run with --debug)
  timeout?: number                   // per call and for connecting, ms (default 30 s)
  headers?: Record<string, string>   // extra HTTP headers for the WebSocket upgrade (Node only)
  identity?: Identity | IdentityJson // an ed25519 key pair, or its JSON form (hex): every call is signed (CONTRACT §5)
}

export interface HandshakeInfo { methods: string[], callLogUrl?: string, filesArchiveUrl?: string, [key: string]: unknown }

export type RemoteMethod = (...args: unknown[]) => Promise<unknown>

/** Remote methods as an app declares them: every one returns a Promise, since every call is remote. */
export type RemoteApi<M> = { [K in keyof M]: (...args: never[]) => Promise<unknown> }

/** The remote methods of a client connected without declaring them: any name, any JSON arguments. */
export interface UntypedRemote { readonly [method: string]: RemoteMethod }

/**
 * A connected client of class C with remote methods M: `info` and `url` are set, and each method of M is
 * a property, except names C uses itself (reach those with call(name, ...args)) and `then`.
 */
export type Connected<C, M> = C & { readonly info: HandshakeInfo, readonly url: string } &
  { readonly [K in Exclude<keyof M, keyof C | 'then'>]: M[K] }

const DEFAULT_TIMEOUT_MS = 30_000

interface Pending {
  method: string, resolve: (value: unknown) => void, reject: (err: Error) => void, timer: ReturnType<typeof setTimeout>
  /** A signed call refused for a stale counter (-32002, never run): sends it again with a greater one; false when out of retries. */
  resign?: (last: unknown) => boolean
}

interface Signer { identity: Identity, pubkey: string, logKey: string }

const STALE_COUNTER_RETRIES = 3
/** The last counter used per public key, shared by every client in this process (or page). */
const lastCounters = new Map<string, number>()

/** Strictly increasing per key, and across restarts of the client: microseconds since the epoch, or last + 1. */
function nextCounter (pubkey: string, above = -1): number {
  const counter = Math.max(Date.now() * 1000, (lastCounters.get(pubkey) ?? -1) + 1, above + 1)
  lastCounters.set(pubkey, counter)
  return counter
}

/** The client over one platform; client/node.ts and client/browser.ts export it as RPCClient. */
export class PlatformClient extends Emitter {
  /** The normalised url of the host, once connect() is called. */
  url: string | null = null
  /** The handshake result: { methods, callLogUrl, filesArchiveUrl, ... }. */
  info: HandshakeInfo | null = null
  // Truly private (#), so that `name in this` sees the public members only: a remote method by any other
  // name becomes a property, exactly as the Connected type says.
  readonly #platform: Platform
  #socket: ClientSocket | null = null
  #signer: Signer | null = null
  readonly #pending = new Map<number, Pending>()
  /** The remote methods added as properties by the last connect(). */
  #remoteNames: string[] = []
  #nextId = 1
  #timeout: number

  constructor (platform: Platform, opts: { timeout?: number } = {}) {
    super()
    this.#platform = platform
    this.#timeout = opts.timeout ?? DEFAULT_TIMEOUT_MS
  }

  /** The hex public key that signs this client's calls (System.caller.id on the host), or null. */
  get pubkey (): string | null { return this.#signer?.pubkey ?? null }

  /** The remote methods listed by the handshake. */
  get methods (): string[] { return this.info?.methods ?? [] }

  /** nodevms-client@2 name for `info`. */
  get backendInfo (): HandshakeInfo | null { return this.info }

  /** Connects, calls `handshake`, and adds one async function per remote method. */
  async connect (url: string, opts: ConnectOptions = {}): Promise<this> {
    if (this.#socket !== null && !this.#socket.isClosed) throw ClientError.ALREADY_CONNECTED(this.url ?? url)
    const href = new URL(normaliseUrl(url))
    if (opts.user) href.searchParams.set('user', opts.user)
    const identity = opts.identity === undefined ? undefined : checkIdentity(this.#platform.ed25519, opts.identity)
    this.url = `${href.protocol}//${href.host}`
    if (opts.timeout !== undefined) this.#timeout = opts.timeout
    this.#signer = null
    const socket = await this.#platform.openSocket(href.href, { headers: opts.headers, timeout: this.#timeout })
    this.#socket = socket
    socket.onMessage((text) => this.#onMessage(text))
    socket.onError((err) => { if (this.listenerCount('error') > 0) this.emit('error', err) })
    socket.onClose(() => this.#onClose(socket))
    this.emit('open')
    try {
      this.info = await this.call('handshake') as HandshakeInfo
      if (!this.info || !Array.isArray(this.info.methods)) throw new TypeError(`${this.url} is not a nodevms host: its handshake has no methods list`)
      if (identity !== undefined) {
        const logKey = logKeyFromUrl(this.info.callLogUrl)
        if (logKey === null) throw ClientError.NO_CALL_LOG(this.url)
        this.#signer = { identity, pubkey: identityId(identity), logKey }
      }
    } catch (err) {
      await this.close()
      throw err
    }
    for (const name of this.#remoteNames) delete (this as Record<string, unknown>)[name] // from a previous connect()
    this.#remoteNames = []
    for (const name of this.info.methods) {
      // Never shadow the client's own members (client.call(name) still works), and never a reserved name.
      if (typeof name !== 'string' || reservedMethodReason(name) !== null || name in this) continue
      Object.defineProperty(this, name, { value: (...args: unknown[]) => this.call(name, ...args), enumerable: true, configurable: true })
      this.#remoteNames.push(name)
    }
    return this
  }

  /** Calls a remote method by name. Rejects with RpcError (host's answer) or ClientError (timeout, closed). */
  call (method: string, ...args: unknown[]): Promise<unknown> {
    const socket = this.#socket
    if (socket === null || !socket.isOpen) {
      return Promise.reject(this.url && socket ? ClientError.CONNECTION_CLOSED(this.url, method) : ClientError.NOT_CONNECTED(method))
    }
    let argsText: string
    try {
      argsText = JSON.stringify(args)
    } catch (err) {
      return Promise.reject(new TypeError(`The arguments of ${method}() are not JSON: ${(err as Error).message}`))
    }
    const tail = `,"method":${JSON.stringify(method)},"params":${argsText}`
    const signer = method === 'handshake' ? null : this.#signer
    // The signature covers the params as the host will parse them (toJSON applied, undefined dropped).
    const params = signer === null ? null : JSON.parse(argsText) as unknown[]
    return new Promise((resolve, reject) => {
      let id = 0
      let retries = 0
      const send = (above?: number) => {
        id = this.#nextId++
        const pending: Pending = { method, resolve, reject, timer }
        let text = `{"jsonrpc":"2.0","id":${id}${tail}}`
        if (signer !== null) {
          const auth = signCallWith(this.#platform.ed25519.sign, signer.identity, signer.logKey, method, params!, nextCounter(signer.pubkey, above))
          text = `{"jsonrpc":"2.0","id":${id}${tail},"auth":${JSON.stringify(auth)}}`
          pending.resign = (last) => {
            if (retries++ >= STALE_COUNTER_RETRIES || this.#socket !== socket || !socket.isOpen) return false
            send(Number.isSafeInteger(last) ? last as number : undefined)
            return true
          }
        }
        this.#pending.set(id, pending)
        socket.send(text)
      }
      const ms = this.#timeout
      const timer = setTimeout(() => {
        this.#pending.delete(id)
        reject(ClientError.CALL_TIMEOUT(this.url ?? '', method, ms))
      }, ms)
      send()
    })
  }

  /** Closes the connection; calls still pending reject with CONNECTION_CLOSED. Safe to call more than once. */
  async close (): Promise<void> {
    await this.#socket?.close()
  }

  #onMessage (text: string): void {
    let message: unknown
    try {
      message = JSON.parse(text)
    } catch {
      return // not JSON-RPC: nothing to settle
    }
    for (const res of Array.isArray(message) ? message : [message]) {
      const pending = typeof res?.id === 'number' ? this.#pending.get(res.id) : undefined
      if (!pending) continue
      this.#pending.delete(res.id)
      if (res.error?.code === AUTH_RPC_CODES.STALE_COUNTER && pending.resign?.(res.error.data?.last) === true) continue
      clearTimeout(pending.timer)
      if (res.error) pending.reject(new RpcError(res.error))
      else pending.resolve(res.result)
    }
  }

  #onClose (socket: ClientSocket): void {
    if (this.#socket !== socket) return
    for (const pending of this.#pending.values()) {
      clearTimeout(pending.timer)
      pending.reject(ClientError.CONNECTION_CLOSED(this.url ?? '', pending.method))
    }
    this.#pending.clear()
    this.emit('close')
  }
}
