// Checking a call's ed25519 signature (CONTRACT §5), as the RPC gate does before a call is queued and as
// verify does for every signed call in the log. The payload is the wire format's (client/wire.ts).
import crypto from 'hypercore-crypto'
import { signedPayload } from '../client/wire.js'

/** True when `signature` (hex) by `pubkey` (hex) covers this call to the log with this key (hex). */
export function signatureCovers (logKey: string, method: string, params: unknown[], auth: { pubkey: string, counter: number, signature: string }): boolean {
  const payload = signedPayload(logKey, method, params, auth.counter)
  return crypto.verify(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength), Buffer.from(auth.signature, 'hex'), Buffer.from(auth.pubkey, 'hex'))
}
