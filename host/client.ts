// The JS client (nodevms/client and nodevms): JSON-RPC 2.0 over WebSocket to `nodevms exec` (CONTRACT §5).
//   const client = await connect('localhost:5555'); await client.increment()
//   const signed = await connect('localhost:5555', { identity: (await loadOrCreateIdentity()).identity })
// Remote methods become async functions on the client, except names the client itself uses (close, on, ...):
// those stay callable as client.call(name, ...args).
import { EventEmitter } from 'node:events'
import { WebSocket } from 'ws'
import { ClientError } from './errors.js'
import { identityId, type Identity } from './identity.js'
import { AUTH_RPC_CODES, logKeyFromUrl, signCall } from './signed-call.js'

// Identities for connect(url, { identity }): the same files `nodevms id` manages.
export { createIdentity, loadIdentity, loadOrCreateIdentity, defaultIdentityPath, identityId } from './identity.js'
export type { Identity } from './identity.js'

export interface ConnectOptions {
  user?: string                      // debug user name, sent as ?user= (the host must run with --debug)
  timeout?: number                   // per call and for connecting, ms (default 30 s)
  headers?: Record<string, string>   // extra HTTP headers for the WebSocket upgrade
  identity?: Identity                // an ed25519 key pair: every call is signed (CONTRACT §5)
}

export interface HandshakeInfo { methods: string[], callLogUrl?: string, filesArchiveUrl?: string, [key: string]: unknown }

export type RemoteMethod = (...args: unknown[]) => Promise<unknown>

/** A connected client: RPCClient plus one async function per remote method. */
export type Client = RPCClient & { readonly [method: string]: RemoteMethod }

const DEFAULT_TIMEOUT_MS = 30_000

/** An error the host answered with. A script error has the script's error `name` and `message`, and code -32000. */
export class RpcError extends Error {
  readonly code: number
  readonly data?: unknown
  constructor (error: { code: number, message: string, data?: unknown }) {
    const script = error.code === -32000
    const detail = typeof error.data === 'string' ? error.data : undefined
    super(script ? (detail ?? '') : detail ? `${error.message}: ${detail}` : error.message)
    this.name = script ? error.message : 'RpcError'
    this.code = error.code
    if (error.data !== undefined) this.data = error.data
  }
}

/** `localhost:5555` → `ws://localhost:5555/`; http(s) becomes ws(s); anything else is a BAD_URL ClientError. */
export function normaliseUrl (url: string): string {
  const trimmed = url.trim()
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) ? trimmed : `ws://${trimmed}`
  let parsed: URL
  try {
    parsed = new URL(withScheme)
  } catch {
    throw ClientError.BAD_URL(url)
  }
  if (parsed.protocol === 'http:') parsed.protocol = 'ws:'
  else if (parsed.protocol === 'https:') parsed.protocol = 'wss:'
  if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') throw ClientError.BAD_URL(url)
  return parsed.href
}

const RETRY_OTHER_FAMILY = new Set(['ECONNREFUSED', 'EADDRNOTAVAIL', 'EAFNOSUPPORT', 'ENETUNREACH', 'EHOSTUNREACH'])

/**
 * Opens a WebSocket to a normalised url. `localhost` tries 127.0.0.1, then ::1, since a host may listen on
 * either. An HTTP refusal (401, 404) becomes a CONNECTION_FAILED error carrying the host's explanation.
 */
export async function openWebSocket (url: string, opts: { headers?: Record<string, string>, timeout?: number } = {}): Promise<WebSocket> {
  const target = new URL(url)
  const display = `${target.protocol}//${target.host}`
  const candidates = target.hostname === 'localhost' ? ['127.0.0.1', '[::1]'] : [target.hostname]
  let lastError: unknown = null
  for (const hostname of candidates) {
    target.hostname = hostname
    try {
      return await attempt(target.href, opts)
    } catch (err) {
      lastError = err
      if (err instanceof ClientError || !RETRY_OTHER_FAMILY.has((err as { code?: string }).code ?? '')) break
    }
  }
  if (lastError instanceof ClientError) throw lastError
  const reason = (lastError as { code?: string })?.code ?? (lastError as Error)?.message ?? String(lastError)
  throw ClientError.CONNECTION_FAILED(display, reason, lastError)
}

function attempt (href: string, opts: { headers?: Record<string, string>, timeout?: number }): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(href, {
      headers: opts.headers, handshakeTimeout: opts.timeout ?? DEFAULT_TIMEOUT_MS, perMessageDeflate: false
    })
    ws.on('error', reject) // settles once; later errors are harmless here
    ws.once('open', () => { ws.off('error', reject); resolve(ws) })
    ws.once('unexpected-response', (req, res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { if (body.length < 4096) body += chunk })
      res.on('end', () => {
        const why = `the host answered HTTP ${res.statusCode}${body.trim() ? `: ${body.trim()}` : ''}`
        reject(ClientError.CONNECTION_FAILED(new URL(href).host, why))
        req.destroy()
      })
    })
  })
}

interface Pending {
  method: string, resolve: (value: unknown) => void, reject: (err: Error) => void, timer: NodeJS.Timeout
  /** A signed call refused for a stale counter (-32002, never run): sends it again with a greater one; false when out of retries. */
  resign?: (last: unknown) => boolean
}

interface Signer { identity: Identity, pubkey: string, logKey: string }

const STALE_COUNTER_RETRIES = 3
/** The last counter used per public key, shared by every client in this process. */
const lastCounters = new Map<string, number>()

/** Strictly increasing per key, and across restarts of the client: microseconds since the epoch, or last + 1. */
function nextCounter (pubkey: string, above = -1): number {
  const counter = Math.max(Date.now() * 1000, (lastCounters.get(pubkey) ?? -1) + 1, above + 1)
  lastCounters.set(pubkey, counter)
  return counter
}

/** nodevms-client compatible: `const client = new RPCClient(); await client.connect('localhost:5555')`. Events: open, close, error. */
export class RPCClient extends EventEmitter {
  /** The normalised url of the host, once connect() is called. */
  url: string | null = null
  /** The handshake result: { methods, callLogUrl, filesArchiveUrl, ... }. */
  info: HandshakeInfo | null = null
  private ws: WebSocket | null = null
  private signer: Signer | null = null
  private readonly pending = new Map<number, Pending>()
  private nextId = 1
  private timeout: number

  constructor (opts: { timeout?: number } = {}) {
    super()
    this.timeout = opts.timeout ?? DEFAULT_TIMEOUT_MS
  }

  /** The hex public key that signs this client's calls (System.caller.id on the host), or null. */
  get pubkey (): string | null { return this.signer?.pubkey ?? null }

  /** The remote methods listed by the handshake. */
  get methods (): string[] { return this.info?.methods ?? [] }

  /** nodevms-client@2 name for `info`. */
  get backendInfo (): HandshakeInfo | null { return this.info }

  /** Connects, calls `handshake`, and adds one async function per remote method. */
  async connect (url: string, opts: ConnectOptions = {}): Promise<this> {
    if (this.ws && this.ws.readyState !== WebSocket.CLOSED) throw ClientError.ALREADY_CONNECTED(this.url ?? url)
    const href = new URL(normaliseUrl(url))
    if (opts.user) href.searchParams.set('user', opts.user)
    this.url = `${href.protocol}//${href.host}`
    if (opts.timeout !== undefined) this.timeout = opts.timeout
    this.signer = null
    const ws = await openWebSocket(href.href, { headers: opts.headers, timeout: this.timeout })
    this.ws = ws
    ws.on('message', (data) => this.onMessage(String(data)))
    ws.on('error', (err) => { if (this.listenerCount('error') > 0) this.emit('error', err) })
    ws.on('close', () => this.onClose(ws))
    this.emit('open')
    try {
      this.info = await this.call('handshake') as HandshakeInfo
      if (!this.info || !Array.isArray(this.info.methods)) throw new TypeError(`${this.url} is not a nodevms host: its handshake has no methods list`)
      if (opts.identity !== undefined) {
        const logKey = logKeyFromUrl(this.info.callLogUrl)
        if (logKey === null) throw new ClientError(`${this.url} gave no call log key in its handshake (callLogUrl), so calls cannot be signed for it.`, 'NO_CALL_LOG')
        this.signer = { identity: opts.identity, pubkey: identityId(opts.identity), logKey }
      }
    } catch (err) {
      await this.close()
      throw err
    }
    for (const name of this.info.methods) {
      if (name in this) continue // never shadow the client's own members; client.call(name) still works
      Object.defineProperty(this, name, { value: (...args: unknown[]) => this.call(name, ...args), enumerable: true, configurable: true })
    }
    return this
  }

  /** Calls a remote method by name. Rejects with RpcError (host's answer) or ClientError (timeout, closed). */
  call (method: string, ...args: unknown[]): Promise<unknown> {
    const ws = this.ws
    if (!ws || ws.readyState !== WebSocket.OPEN) {
      return Promise.reject(this.url && ws ? ClientError.CONNECTION_CLOSED(this.url, method) : ClientError.NOT_CONNECTED(method))
    }
    let argsText: string
    try {
      argsText = JSON.stringify(args)
    } catch (err) {
      return Promise.reject(new TypeError(`The arguments of ${method}() are not JSON: ${(err as Error).message}`))
    }
    const tail = `,"method":${JSON.stringify(method)},"params":${argsText}`
    const signer = method === 'handshake' ? null : this.signer
    // The signature covers the params as the host will parse them (toJSON applied, undefined dropped).
    const params = signer === null ? null : JSON.parse(argsText) as unknown[]
    return new Promise((resolve, reject) => {
      let id = 0
      let retries = 0
      const send = (above?: number) => {
        id = this.nextId++
        const pending: Pending = { method, resolve, reject, timer }
        let text = `{"jsonrpc":"2.0","id":${id}${tail}}`
        if (signer !== null) {
          const auth = signCall(signer.identity, signer.logKey, method, params!, nextCounter(signer.pubkey, above))
          text = `{"jsonrpc":"2.0","id":${id}${tail},"auth":${JSON.stringify(auth)}}`
          pending.resign = (last) => {
            if (retries++ >= STALE_COUNTER_RETRIES || this.ws !== ws || ws.readyState !== WebSocket.OPEN) return false
            send(Number.isSafeInteger(last) ? last as number : undefined)
            return true
          }
        }
        this.pending.set(id, pending)
        ws.send(text)
      }
      const ms = this.timeout
      const timer = setTimeout(() => {
        this.pending.delete(id)
        reject(ClientError.CALL_TIMEOUT(this.url ?? '', method, ms))
      }, ms)
      send()
    })
  }

  /** Closes the connection; calls still pending reject with CONNECTION_CLOSED. Safe to call more than once. */
  async close (): Promise<void> {
    const ws = this.ws
    if (!ws) return
    if (ws.readyState !== WebSocket.CLOSED) {
      const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()))
      ws.close(1000)
      // A host that does not answer the closing handshake is cut off rather than waited for.
      const timer = setTimeout(() => ws.terminate(), 2000)
      await closed
      clearTimeout(timer)
    }
  }

  private onMessage (text: string): void {
    let message: unknown
    try {
      message = JSON.parse(text)
    } catch {
      return // not JSON-RPC: nothing to settle
    }
    for (const res of Array.isArray(message) ? message : [message]) {
      const pending = typeof res?.id === 'number' ? this.pending.get(res.id) : undefined
      if (!pending) continue
      this.pending.delete(res.id)
      if (res.error?.code === AUTH_RPC_CODES.STALE_COUNTER && pending.resign?.(res.error.data?.last) === true) continue
      clearTimeout(pending.timer)
      if (res.error) pending.reject(new RpcError(res.error))
      else pending.resolve(res.result)
    }
  }

  private onClose (ws: WebSocket): void {
    if (this.ws !== ws) return
    for (const pending of this.pending.values()) {
      clearTimeout(pending.timer)
      pending.reject(ClientError.CONNECTION_CLOSED(this.url ?? '', pending.method))
    }
    this.pending.clear()
    this.emit('close')
  }
}

/** Connects to a nodevms host: `localhost:5555`, `host:port`, `ws://…` or `wss://…`. */
export async function connect (url: string, opts: ConnectOptions = {}): Promise<Client> {
  const client = new RPCClient({ timeout: opts.timeout })
  await client.connect(url, opts)
  return client as Client
}

export default RPCClient
