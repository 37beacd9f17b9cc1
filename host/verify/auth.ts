// Caller signatures in the log (CONTRACT §5): each signed call names its caller by public key, carries
// an ed25519 signature over the canonical call, and a counter above the last one for that key.
import { signatureCovers, type CallEntry } from '../index.js'
import { UnsignedCallers } from './unsigned-callers.js'

/** Checks every signed call of one log, in log order. */
export class AuthChecker {
  private readonly counters = new Map<string, number>()
  /** Calls that name a caller on the host's word alone (debug mode), by name. */
  readonly unsignedCallers = new UnsignedCallers()

  constructor (private readonly logKey: string) {}

  /** How many calls name a caller on the host's word alone. */
  get unsigned (): number { return this.unsignedCallers.count }

  /**
   * Why this signed call fails (another caller than the signer, a bad signature, a replayed counter), or
   * null. A call whose caller is the host's word passes, and is recorded under unsignedCallers with
   * `index`, its place in the log.
   */
  check (entry: CallEntry, index?: number): { expected: unknown, actual: unknown, message: string } | null {
    const auth = entry.auth
    if (auth === undefined || 'debug' in auth) {
      if (entry.caller !== null) this.unsignedCallers.record(entry.caller, index)
      return null
    }
    if (entry.caller !== auth.pubkey) {
      return { expected: auth.pubkey, actual: entry.caller, message: 'the caller is not the key that signed the call' }
    }
    if (!signatureCovers(this.logKey, entry.method, entry.args, auth)) {
      return { expected: 'a valid ed25519 signature', actual: auth.signature, message: `the signature of ${auth.pubkey} does not cover this call to this log` }
    }
    const last = this.counters.get(auth.pubkey)
    if (last !== undefined && auth.counter <= last) {
      return { expected: `a counter above ${last}`, actual: auth.counter, message: `the counter of ${auth.pubkey} did not increase: a replayed signed call` }
    }
    this.counters.set(auth.pubkey, auth.counter)
    return null
  }
}
