// nodevms/client in Node: the client over the `ws` package and node:crypto's ed25519, plus identity
// files. This is the client's one Node-side module: everything else in client/ runs in browsers too.
//   import { connect, loadOrCreateIdentity } from 'nodevms/client'
import { createPrivateKey, createPublicKey, randomBytes, sign as cryptoSign, type KeyObject } from 'node:crypto'
import { link, mkdir, open, readFile, stat, unlink } from 'node:fs/promises'
import { homedir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { WebSocket } from 'ws'
import { signCallWith, type SignedAuth } from './call-signature.js'
import { ClientError } from './errors.js'
import { generateIdentity as generate, identityFromJson as fromJson, identityToJson, type Ed25519, type Identity } from './identity.js'
import type { ClientSocket, Platform, SocketOptions } from './platform.js'
import { PlatformClient, type Connected, type ConnectOptions, type RemoteApi, type UntypedRemote } from './rpc-client.js'

// ---- ed25519 from node:crypto (a raw seed becomes a key through its PKCS#8 DER form) ----

const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')
const privateKeys = new WeakMap<Uint8Array, KeyObject>()

function privateKeyOf (secretKey: Uint8Array): KeyObject {
  let key = privateKeys.get(secretKey)
  if (key === undefined) {
    key = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, secretKey.subarray(0, 32)]), format: 'der', type: 'pkcs8' })
    privateKeys.set(secretKey, key)
  }
  return key
}

const ed25519: Ed25519 = {
  sign: (message, secretKey) => new Uint8Array(cryptoSign(null, message, privateKeyOf(secretKey))),
  publicKey: (seed) => new Uint8Array(createPublicKey(privateKeyOf(seed)).export({ format: 'der', type: 'spki' }).subarray(-32))
}

// ---- WebSocket from the ws package ----

const DEFAULT_TIMEOUT_MS = 30_000
const CLOSE_GRACE_MS = 2000
const RETRY_OTHER_FAMILY = new Set(['ECONNREFUSED', 'EADDRNOTAVAIL', 'EAFNOSUPPORT', 'ENETUNREACH', 'EHOSTUNREACH'])

/**
 * Opens a WebSocket to a normalised url. `localhost` tries 127.0.0.1, then ::1, since a host may listen on
 * either. An HTTP refusal (401, 403, 404) becomes a CONNECTION_REFUSED error carrying the host's explanation.
 * The verifier uses it for the host's replication endpoint too.
 * @internal not in the published types, which must not need the `ws` package's (stripInternal)
 */
export async function openWebSocket (url: string, opts: { headers?: Record<string, string>, timeout?: number, maxPayload?: number } = {}): Promise<WebSocket> {
  const target = new URL(url)
  const display = `${target.protocol}//${target.host}`
  const candidates = target.hostname === 'localhost' ? ['127.0.0.1', '[::1]'] : [target.hostname]
  let lastError: unknown = null
  for (const hostname of candidates) {
    target.hostname = hostname
    try {
      return await attempt(target.href, { ...opts, display })
    } catch (err) {
      lastError = err
      if (err instanceof ClientError || !RETRY_OTHER_FAMILY.has((err as { code?: string }).code ?? '')) break
    }
  }
  if (lastError instanceof ClientError) throw lastError
  const reason = (lastError as { code?: string })?.code ?? (lastError as Error)?.message ?? String(lastError)
  throw ClientError.CONNECTION_FAILED(display, reason, lastError)
}

function attempt (href: string, opts: { headers?: Record<string, string>, timeout?: number, maxPayload?: number, display?: string }): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(href, {
      headers: opts.headers, handshakeTimeout: opts.timeout ?? DEFAULT_TIMEOUT_MS, perMessageDeflate: false,
      ...(opts.maxPayload !== undefined ? { maxPayload: opts.maxPayload } : {})
    })
    ws.on('error', reject) // settles once; later errors are harmless here
    ws.once('open', () => { ws.off('error', reject); resolve(ws) })
    ws.once('unexpected-response', (req, res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { if (body.length < 4096) body += chunk })
      res.on('end', () => {
        reject(ClientError.CONNECTION_REFUSED(opts.display ?? new URL(href).host, res.statusCode ?? 0, body.trim()))
        req.destroy()
      })
    })
  })
}

function nodeSocket (ws: WebSocket): ClientSocket {
  return {
    get isOpen () { return ws.readyState === WebSocket.OPEN },
    get isClosed () { return ws.readyState === WebSocket.CLOSED },
    send: (text) => ws.send(text),
    close: async () => {
      if (ws.readyState === WebSocket.CLOSED) return
      const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()))
      ws.close(1000)
      // A host that does not answer the closing handshake is cut off rather than waited for.
      const timer = setTimeout(() => ws.terminate(), CLOSE_GRACE_MS)
      await closed
      clearTimeout(timer)
    },
    onMessage: (fn) => ws.on('message', (data) => fn(String(data))),
    onClose: (fn) => ws.on('close', fn),
    onError: (fn) => ws.on('error', fn)
  }
}

const platform: Platform = {
  ed25519,
  openSocket: async (href: string, opts: SocketOptions) => nodeSocket(await openWebSocket(href, opts))
}

// ---- the client ----

/** nodevms-client compatible: `const client = new RPCClient(); await client.connect('localhost:5555')`. Events: open, close, error. */
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

/** A new key pair (from 32 random bytes, or the seed given), kept nowhere: see createIdentity for a file. */
export function generateIdentity (seed?: Uint8Array): Identity {
  return generate(ed25519, seed)
}

/** An identity from its JSON form ({ publicKey, secretKey } hex, or that text), checked strictly. */
export function identityFromJson (value: unknown): Identity {
  return fromJson(ed25519, value)
}

// ---- identity files: {"publicKey": <64 hex>, "secretKey": <128 hex>}, mode 0600, directory 0700 ----

/** ~/.nodevms/identity (HOME decides where ~ is). */
export function defaultIdentityPath (): string {
  return join(homedir(), '.nodevms', 'identity')
}

const checksPermissions = process.platform !== 'win32'

/** Reads an identity; refuses a file others can read, or one whose keys do not belong together. */
export async function loadIdentity (file: string = defaultIdentityPath()): Promise<Identity> {
  const path = resolve(file)
  let text: string
  try {
    const info = await stat(path)
    if (!info.isFile()) throw ClientError.IDENTITY_CORRUPT(path, 'it is not a regular file')
    if (checksPermissions && (info.mode & 0o077) !== 0) throw ClientError.IDENTITY_INSECURE(path, info.mode)
    text = await readFile(path, 'utf8')
  } catch (err) {
    if (err instanceof ClientError) throw err
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw ClientError.IDENTITY_MISSING(path, `nodevms id${path === defaultIdentityPath() ? '' : ` --identity ${path}`}`)
    }
    throw ClientError.IDENTITY_UNUSABLE(path, err)
  }
  return fromJson(ed25519, text, path)
}

/** Creates a new identity file (mode 0600; a missing directory is made 0700). Never overwrites one. */
export async function createIdentity (file: string = defaultIdentityPath(), seed?: Uint8Array): Promise<Identity> {
  const path = resolve(file)
  const identity = generate(ed25519, seed)
  const text = JSON.stringify(identityToJson(identity), null, 2) + '\n'
  // Written to a temporary file, then linked into place: the identity appears whole or not at all, and
  // link() fails on an existing file, so two processes creating one identity cannot overwrite each other.
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  try {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 })
    const handle = await open(temp, 'wx', 0o600)
    try {
      await handle.chmod(0o600) // whatever the umask
      await handle.writeFile(text, 'utf8')
      await handle.sync()
    } finally {
      await handle.close()
    }
    await link(temp, path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw ClientError.IDENTITY_EXISTS(path)
    throw ClientError.IDENTITY_UNUSABLE(path, err)
  } finally {
    await unlink(temp).catch(() => {})
  }
  return identity
}

/** Loads the identity at file, creating it when there is none. */
export async function loadOrCreateIdentity (file: string = defaultIdentityPath()): Promise<{ identity: Identity, created: boolean }> {
  try {
    return { identity: await loadIdentity(file), created: false }
  } catch (err) {
    if ((err as ClientError).code !== 'IDENTITY_MISSING') throw err
  }
  try {
    return { identity: await createIdentity(file), created: true }
  } catch (err) {
    if ((err as ClientError).code !== 'IDENTITY_EXISTS') throw err
    return { identity: await loadIdentity(file), created: false } // another process created it just now
  }
}

export { ClientError, RpcError } from './errors.js'
export { normaliseUrl } from './url.js'
export { identityId, identityToJson } from './identity.js'
export type { Identity, IdentityJson } from './identity.js'
export type { Connected, ConnectOptions, HandshakeInfo, RemoteApi, RemoteMethod, UntypedRemote } from './rpc-client.js'
export type { SignedAuth } from './call-signature.js'
export default RPCClient
