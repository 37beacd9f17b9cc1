// Admitting signed calls (CONTRACT §5): a client signs each call with its ed25519 key (client/call-signature.ts);
// the host checks the signature and the per-key counter before the call is queued, so a refused call is
// never run and never logged.
import { describeHex, type SignedAuth } from '../../client/wire.js'
import { HostError, readLastCounters, signatureCovers, type CallAuth, type CallLog } from '../index.js'

/** Who the host runs a call as, and what its log entry records about that. */
export interface Admitted { caller: string | null, auth?: CallAuth }

const HEX64 = /^[0-9a-f]{64}$/
const HEX128 = /^[0-9a-f]{128}$/

/** Checks the shape of a request's "auth" member strictly; anything else is a BAD_SIGNATURE (-32001). */
export function parseAuth (raw: unknown): SignedAuth {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw HostError.BAD_SIGNATURE(`"auth" must be an object {"pubkey","counter","signature"}, not ${raw === null ? 'null' : Array.isArray(raw) ? 'an array' : typeof raw}`)
  }
  const auth = raw as Record<string, unknown>
  const extra = Object.keys(auth).filter((k) => k !== 'pubkey' && k !== 'counter' && k !== 'signature')
  if (extra.length > 0) throw HostError.BAD_SIGNATURE(`"auth" has unknown member(s) ${extra.map((k) => JSON.stringify(k)).join(', ')}: only pubkey, counter and signature`)
  const { pubkey, counter, signature } = auth
  if (typeof pubkey === 'string' && HEX64.test(pubkey) && typeof signature === 'string' && HEX128.test(signature) &&
    Number.isSafeInteger(counter) && (counter as number) >= 0) return { pubkey, counter: counter as number, signature }
  const problem = describeHex(pubkey, 64, 'pubkey') ?? describeHex(signature, 128, 'signature') ??
    `"counter" must be a non-negative safe integer, got ${JSON.stringify(counter) ?? 'nothing'}`
  throw HostError.BAD_SIGNATURE(problem)
}

export interface AuthenticatorOptions {
  /** Take unsigned calls (default true); false refuses them with -32003 (exec --no-anonymous). */
  allowAnonymous?: boolean
  /** The last accepted counter of each key (hex), e.g. Host.lastCounters(). */
  counters?: Iterable<[string, number]>
}

/** The host's gate for one call log: checks signatures and counters, remembers the last counter per key. */
export class CallAuthenticator {
  readonly logKey: string
  readonly allowAnonymous: boolean
  private readonly counters = new Map<string, number>()

  constructor (logKey: string, opts: AuthenticatorOptions = {}) {
    if (!HEX64.test(logKey)) throw new TypeError(`a call log key is 64 lowercase hex characters, got ${JSON.stringify(logKey)}`)
    this.logKey = logKey
    this.allowAnonymous = opts.allowAnonymous ?? true
    for (const [key, counter] of opts.counters ?? []) this.counters.set(key, counter)
  }

  /** Rebuilds the last counter of every key from the signed calls in a log. */
  static async fromLog (log: CallLog, opts: { allowAnonymous?: boolean } = {}): Promise<CallAuthenticator> {
    await log.core.ready()
    return new CallAuthenticator(log.key, { ...opts, counters: await readLastCounters(log) })
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
    return this.check(method, auth, signatureCovers(this.logKey, method, params, auth))
  }

  /**
   * The same verdict as verify() for a call whose signature was checked elsewhere (a worker): `covers` is that
   * check's answer. Throws -32001 / -32002; accepts nothing.
   */
  check (method: string, auth: SignedAuth, covers: boolean): string {
    if (!covers) {
      throw HostError.BAD_SIGNATURE(`the signature of ${auth.pubkey} does not cover ${method}() with these arguments and counter ${auth.counter} ` +
        `on call log ${this.logKey} (signed for other arguments, another counter or another backend's log?)`)
    }
    const last = this.counters.get(auth.pubkey)
    if (last !== undefined && auth.counter <= last) throw HostError.STALE_COUNTER(auth.pubkey, auth.counter, last)
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
      const auth = parseAuth(ctx.auth)
      return this.admitChecked(method, auth, signatureCovers(this.logKey, method, params, auth))
    }
    return this.admitUnsigned(method, ctx.caller ?? null)
  }

  /** admit() for a parsed signed call whose signature check gave `covers`: accepts its counter, or throws. */
  admitChecked (method: string, auth: SignedAuth, covers: boolean): Admitted {
    const pubkey = this.check(method, auth, covers)
    this.accept(pubkey, auth.counter)
    return { caller: pubkey, auth: { pubkey, counter: auth.counter, signature: auth.signature } }
  }

  /** admit() for an unsigned call: anonymous, a debug name logged as { debug: true }, or -32003. */
  admitUnsigned (method: string, caller: string | null): Admitted {
    if (!this.allowAnonymous) throw HostError.ANONYMOUS_REFUSED(method)
    return caller === null ? { caller } : { caller, auth: { debug: true } }
  }
}
