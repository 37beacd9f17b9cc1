// Options shared by the commands that use the Dat network (exec --swarm, verify dat://KEY, seed).
//
// --bootstrap is required whenever a swarm starts: nodevms never contacts the public DHT by default.
// To use the public Holepunch DHT, name its bootstrap nodes in --bootstrap like any other.
import idEncoding from 'hypercore-id-encoding'
import type { DhtNode } from '../host/swarm/index.js'
import { CliError } from './output.js'

/** `dat://<hex>`, `hyper://<z32 or hex>` or a bare key: a key to find on the swarm rather than a host URL. */
export function isDatTarget (target: string): boolean {
  const t = target.trim()
  return /^(dat|hyper):\/\//i.test(t) || /^[0-9a-f]{64}$/i.test(t) || /^[a-z0-9]{52}$/i.test(t)
}

/** A key in any of the forms isDatTarget accepts → 64 lowercase hex, or a usage error. */
export function parseDatKey (input: string, what = 'call log'): string {
  const id = input.trim().replace(/^(dat|hyper):\/\//i, '').replace(/\/+$/, '')
  try {
    return idEncoding.decode(/^[0-9a-f]{64}$/i.test(id) ? id.toLowerCase() : id).toString('hex')
  } catch {
    throw CliError.usage(`cannot read ${JSON.stringify(input)} as a ${what} key: give dat://<64 hex>, hyper://<52 z32> or the 64 hex characters`)
  }
}

/** The hyper:// form (z32) of a 64-hex key. */
export function hyperUrl (hexKey: string): string {
  return `hyper://${idEncoding.encode(Buffer.from(hexKey, 'hex'))}`
}

/** The two lines exec --swarm prints after the contract's four. */
export function hyperLines (keys: { filesKey: string, callLogKey: string }): string[] {
  return [`Files:    ${hyperUrl(keys.filesKey)}`, `Call log: ${hyperUrl(keys.callLogKey)}`]
}

/**
 * --bootstrap HOST:PORT[,HOST:PORT...] (the option may also repeat) → DHT nodes.
 * Missing or empty is a usage error that says why: the public DHT is never used implicitly.
 */
export function parseBootstrap (value: unknown, command: string): DhtNode[] {
  if (value === undefined || value === true || value === '' || (Array.isArray(value) && value.length === 0)) {
    throw CliError.usage(`${command} needs --bootstrap HOST:PORT[,HOST:PORT...]: nodevms does not join the public DHT by default. ` +
      'Name the bootstrap nodes of your DHT (for a local test network, the address `hyperdht --bootstrap` prints).')
  }
  const items = (Array.isArray(value) ? value : [value]).flatMap((v) => String(v).split(',')).map((s) => s.trim()).filter((s) => s !== '')
  return items.map((item) => {
    const match = /^(?:\[([^\]]+)\]|([^:\s]+)):(\d{1,5})$/.exec(item)
    const port = match === null ? NaN : Number(match[3])
    if (match === null || port < 1 || port > 65535) throw CliError.usage(`--bootstrap needs HOST:PORT entries, got ${JSON.stringify(item)}`)
    return { host: match[1] ?? match[2], port }
  })
}

/** A positive number of seconds → ms; undefined stays undefined. */
export function parseSeconds (value: unknown, flag: string): number | undefined {
  if (value === undefined) return undefined
  const n = Number(value)
  if (!Number.isFinite(n) || n <= 0) throw CliError.usage(`${flag} needs a positive number of seconds, got ${JSON.stringify(value)}`)
  return Math.round(n * 1000)
}
