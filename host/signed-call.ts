// Signed calls (CONTRACT §5): a client signs each call with its ed25519 key; the host checks the signature
// and the per-key counter before the call is queued, so a refused call is never run and never logged.
//   payload = UTF-8 of canonicalJson(["nodevms-call/1", <call log key hex>, <method>, <params>, <counter>])
//   request = { jsonrpc, id, method, params, "auth": { "pubkey": <64 hex>, "counter": <int>, "signature": <128 hex> } }
import crypto from 'hypercore-crypto'
import { canonicalJson } from '../engine/canonical-json.js'
import type { CallAuth, CallLog } from './call-log.js'
import { HostError } from './errors.js'
import { readCounterSnapshot } from './commit.js'
import type { Identity } from './identity.js'

/** The first element of every signed payload: names the format, so a signature means nothing elsewhere. */
export const CALL_SIGNATURE_DOMAIN = 'nodevms-call/1'

/** The JSON-RPC error codes of refused calls. */
export const AUTH_RPC_CODES = { BAD_SIGNATURE: -32001, STALE_COUNTER: -32002, ANONYMOUS_REFUSED: -32003 } as const

/** The request's "auth" member, and what a signed call entry records. */
export interface SignedAuth { pubkey: string, counter: number, signature: string }

/** Who the host runs a call as, and what its log entry records about that. */
export interface Admitted { caller: string | null, auth?: CallAuth }

/** The bytes a client signs for one call to the log with this key (hex). */
export function signedPayload (logKey: string, method: string, params: unknown[], counter: number): Buffer {
  return Buffer.from(canonicalJson([CALL_SIGNATURE_DOMAIN, logKey, method, params, counter]), 'utf8')
}

/** Signs one call to the log with this key (hex): the request's "auth" member. */
export function signCall (identity: Identity, logKey: string, method: string, params: unknown[], counter: number): SignedAuth {
  const signature = crypto.sign(signedPayload(logKey, method, params, counter), identity.secretKey)
  return { pubkey: Buffer.from(identity.publicKey).toString('hex'), counter, signature: signature.toString('hex') }
}

/** `dat://<64 hex>` (the handshake's callLogUrl) or the bare hex → the lowercase hex key, or null. */
export function logKeyFromUrl (url: unknown): string | null {
  if (typeof url !== 'string') return null
  const match = /^(?:dat:\/\/)?([0-9a-fA-F]{64})\/?$/.exec(url.trim())
  return match ? match[1].toLowerCase() : null
}

// ---- refusals: HostErrors that the RPC server answers with their own rpcCode and data ----

function refusal (message: string, code: keyof typeof AUTH_RPC_CODES, data?: unknown): HostError {
  const err = new HostError(message, code)
  err.rpcCode = AUTH_RPC_CODES[code]
  if (data !== undefined) err.data = data
  return err
}

/** -32001: a malformed "auth", or a signature that does not cover this call to this log. */
export function BAD_SIGNATURE (detail: string): HostError {
  return refusal(`Refused a signed call: ${detail}. The call was not run.`, 'BAD_SIGNATURE')
}

/** -32002: the counter is not above the last one accepted for this key (a replay, or a stale client). */
export function STALE_COUNTER (pubkey: string, counter: number, last: number): HostError {
  return refusal(`Refused a signed call: counter ${counter} of ${pubkey} is not above ${last}, the last one this host accepted ` +
    '(a replayed call?). Sign it again with a greater counter; the call was not run.', 'STALE_COUNTER', { last })
}

/** -32003: an unsigned call to a host run with --no-anonymous. */
export function ANONYMOUS_REFUSED (method: string): HostError {
  return refusal(`Refused an unsigned call to ${method}(): this host runs with --no-anonymous and takes only signed calls. ` +
    'Connect with an identity (connect(url, { identity }), or --identity FILE; see nodevms id).', 'ANONYMOUS_REFUSED')
}

const HEX64 = /^[0-9a-f]{64}$/
const HEX128 = /^[0-9a-f]{128}$/

function describeHex (value: unknown, chars: number, what: string): string | null {
  if (typeof value !== 'string') return `"${what}" must be a string of ${chars} hex characters, not ${value === null ? 'null' : typeof value}`
  if (!/^[0-9a-f]*$/.test(value)) return `"${what}" must be lowercase hex (0-9, a-f), got ${JSON.stringify(value.slice(0, 140))}`
  if (value.length !== chars) return `"${what}" must be ${chars} hex characters (${chars / 2} bytes), got ${value.length}`
  return null
}

/** Checks the shape of a request's "auth" member strictly; anything else is a BAD_SIGNATURE (-32001). */
export function parseAuth (raw: unknown): SignedAuth {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw BAD_SIGNATURE(`"auth" must be an object {"pubkey","counter","signature"}, not ${raw === null ? 'null' : Array.isArray(raw) ? 'an array' : typeof raw}`)
  }
  const auth = raw as Record<string, unknown>
  const extra = Object.keys(auth).filter((k) => k !== 'pubkey' && k !== 'counter' && k !== 'signature')
  if (extra.length > 0) throw BAD_SIGNATURE(`"auth" has unknown member(s) ${extra.map((k) => JSON.stringify(k)).join(', ')}: only pubkey, counter and signature`)
  const { pubkey, counter, signature } = auth
  if (typeof pubkey === 'string' && HEX64.test(pubkey) && typeof signature === 'string' && HEX128.test(signature) &&
    Number.isSafeInteger(counter) && (counter as number) >= 0) return { pubkey, counter: counter as number, signature }
  const problem = describeHex(pubkey, 64, 'pubkey') ?? describeHex(signature, 128, 'signature') ??
    `"counter" must be a non-negative safe integer, got ${JSON.stringify(counter) ?? 'nothing'}`
  throw BAD_SIGNATURE(problem)
}

/** The host's gate for one call log: checks signatures and counters, remembers the last counter per key. */
export class CallAuthenticator {
  readonly logKey: string
  readonly allowAnonymous: boolean
  private readonly counters = new Map<string, number>()

  constructor (logKey: string, opts: { allowAnonymous?: boolean } = {}) {
    if (!HEX64.test(logKey)) throw new TypeError(`a call log key is 64 lowercase hex characters, got ${JSON.stringify(logKey)}`)
    this.logKey = logKey
    this.allowAnonymous = opts.allowAnonymous ?? true
  }

  /** Rebuilds the last counter of every key from the signed calls in a log (streamed). */
  static async fromLog (log: CallLog, opts: { allowAnonymous?: boolean } = {}): Promise<CallAuthenticator> {
    await log.core.ready()
    const authenticator = new CallAuthenticator(log.key, opts)
    // Start from the snapshot the committer keeps beside the log; read only the entries after it.
    const snapshot = await readCounterSnapshot(log)
    for (const [key, counter] of Object.entries(snapshot?.counters ?? {})) authenticator.counters.set(key, counter)
    const from = Math.max(1, snapshot?.length ?? 1)
    if (log.length > from) {
      for await (const entry of log.read(from)) {
        if (entry.type === 'call' && entry.auth !== undefined && 'pubkey' in entry.auth) {
          const { pubkey, counter } = entry.auth
          if (counter > (authenticator.counters.get(pubkey) ?? -1)) authenticator.counters.set(pubkey, counter)
        }
      }
    }
    return authenticator
  }

  /** Every key's last accepted counter (a copy). */
  allCounters (): Map<string, number> {
    return new Map(this.counters)
  }

  /** The last counter accepted for this key (hex), if any. */
  lastCounter (pubkey: string): number | undefined {
    return this.counters.get(pubkey)
  }

  /** Checks a signed call without accepting it: the caller's key (hex), or throws -32001 / -32002. */
  verify (method: string, params: unknown[], raw: unknown): string {
    const auth = parseAuth(raw)
    const payload = signedPayload(this.logKey, method, params, auth.counter)
    if (!crypto.verify(payload, Buffer.from(auth.signature, 'hex'), Buffer.from(auth.pubkey, 'hex'))) {
      throw BAD_SIGNATURE(`the signature of ${auth.pubkey} does not cover ${method}() with these arguments and counter ${auth.counter} ` +
        `on call log ${this.logKey} (signed for other arguments, another counter or another backend's log?)`)
    }
    const last = this.counters.get(auth.pubkey)
    if (last !== undefined && auth.counter <= last) throw STALE_COUNTER(auth.pubkey, auth.counter, last)
    return auth.pubkey
  }

  /** Records a counter as used: call it in the same tick as queueing the call. */
  accept (pubkey: string, counter: number): void {
    if (counter > (this.counters.get(pubkey) ?? -1)) this.counters.set(pubkey, counter)
  }

  /**
   * Decides who runs a call, synchronously, and accepts its counter: queue the call in the same tick, so two
   * calls with one counter cannot both pass. A signature wins over a debug name; a debug name is logged as
   * { debug: true }; an unsigned call is anonymous, or refused (-32003) without allowAnonymous.
   */
  admit (method: string, params: unknown[], ctx: { caller?: string | null, auth?: unknown }): Admitted {
    if (ctx.auth !== undefined) {
      const pubkey = this.verify(method, params, ctx.auth)
      const { counter, signature } = ctx.auth as SignedAuth
      this.accept(pubkey, counter)
      return { caller: pubkey, auth: { pubkey, counter, signature } }
    }
    if (!this.allowAnonymous) throw ANONYMOUS_REFUSED(method)
    const caller = ctx.caller ?? null
    return caller === null ? { caller } : { caller, auth: { debug: true } }
  }
}
