// nodevms call <url> <method> [json-args...]: one call, its JSON result on stdout.
import { connect } from '../client/node.js'
import { clientIdentity } from './identity-option.js'
import { CliError } from './output.js'

export function parseJsonArgs (args: string[]): unknown[] {
  return args.map((text, i) => {
    try {
      return JSON.parse(text) as unknown
    } catch {
      throw CliError.usage(`argument ${i + 1} is not JSON: ${text} (quote strings as JSON, e.g. '"bob"')`)
    }
  })
}

export async function runCall (url: string, method: string, rawArgs: string[], opts: { user?: string, timeout?: number | string, identity?: string }): Promise<number> {
  const args = parseJsonArgs(rawArgs)
  // --user asks for a debug name: the default identity then stays out of it (a signature would win).
  const identity = opts.user !== undefined && opts.identity === undefined ? undefined : await clientIdentity(opts.identity)
  const client = await connect(url, { user: opts.user, identity, timeout: opts.timeout === undefined ? undefined : Number(opts.timeout) * 1000 })
  try {
    const result = await client.call(method, ...args)
    process.stdout.write(JSON.stringify(result === undefined ? null : result) + '\n')
    return 0
  } finally {
    await client.close()
  }
}
