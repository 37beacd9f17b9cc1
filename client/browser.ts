// nodevms/client in browsers: the client over the page's WebSocket, with ed25519 from @noble/curves
// (audited, pure JavaScript, synchronous, so calls are signed in the order they are made).
//   import { connect, generateIdentity } from 'nodevms/client'   // or dist/browser/nodevms-client.js
// Nothing here or below imports a Node built-in.
import { ed25519 as noble } from '@noble/curves/ed25519.js'
import { signCallWith, type SignedAuth } from './call-signature.js'
import { ClientError } from './errors.js'
import { generateIdentity as generate, identityFromJson as fromJson, type Ed25519, type Identity } from './identity.js'
import type { ClientSocket, Platform, SocketOptions } from './platform.js'
import { PlatformClient, type Connected, type ConnectOptions, type RemoteApi, type UntypedRemote } from './rpc-client.js'

const ed25519: Ed25519 = {
  sign: (message, secretKey) => noble.sign(message, secretKey.subarray(0, 32)),
  publicKey: (seed) => noble.getPublicKey(seed)
}

/** The parts of the DOM WebSocket the client uses (declared here: the client is compiled without DOM types). */
interface DomWebSocket {
  readonly readyState: number
  send (text: string): void
  close (code?: number): void
  addEventListener (type: 'open' | 'close' | 'error' | 'message', fn: (event: { data?: unknown, code?: number }) => void): void
}
type DomWebSocketClass = new (url: string) => DomWebSocket
const OPEN = 1
const CLOSING = 2
const CLOSED = 3

/** Opens the page's WebSocket; a browser tells a page nothing about why a connection failed, only that it did. */
function openSocket (href: string, opts: SocketOptions): Promise<ClientSocket> {
  const WebSocketClass = (globalThis as { WebSocket?: DomWebSocketClass }).WebSocket
  const display = new URL(href).host
  if (WebSocketClass === undefined) return Promise.reject(ClientError.CONNECTION_FAILED(display, 'this environment has no WebSocket'))
  return new Promise((resolve, reject) => {
    let ws: DomWebSocket
    try {
      ws = new WebSocketClass(href)
    } catch (err) {
      return reject(ClientError.CONNECTION_FAILED(display, String((err as Error)?.message ?? err), err))
    }
    let settled = false
    const timer = setTimeout(() => fail(`no answer within ${opts.timeout} ms`), opts.timeout)
    const fail = (why: string) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      ws.close()
      reject(ClientError.CONNECTION_FAILED(display, why))
    }
    // A browser hides the HTTP answer from the page; the console shows it (a 403: this page's origin is not allowed).
    ws.addEventListener('close', (event) => fail(`the WebSocket closed before it opened (code ${event.code ?? 'unknown'}): ` +
      'the host is not there or refused the upgrade; the browser console shows its HTTP answer ' +
      '(403: this page\'s origin is not allowed, see nodevms exec --allow-origin)'))
    ws.addEventListener('open', () => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      resolve(pageSocket(ws))
    })
  })
}

function pageSocket (ws: DomWebSocket): ClientSocket {
  return {
    get isOpen () { return ws.readyState === OPEN },
    get isClosed () { return ws.readyState === CLOSED },
    send: (text) => ws.send(text),
    close: async () => {
      if (ws.readyState === CLOSED) return
      // Listened for now, after the client's own close listener: a browser runs promise jobs between
      // listeners, so close() then resolves after the client has emitted 'close', as in Node.
      const closed = new Promise<void>((resolve) => ws.addEventListener('close', () => resolve()))
      if (ws.readyState !== CLOSING) ws.close(1000)
      await closed
    },
    onMessage: (fn) => ws.addEventListener('message', (event) => { if (typeof event.data === 'string') fn(event.data) }),
    onClose: (fn) => ws.addEventListener('close', () => fn()),
    onError: (fn) => ws.addEventListener('error', (event) => fn(event))
  }
}

const platform: Platform = { ed25519, openSocket }

/** The client: `const client = new RPCClient(); await client.connect('localhost:5555')`. Events: open, close, error. */
export class RPCClient extends PlatformClient {
  constructor (opts: { timeout?: number } = {}) {
    super(platform, opts)
  }
}

/**
 * A connected client: RPCClient (with `info` set) plus one async function per remote method. Declare the
 * methods for types: `Client<{ increment(): Promise<number> }>`; without them, any name is a RemoteMethod.
 */
export type Client<M extends RemoteApi<M> = UntypedRemote> = Connected<RPCClient, M>

/**
 * Connects to a nodevms host (`localhost:5555`, `host:port`, `ws://…` or `wss://…`) and resolves once its
 * handshake is in: `const c = await connect<{ increment(): Promise<number> }>(url); await c.increment()`.
 */
export async function connect<M extends RemoteApi<M> = UntypedRemote> (url: string, opts: ConnectOptions = {}): Promise<Client<M>> {
  const client = new RPCClient({ timeout: opts.timeout })
  await client.connect(url, opts)
  return client as Client<M>
}

/** Signs one call to the log with this key (hex): the request's "auth" member (CONTRACT §5). */
export function signCall (identity: Identity, logKey: string, method: string, params: unknown[], counter: number): SignedAuth {
  return signCallWith(ed25519.sign, identity, logKey, method, params, counter)
}

/** A new key pair from 32 random bytes (crypto.getRandomValues), or the seed given. */
export function generateIdentity (seed?: Uint8Array): Identity {
  return generate(ed25519, seed)
}

/** An identity from its JSON form ({ publicKey, secretKey } hex, or that text), checked strictly. */
export function identityFromJson (value: unknown): Identity {
  return fromJson(ed25519, value)
}

export { ClientError, RpcError } from './errors.js'
export { normaliseUrl } from './url.js'
export { identityId, identityToJson } from './identity.js'
export type { Identity, IdentityJson } from './identity.js'
export type { Connected, ConnectOptions, HandshakeInfo, RemoteApi, RemoteMethod, UntypedRemote } from './rpc-client.js'
export type { SignedAuth } from './call-signature.js'
export default RPCClient
