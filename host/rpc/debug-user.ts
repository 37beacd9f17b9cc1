// Debug authentication (CONTRACT §5, --debug only): a connection names its caller with ?user=NAME or
// `Authorization: Basic`, and the host takes its word. Such a name must never pass for a signed
// identity, whose System.caller.id is a public key in hex: a name shaped like one is refused.
import type { IncomingMessage } from 'node:http'
import { looksLikePublicKey } from '../../client/wire.js'

/** The debug user name a connection claims, by ?user= or `Authorization: Basic base64(NAME:anything)`, or null. */
export function claimedUser (req: IncomingMessage, url: URL): string | null {
  const fromQuery = url.searchParams.get('user')
  if (fromQuery) return fromQuery
  const header = req.headers.authorization
  const match = header ? /^Basic\s+(\S+)\s*$/i.exec(header) : null
  if (!match) return null
  const decoded = Buffer.from(match[1], 'base64').toString('utf8')
  const name = decoded.split(':')[0]
  return name || null
}

/** Why this debug name is refused (it could be taken for a public key), or null when it may be used. */
export function keyShapedNameRefusal (name: string): string | null {
  if (!looksLikePublicKey(name)) return null
  const shown = JSON.stringify(name.length > 140 ? name.slice(0, 140) + '…' : name)
  return `The debug user name ${shown} contains 64 hex digits, the shape of a public key. A signed call's ` +
    'System.caller.id is its public key, while a debug name is only the host\'s word, so such a name could pass ' +
    'for that key\'s owner. Choose a name without 64 hex digits in a row, or sign the calls with that identity ' +
    '(connect(url, { identity }), or --identity FILE).'
}
