// Signed calls on the wire (CONTRACT §5): what a client signs, and the request's "auth" member.
//   payload = UTF-8 of canonicalJson(["nodevms-call/1", <call log key hex>, <method>, <params>, <counter>])
//   request = { jsonrpc, id, method, params, "auth": { "pubkey": <64 hex>, "counter": <int>, "signature": <128 hex> } }
// The host checks these (host/rpc), and so does verify for every signed call in the log.
import { canonicalJson } from './canonical-json.js'
import { toHex } from './hex.js'
import type { Identity } from './identity.js'

/** The first element of every signed payload: names the format, so a signature means nothing elsewhere. */
export const CALL_SIGNATURE_DOMAIN = 'nodevms-call/1'

/** The request's "auth" member, and what a signed call entry records. */
export interface SignedAuth { pubkey: string, counter: number, signature: string }

/** A detached ed25519 signature of `message` by a 64-byte secret key (seed || public key). */
export type SignFn = (message: Uint8Array, secretKey: Uint8Array) => Uint8Array

const utf8 = new TextEncoder()

/** The bytes a client signs for one call to the log with this key (hex). */
export function signedPayload (logKey: string, method: string, params: unknown[], counter: number): Uint8Array {
  return utf8.encode(canonicalJson([CALL_SIGNATURE_DOMAIN, logKey, method, params, counter]))
}

/** Signs one call to the log with this key (hex): the request's "auth" member. */
export function signCallWith (sign: SignFn, identity: Identity, logKey: string, method: string, params: unknown[], counter: number): SignedAuth {
  const signature = sign(signedPayload(logKey, method, params, counter), identity.secretKey)
  return { pubkey: toHex(identity.publicKey), counter, signature: toHex(signature) }
}

/** `dat://<64 hex>` (the handshake's callLogUrl) or the bare hex → the lowercase hex key, or null. */
export function logKeyFromUrl (url: unknown): string | null {
  if (typeof url !== 'string') return null
  const match = /^(?:dat:\/\/)?([0-9a-fA-F]{64})\/?$/.exec(url.trim())
  return match ? match[1].toLowerCase() : null
}

/** 64 hex digits in a row, any case: what a public key (System.caller.id of a signed call) looks like. */
export function looksLikePublicKey (name: string): boolean {
  return /[0-9a-fA-F]{64}/.test(name)
}
