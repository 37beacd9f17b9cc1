// Where the CLI writes: data to stdout, diagnostics to stderr, colour only on a TTY without NO_COLOR;
// and how an error becomes a message and an exit code.
import { ClientError, RpcError } from '../client/node.js'
import { RPC_CODES } from '../client/wire.js'

export function useColour (stream: NodeJS.WriteStream): boolean {
  return stream.isTTY === true && process.env.NO_COLOR === undefined
}

const paint = (code: number) => (text: string, stream: NodeJS.WriteStream = process.stderr) =>
  useColour(stream) ? `\u001b[${code}m${text}\u001b[0m` : text

export const red = paint(31)
export const green = paint(32)
export const dim = paint(2)

/** A CLI failure: the message goes to stderr, the process exits with `exitCode`. */
export class CliError extends Error {
  readonly exitCode: number
  readonly code: string
  /** The command a usage error belongs to, so its usage line can be printed with it. */
  command?: string
  constructor (message: string, exitCode: number, code = 'CLI_ERROR') {
    super(message)
    this.name = 'CliError'
    this.exitCode = exitCode
    this.code = code
  }

  /** Exit 2: the command line is wrong (CONTRACT §9); the command's usage line is printed with it. */
  static usage (message: string): CliError { return new CliError(message, 2, 'USAGE') }
}

export function printError (err: unknown): void {
  const message = err instanceof Error ? err.message : String(err)
  process.stderr.write(`${red('nodevms:')} ${message}\n`)
}

/** Exit codes (CONTRACT §4): 0 success, 1 mismatch or runtime failure, 2 usage error or unreachable host. */
export function exitCodeFor (err: unknown): number {
  if (err instanceof CliError) return err.exitCode
  if (err instanceof RpcError) return err.code === RPC_CODES.METHOD_NOT_FOUND || err.code === RPC_CODES.INVALID_PARAMS ? 2 : 1
  const code = (err as { code?: unknown })?.code
  return typeof code === 'string' && CLIENT_USAGE_CODES.has(code) ? 2 : 1
}

/** Client errors that mean the host could not be reached or refused the connection, or a file argument is missing. */
const CLIENT_USAGE_CODES = new Set(['CONNECTION_FAILED', 'CONNECTION_REFUSED', 'BAD_URL', 'IDENTITY_MISSING'])

/** What the CLI says for an error: the message, worded for a command line rather than the JS API. */
export function explain (err: unknown): string {
  if (err instanceof RpcError && err.code === RPC_CODES.SCRIPT_ERROR) return `${err.name}: ${err.message}`
  // The host's own refusal also tells JS callers about connect(url, { identity }); a CLI user has flags.
  if (err instanceof RpcError && err.code === RPC_CODES.SIGNATURE_REQUIRED) {
    return 'The host takes only signed calls (--no-anonymous), and this call was not signed. Create an identity with ' +
      'nodevms id (call and repl then sign with it), or choose one with --identity FILE. The call was not run.'
  }
  if (err instanceof RpcError) return err.message
  if (err instanceof ClientError && err.code === 'CALL_TIMEOUT') return timeoutMessage(err)
  if (err instanceof Error) return err.message || err.name
  return String(err)
}

/** The client's CALL_TIMEOUT tells a JS caller to raise connect()'s timeout; a CLI user has --timeout. */
function timeoutMessage (err: ClientError): string {
  const m = /^(.+?) got no reply within (\d+) ms; the call may or may not have run/.exec(err.message)
  if (m === null) return err.message
  return `${m[1]} got no reply within ${Number(m[2]) / 1000} s; the call may or may not have run. Allow longer with --timeout SECONDS.`
}

/** Who a caller is, in the words every command uses: a signing key (its first 8 hex), a debug name, or anonymous. */
export function callerLabel (pubkey: string | null, debugName: string | null): string {
  if (pubkey !== null) return `key ${pubkey.slice(0, 8)}…`
  if (debugName !== null) return `debug user ${JSON.stringify(debugName)}`
  return 'anonymous'
}
