// nodevms call <url> <method> [json-args...]: one call, its JSON result on stdout.
import { connect } from '../client/node.js'
import { positive, type Invocation, type OptionSpec, type RunCommand } from './command-spec.js'
import { clientIdentity } from './identity-option.js'
import { CliError } from './output.js'

export interface CallOptions { user?: string, timeout: number, identity?: string }

/** How a client command connects: shared by call and repl. */
export const CLIENT_OPTIONS: OptionSpec[] = [
  { flags: '--user <name>', description: 'Debug-mode caller name (the host must run with --debug)', defaultText: 'none' },
  { flags: '--identity <file>', description: 'Sign calls with this identity', defaultText: '~/.nodevms/identity, when it exists' },
  { flags: '--timeout <seconds>', description: 'Give up on a call (and on connecting) after this many seconds', default: '30', value: positive }
]

export const callCommand: RunCommand = {
  usage: 'call <url> <method> [...args]',
  description: 'Call one method; arguments are JSON; prints the JSON result',
  options: CLIENT_OPTIONS,
  check: ({ args }) => { parseJsonArgs(args.slice(2)) },
  run: ({ args: [url, method, ...rest], options }: Invocation) => runCall(url, method, rest, options as unknown as CallOptions)
}

export function parseJsonArgs (args: string[]): unknown[] {
  return args.map((text, i) => {
    try {
      return JSON.parse(text) as unknown
    } catch {
      throw CliError.usage(`argument ${i + 1} is not JSON: ${text} (quote strings as JSON, e.g. '"bob"')`)
    }
  })
}

export async function runCall (url: string, method: string, rawArgs: string[], opts: CallOptions): Promise<number> {
  const args = parseJsonArgs(rawArgs)
  // --user asks for a debug name: the default identity then stays out of it (a signature would win).
  const identity = opts.user !== undefined && opts.identity === undefined ? undefined : await clientIdentity(opts.identity)
  const client = await connect(url, { user: opts.user, identity, timeout: Math.round(opts.timeout * 1000) })
  try {
    const result = await client.call(method, ...args)
    process.stdout.write(JSON.stringify(result === undefined ? null : result) + '\n')
    return 0
  } finally {
    await client.close()
  }
}
