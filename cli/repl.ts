// nodevms repl <url>: a node:repl with a connected `client`; promises are shown resolved. dev attaches the
// same session to the host it runs.
import { homedir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import repl from 'node:repl'
import { PassThrough } from 'node:stream'
import { inspect } from 'node:util'
import { ClientError, connect, RpcError, type Client } from '../client/node.js'
import { CLIENT_OPTIONS, type CallOptions } from './call.js'
import type { Invocation, RunCommand } from './command-spec.js'
import { clientIdentity } from './identity-option.js'
import { callerLabel, explain } from './output.js'
import { replCompleter, type Completer } from './repl-completer.js'

export interface ReplOptions extends CallOptions { exec?: string }

export const replCommand: RunCommand = {
  usage: 'repl <url>',
  description: 'Open a REPL with a `client` connected to a host',
  options: [
    ...CLIENT_OPTIONS,
    { flags: '--exec <code>', description: 'Evaluate one expression, print its result and exit', defaultText: 'none: interactive' }
  ],
  run: ({ args: [url], options }: Invocation) => runRepl(url, options as unknown as ReplOptions)
}

/** Gives the client a short inspect form (url, methods, caller) instead of its socket, pending calls and platform. */
function shortInspect (client: Client, user: string | undefined): Client {
  const caller = callerLabel(client.pubkey, user ?? null)
  Object.defineProperty(client, inspect.custom, {
    value: (_depth: number, options: object) => `RPCClient ${inspect({ url: client.url, methods: client.methods, caller }, options)}`,
    configurable: true
  })
  return client
}

const isThenable = (v: unknown): v is PromiseLike<unknown> =>
  v !== null && (typeof v === 'object' || typeof v === 'function') && typeof (v as { then?: unknown }).then === 'function'

/** "ErrorName: message" as the script threw it; the client's own errors in the CLI's words. */
function describe (err: unknown): string {
  if (err instanceof RpcError || err instanceof ClientError) return explain(err)
  if (err instanceof Error) return `${err.name}: ${err.message}`
  return `Error: ${String(err)}`
}

export async function runRepl (url: string, opts: ReplOptions): Promise<number> {
  const quiet = opts.exec !== undefined
  if (!quiet) process.stderr.write('Connecting...\n')
  // --user asks for a debug name: the default identity then stays out of it (a signature would win).
  const identity = opts.user !== undefined && opts.identity === undefined ? undefined : await clientIdentity(opts.identity)
  const client = await connect(url, { user: opts.user, identity, timeout: Math.round(opts.timeout * 1000) })
  if (opts.exec !== undefined) return await execOnce(shortInspect(client, opts.user), opts.exec)
  process.stderr.write("Connected.\nYou can use 'client' object to access the backend.\n")
  return await startReplSession(client, { user: opts.user }).ended
}

export interface ReplSession {
  /** Swaps the connected client for another (dev, after a reload); the old one closes once the line using it is done. */
  setClient (client: Client): void
  /** Resolves with the exit code once the REPL ends: 0 on .exit or the end of input, 1 when the host went away. */
  readonly ended: Promise<number>
  /** Ends the REPL from outside (dev stopping), without the "connection closed" notice. */
  close (): Promise<number>
}

/** The REPL on stdin/stdout with `client` in its context. On a TTY, a terminal REPL; piped, one line at a time. */
export function startReplSession (first: Client, opts: { user?: string } = {}): ReplSession {
  let client = first
  const tty = process.stdin.isTTY === true && process.stdout.isTTY === true
  // Piped input is fed one line at a time, each after the previous evaluation settled, so results
  // come out in order (node:repl would read every buffered line at once).
  const input = tty ? process.stdin : new PassThrough()
  const server = repl.start({ prompt: '> ', ignoreUndefined: true, terminal: tty, input, output: process.stdout })
  const context = server.context as { client: Client }
  const show = (c: Client) => { context.client = shortInspect(c, opts.user) }
  show(client)
  const internals = server as unknown as { completer: Completer, eval: repl.REPLEval }
  internals.completer = replCompleter(() => client, internals.completer.bind(server))
  const defaultEval = server.eval
  // What the line being evaluated awaits: a swapped-out client is closed only after it, so its call completes.
  let evaluating: Promise<unknown> = Promise.resolve()
  // Awaits whatever an expression returns, so `client.increment()` prints 1, and prints script
  // errors as `Name: message` instead of a stack.
  internals.eval = function (this: repl.REPLServer, code, evalContext, file, done) {
    defaultEval.call(this, code, evalContext, file, (err, result) => {
      if (err !== null) return done(err, undefined)
      if (!isThenable(result)) return done(null, result)
      evaluating = Promise.resolve(result).catch(() => {})
      Promise.resolve(result).then((value) => done(null, value), (e: unknown) => {
        server.output.write(describe(e) + '\n')
        done(null, undefined)
      })
    })
  }
  if (!tty) feedLines(server, input as PassThrough)
  server.defineCommand('methods', {
    help: 'List the backend\'s methods',
    action () {
      this.output.write(client.methods.map((m) => `client.${m}()`).join('\n') + '\n')
      this.displayPrompt()
    }
  })
  server.setupHistory(join(homedir(), '.nodevms_repl_history'), () => {})
  // Losing the host is a runtime failure (exit 1), reported on stderr like other diagnostics.
  let hostGone = false
  const onHostGone = () => {
    hostGone = true
    process.stderr.write('\nThe connection to the host closed.\n')
    server.close()
  }
  client.on('close', onHostGone)
  const ended = new Promise<number>((resolve) => {
    server.on('exit', () => {
      client.off('close', onHostGone)
      const code = hostGone ? 1 : 0
      client.close().then(() => resolve(code), () => resolve(code))
    })
  })
  return {
    ended,
    close () {
      client.off('close', onHostGone)
      server.close()
      return ended
    },
    setClient (next: Client) {
      const previous = client
      previous.off('close', onHostGone)
      client = next
      next.on('close', onHostGone)
      show(next)
      void evaluating.then(() => previous.close()).catch(() => {})
    }
  }
}

/** Piped stdin: one line at a time into the REPL, each once the previous one is fully handled. */
function feedLines (server: repl.REPLServer, passThrough: PassThrough): void {
  let prompted: () => void = () => {}
  const displayPrompt = server.displayPrompt.bind(server)
  server.displayPrompt = (preserveCursor?: boolean) => { displayPrompt(preserveCursor); prompted() }
  void (async () => {
    for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
      const handled = new Promise<void>((resolve) => { prompted = resolve })
      passThrough.write(line + '\n')
      await handled
    }
    passThrough.end()
  })()
  // Once the REPL is gone (.exit, or the host closed), stop reading: an open pipe must not keep us alive.
  server.once('exit', () => process.stdin.destroy())
}

async function execOnce (client: Client, code: string): Promise<number> {
  try {
    const fn = new Function('client', `return (async () => (${code}))()`) as (c: Client) => Promise<unknown>
    const value = await fn(client)
    process.stdout.write((typeof value === 'string' ? value : inspect(value, { depth: 6, colors: false })) + '\n')
    return 0
  } catch (err) {
    process.stderr.write(describe(err) + '\n')
    return 1
  } finally {
    await client.close()
  }
}
