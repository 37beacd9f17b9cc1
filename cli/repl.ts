// nodevms repl <url>: a node:repl with a connected `client`; promises are shown resolved.
import { homedir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import repl from 'node:repl'
import { PassThrough } from 'node:stream'
import { inspect } from 'node:util'
import { connect, type Client } from '../client/node.js'
import { clientIdentity } from './identity-option.js'

export interface ReplOptions { user?: string, exec?: string, timeout?: number | string, identity?: string }

const isThenable = (v: unknown): v is PromiseLike<unknown> =>
  v !== null && (typeof v === 'object' || typeof v === 'function') && typeof (v as { then?: unknown }).then === 'function'

/** "ErrorName: message", as the script threw it (or as the client failed). */
function describe (err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`
  return `Error: ${String(err)}`
}

export async function runRepl (url: string, opts: ReplOptions): Promise<number> {
  const quiet = opts.exec !== undefined
  if (!quiet) process.stderr.write('Connecting...\n')
  // --user asks for a debug name: the default identity then stays out of it (a signature would win).
  const identity = opts.user !== undefined && opts.identity === undefined ? undefined : await clientIdentity(opts.identity)
  const client = await connect(url, { user: opts.user, identity, timeout: opts.timeout === undefined ? undefined : Number(opts.timeout) * 1000 })
  if (opts.exec !== undefined) return await execOnce(client, opts.exec)
  process.stderr.write("Connected.\nYou can use 'client' object to access the backend.\n")

  const tty = process.stdin.isTTY === true && process.stdout.isTTY === true
  // Piped input is fed one line at a time, each after the previous evaluation settled, so results
  // come out in order (node:repl would read every buffered line at once).
  const input = tty ? process.stdin : new PassThrough()
  const server = repl.start({ prompt: '> ', ignoreUndefined: true, terminal: tty, input, output: process.stdout })
  server.context.client = client
  const defaultEval = server.eval
  // Awaits whatever an expression returns, so `client.increment()` prints 1, and prints script
  // errors as `Name: message` instead of a stack.
  const evaluate: repl.REPLEval = function (this: repl.REPLServer, code, context, file, done) {
    const settle = (err: Error | null, value: unknown) => done(err, value)
    defaultEval.call(this, code, context, file, (err, result) => {
      if (err !== null) return settle(err, undefined)
      if (!isThenable(result)) return settle(null, result)
      Promise.resolve(result).then((value) => settle(null, value), (e: unknown) => {
        server.output.write(describe(e) + '\n')
        settle(null, undefined)
      })
    })
  }
  if (!tty) {
    // The REPL shows its prompt again once a line is fully handled (evaluated, or a command run).
    const passThrough = input as PassThrough
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
  ;(server as unknown as { eval: repl.REPLEval }).eval = evaluate
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
  return await new Promise<number>((resolve) => {
    server.on('exit', () => {
      client.off('close', onHostGone)
      const code = hostGone ? 1 : 0
      client.close().then(() => resolve(code), () => resolve(code))
    })
  })
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
