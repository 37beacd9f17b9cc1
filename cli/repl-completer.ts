// TAB in the REPL: `client.` offers the script's methods first, then the few members of the client's own
// API, never its internals; a prefix of `client` completes to `client`; anything else is node's completion.
import type { Client } from '../client/node.js'

export type Completion = [string[], string]
export type Completer = (line: string, callback: (err: Error | null, result?: Completion) => void) => void

/** The client's own members worth offering after the remote methods. */
const CLIENT_API = ['call', 'close', 'info', 'methods', 'pubkey', 'url']

/** `client.<partial>` at the end of the line: the remote methods (a group), then the client's API (another). */
export function completeClient (client: Pick<Client, 'methods'>, partial: string): string[] {
  const remote = client.methods.filter((m) => m.startsWith(partial))
  const own = CLIENT_API.filter((m) => m.startsWith(partial) && !remote.includes(m))
  const groups = [remote, own].filter((g) => g.length > 0).map((g) => g.map((m) => `client.${m}`))
  return groups.flatMap((g, i) => (i === 0 ? g : ['', ...g])) // '' separates groups in node's listing
}

/** A completer for a REPL whose `client` is getClient(); `fallback` is node's own completer. */
export function replCompleter (getClient: () => Pick<Client, 'methods'>, fallback: Completer): Completer {
  return (line, callback) => {
    const member = /(?:^|[^\w$.])client\.([\w$]*)$/.exec(line)
    if (member !== null) return callback(null, [completeClient(getClient(), member[1]), `client.${member[1]}`])
    const word = /(?:^|[^\w$.])([\w$]+)$/.exec(line)?.[1]
    if (word !== undefined && word !== 'client' && 'client'.startsWith(word)) return callback(null, [['client'], word])
    fallback(line, callback)
  }
}
