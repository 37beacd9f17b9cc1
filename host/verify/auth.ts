// Caller signatures in the log (CONTRACT §5): each signed call names its caller by public key, carries
// an ed25519 signature over the canonical call, and a counter above the last one for that key.
import { signatureCovers, type CallEntry } from '../index.js'

/** Checks every signed call of one log, in log order. */
export class AuthChecker {
  private readonly counters = new Map<string, number>()

  constructor (private readonly logKey: string) {}

  /**
   * Why this signed call fails (another caller than the signer, a bad signature, a replayed counter), or
   * null. A call whose caller is the host's word (see unsignedCaller) passes.
   */
  check (entry: CallEntry): { expected: unknown, actual: unknown, message: string } | null {
    const auth = entry.auth
    if (auth === undefined || 'debug' in auth) return null
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

/** The caller a call names on the host's word alone (no signature: a debug name), or null. */
export function unsignedCaller (entry: CallEntry): string | null {
  return entry.auth === undefined || 'debug' in entry.auth ? entry.caller : null
}
