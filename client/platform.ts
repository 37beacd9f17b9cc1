// What differs between Node and browsers, for the client: how a WebSocket is opened and driven, and
// where ed25519 comes from. client/node.ts and client/browser.ts each provide one Platform.
import type { Ed25519 } from './identity.js'

/** An open WebSocket carrying JSON-RPC text frames. */
export interface ClientSocket {
  /** True while messages can be sent. */
  readonly isOpen: boolean
  /** True once the socket has closed (false while it is still closing). */
  readonly isClosed: boolean
  send (text: string): void
  /** Starts the closing handshake; resolves once closed (a peer that does not answer is cut off). */
  close (): Promise<void>
  onMessage (fn: (text: string) => void): void
  onClose (fn: () => void): void
  onError (fn: (err: unknown) => void): void
}

export interface SocketOptions {
  /** Extra HTTP headers for the upgrade (Node only: browsers cannot set them). */
  headers?: Record<string, string>
  /** Give up connecting after this many ms. */
  timeout: number
}

export interface Platform {
  ed25519: Ed25519
  /** Opens a WebSocket to a normalised ws(s):// url, or rejects with a CONNECTION_FAILED ClientError. */
  openSocket (href: string, opts: SocketOptions): Promise<ClientSocket>
}
