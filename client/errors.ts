// The client's errors. ClientError is what the client raises itself (a bad url, a timeout, a closed
// socket, an unusable identity); RpcError is what the host answered. Each ClientError has a `code` and
// a factory per code (hypercore-errors style), and its message says what to do next.

export class ClientError extends Error {
  readonly code: string
  constructor (message: string, code: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'ClientError'
    this.code = code
  }

  static BAD_URL (url: string): ClientError {
    return new ClientError(`Cannot use ${JSON.stringify(url)} as a nodevms address: give host:port, ws://host:port or wss://host:port.`, 'BAD_URL')
  }

  /** Nothing answered at `url` (refused, unreachable, no handshake). */
  static CONNECTION_FAILED (url: string, reason: string, cause?: unknown): ClientError {
    return new ClientError(`Cannot connect to ${url}: ${sentence(reason)} Is \`nodevms exec\` running there?`, 'CONNECTION_FAILED', { cause })
  }

  /** A host answered the WebSocket upgrade with an HTTP refusal (401, 403, 404, 503); `reason` is its explanation. */
  static CONNECTION_REFUSED (url: string, status: number, reason: string): ClientError {
    return new ClientError(`${url} refused the connection (HTTP ${status})${reason === '' ? '.' : `: ${sentence(reason)}`}`, 'CONNECTION_REFUSED')
  }

  static CALL_TIMEOUT (url: string, method: string, ms: number): ClientError {
    return new ClientError(`${method}() on ${url} got no reply within ${ms} ms; the call may or may not have run (raise the timeout with connect(url, { timeout })).`, 'CALL_TIMEOUT')
  }

  static CONNECTION_CLOSED (url: string, method: string): ClientError {
    return new ClientError(`The connection to ${url} closed while calling ${method}(); the call may or may not have run.`, 'CONNECTION_CLOSED')
  }

  static ALREADY_CONNECTED (url: string): ClientError {
    return new ClientError(`This client is already connected to ${url}: close() it first, or make another client.`, 'ALREADY_CONNECTED')
  }

  static NOT_CONNECTED (method: string): ClientError {
    return new ClientError(`Cannot call ${method}(): the client is not connected. Call connect(url) first.`, 'NOT_CONNECTED')
  }

  static NO_CALL_LOG (url: string): ClientError {
    return new ClientError(`${url} gave no call log key in its handshake (callLogUrl), so calls cannot be signed for it.`, 'NO_CALL_LOG')
  }

  // ---- identities (client/identity.ts, and the identity files of client/node.ts) ----

  /** A key pair that is not one: `where` names its source (a file, or 'the identity given'). */
  static IDENTITY_CORRUPT (where: string, why: string): ClientError {
    return new ClientError(`${where} is not a nodevms identity: ${why}. Move it aside and run nodevms id to create a new one.`, 'IDENTITY_CORRUPT')
  }

  static IDENTITY_MISSING (file: string, hint: string): ClientError {
    return new ClientError(`No identity at ${file}: create one with ${hint}.`, 'IDENTITY_MISSING')
  }

  static IDENTITY_INSECURE (file: string, mode: number): ClientError {
    return new ClientError(`The identity ${file} is readable by other users (mode ${(mode & 0o777).toString(8).padStart(3, '0')}): ` +
      `anyone who reads it can sign as you. Fix it with: chmod 600 ${file}`, 'IDENTITY_INSECURE')
  }

  static IDENTITY_EXISTS (file: string): ClientError {
    return new ClientError(`An identity already exists at ${file}: refusing to overwrite it (nodevms id shows it).`, 'IDENTITY_EXISTS')
  }

  static IDENTITY_UNUSABLE (file: string, cause: unknown): ClientError {
    return new ClientError(`Cannot use ${file} as an identity file: ${String((cause as Error)?.message ?? cause)}.`, 'IDENTITY_UNUSABLE', { cause })
  }
}

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

/** `text` ending in exactly one full stop, whether or not it had one. */
function sentence (text: string): string {
  return /[.!?]$/.test(text) ? text : `${text}.`
}
