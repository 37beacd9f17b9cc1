// Which web pages may open a WebSocket to this host (CONTRACT §8). A browser lets any page open a
// WebSocket to any address, including a host on the user's own machine, and tells the host only the
// page's origin (the upgrade's Origin header): the host is the one that can say no. Requests without
// an Origin header come from programs, not pages, and are never affected.
//   exec                       any origin
//   exec --debug               http://localhost:* and http://127.0.0.1:* only (a debug name is a password-free login)
//   exec --allow-origin LIST   the origins listed (scheme://host[:port], port may be *), or * for any
import { HostError } from '../index.js'

interface OriginPattern { protocol: string, hostname: string, port: string | '*' }

type Kind = 'any' | 'debug-default' | 'list'

/** The origin serialisation of a parsed URL's parts, as a browser sends it ('' port: the scheme's default). */
function show (p: OriginPattern): string {
  return `${p.protocol}//${p.hostname}${p.port === '' ? '' : `:${p.port}`}`
}

/** One --allow-origin entry as a pattern, or why it is not an origin. */
function parseEntry (entry: string): OriginPattern | string {
  if (entry === '') return 'it has an empty entry (a stray comma?)'
  if (entry === '*') return '* allows every origin, so it goes alone'
  if (entry === 'null') return 'the origin "null" is what sandboxed frames and file:// pages send, and any page can make one: it cannot be told apart, so it is never allowed by name'
  const match = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/(\[[0-9a-fA-F:.]+\]|[^/?#@\s:[\]]+)(?::(\*|\d{1,5}))?(.*)$/.exec(entry)
  if (match === null) return `${JSON.stringify(entry)} is not scheme://host[:port]`
  const [, scheme, host, port, rest] = match
  if (rest !== '') return `${JSON.stringify(entry)} has more than an origin (${JSON.stringify(rest)}): an origin is scheme://host[:port], with no path`
  if (host.includes('*')) return `${JSON.stringify(entry)} has a * in its host: list each origin (only the port may be *)`
  if (port !== undefined && port !== '*' && (Number(port) < 1 || Number(port) > 65535)) return `${JSON.stringify(entry)} has no valid port (1-65535, or *)`
  let url: URL
  try {
    url = new URL(`${scheme}://${host}${port === undefined || port === '*' ? '' : `:${port}`}`)
  } catch {
    return `${JSON.stringify(entry)} is not scheme://host[:port]`
  }
  return { protocol: url.protocol, hostname: url.hostname, port: port === '*' ? '*' : url.port }
}

/** An Origin header as a browser sends it, parsed the way patterns are, or null for "null" and garbage. */
function parseOrigin (origin: string): OriginPattern | null {
  try {
    const url = new URL(origin)
    if (url.pathname !== '/' && url.pathname !== '') return null
    return { protocol: url.protocol, hostname: url.hostname, port: url.port }
  } catch {
    return null
  }
}

export class OriginPolicy {
  private constructor (private readonly kind: Kind, private readonly patterns: OriginPattern[]) {}

  /** Any page may connect: the default without --debug. */
  static anyOrigin (): OriginPolicy {
    return new OriginPolicy('any', [])
  }

  /** The --debug default: pages on http://localhost:* and http://127.0.0.1:* only. */
  static localPages (): OriginPolicy {
    return new OriginPolicy('debug-default', [
      { protocol: 'http:', hostname: 'localhost', port: '*' },
      { protocol: 'http:', hostname: '127.0.0.1', port: '*' }
    ])
  }

  /** An --allow-origin value: `*`, or comma-separated origins. Anything else is a BAD_ORIGIN HostError. */
  static parse (value: string): OriginPolicy {
    const entries = value.split(',').map((e) => e.trim())
    if (entries.length === 1 && entries[0] === '*') return OriginPolicy.anyOrigin()
    const patterns: OriginPattern[] = []
    for (const entry of entries) {
      const parsed = parseEntry(entry)
      if (typeof parsed === 'string') throw HostError.BAD_ORIGIN(value, parsed)
      patterns.push(parsed)
    }
    return new OriginPolicy('list', patterns)
  }

  /** True when every page may connect. */
  get allowsAny (): boolean { return this.kind === 'any' }

  /** The allowed origins as the flag would list them ('*' for any). */
  toString (): string {
    return this.kind === 'any' ? '*' : this.patterns.map(show).join(',')
  }

  /** Whether an upgrade with this Origin header may proceed; no header (a program, not a page) always may. */
  allows (origin: string | undefined): boolean {
    if (origin === undefined || this.kind === 'any') return true
    const page = parseOrigin(origin)
    if (page === null) return false
    return this.patterns.some((p) => p.protocol === page.protocol && p.hostname === page.hostname && (p.port === '*' || p.port === page.port))
  }

  /** The 403 body for a refused page: which origin, why, and what to do. */
  refusal (origin: string): string {
    const shown = origin.length > 200 ? origin.slice(0, 200) + '…' : origin
    const page = JSON.stringify(shown)
    const fix = `If this page should call this host, restart it with --allow-origin ${parseOrigin(origin) !== null ? shown : '<the page\'s origin>'} ` +
      '(comma-separated, with any others).'
    if (this.kind === 'debug-default') {
      return `This nodevms host runs with --debug, where a debug user name is a login without a password, so it accepts ` +
        `WebSocket connections only from pages on http://localhost and http://127.0.0.1, not from ${page}. ${fix}`
    }
    return `This nodevms host accepts WebSocket connections only from pages on ${this.toString()}, not from ${page}. ${fix}`
  }
}
