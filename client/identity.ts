// Identities: an ed25519 key pair that signs calls. Its portable form is the identity file's JSON,
// {"publicKey": <64 hex>, "secretKey": <128 hex>} (secretKey = 32-byte seed || public key, as libsodium
// keeps it), so a key pair moves between `nodevms id`, Node programs and web pages unchanged.
// Where identities are kept is the platform's business: files in Node (client/node.ts), whatever the
// app chooses in a browser (IndexedDB, a downloaded file).
import { ClientError } from './errors.js'
import { describeHex, fromHex, toHex } from './hex.js'
import type { SignFn } from './call-signature.js'

/** An ed25519 key pair: publicKey 32 bytes, secretKey 64 bytes (seed || public key). */
export interface Identity { publicKey: Uint8Array, secretKey: Uint8Array }

/** The identity file's JSON form. */
export interface IdentityJson { publicKey: string, secretKey: string }

/** The ed25519 operations a platform provides (node:crypto in Node, @noble/curves in browsers). */
export interface Ed25519 {
  sign: SignFn
  /** The public key of a 32-byte seed. */
  publicKey (seed: Uint8Array): Uint8Array
}

/** The public key in hex: what System.caller.id is for this identity's calls. */
export function identityId (identity: Identity): string {
  return toHex(identity.publicKey)
}

/** A new key pair from 32 random bytes (or the seed given). */
export function generateIdentity (ed: Ed25519, seed?: Uint8Array): Identity {
  const secret = seed ?? globalThis.crypto.getRandomValues(new Uint8Array(32))
  if (secret.byteLength !== 32) throw new TypeError(`an ed25519 seed is 32 bytes, got ${secret.byteLength}`)
  const publicKey = ed.publicKey(secret)
  const secretKey = new Uint8Array(64)
  secretKey.set(secret)
  secretKey.set(publicKey, 32)
  return { publicKey, secretKey }
}

/** The JSON form of an identity, as the identity file holds it. */
export function identityToJson (identity: Identity): IdentityJson {
  return { publicKey: toHex(identity.publicKey), secretKey: toHex(identity.secretKey) }
}

/**
 * An identity from its JSON form (an object, or its text), checked strictly: lowercase hex of the right
 * lengths, and a secret key that belongs to the public key. `where` names the source in errors.
 */
export function identityFromJson (ed: Ed25519, value: unknown, where = 'The identity given'): Identity {
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value)
    } catch {
      throw ClientError.IDENTITY_CORRUPT(where, 'it is not JSON')
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw ClientError.IDENTITY_CORRUPT(where, 'it must be {"publicKey": <64 hex>, "secretKey": <128 hex>}')
  }
  const { publicKey, secretKey } = value as Record<string, unknown>
  const problem = describeHex(publicKey, 64, 'publicKey') ?? describeHex(secretKey, 128, 'secretKey', { secret: true })
  if (problem !== null) throw ClientError.IDENTITY_CORRUPT(where, problem)
  const pair = { publicKey: fromHex(publicKey as string), secretKey: fromHex(secretKey as string) }
  const derived = toHex(ed.publicKey(pair.secretKey.subarray(0, 32)))
  if (derived !== publicKey || (secretKey as string).slice(64) !== publicKey) throw ClientError.IDENTITY_CORRUPT(where, 'its secret key does not match its public key')
  return pair
}

/**
 * Checks an identity handed to connect() before any socket is opened: a key pair of Uint8Arrays
 * (32 and 64 bytes) or its JSON form (hex), whose keys belong together.
 */
export function checkIdentity (ed: Ed25519, identity: unknown): Identity {
  const pair = (typeof identity === 'object' && identity !== null ? identity : {}) as Record<string, unknown>
  if (pair.publicKey instanceof Uint8Array && pair.secretKey instanceof Uint8Array) {
    const problem = pair.publicKey.byteLength !== 32 ? `"publicKey" must be 32 bytes, got ${pair.publicKey.byteLength}`
      : pair.secretKey.byteLength !== 64 ? `"secretKey" must be 64 bytes, got ${pair.secretKey.byteLength}` : null
    if (problem !== null) throw ClientError.IDENTITY_CORRUPT('The identity given', problem)
    return identityFromJson(ed, identityToJson(pair as unknown as Identity))
  }
  if (typeof pair.publicKey === 'string' || typeof pair.secretKey === 'string') return identityFromJson(ed, pair)
  throw ClientError.IDENTITY_CORRUPT('The identity given', 'it must be { publicKey: Uint8Array(32), secretKey: Uint8Array(64) }, or its JSON form with hex strings')
}
