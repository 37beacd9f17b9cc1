// Identities: an ed25519 key pair that signs calls. Its portable form is the identity file's JSON,
// {"publicKey": <64 hex>, "secretKey": <128 hex>} (secretKey = 32-byte seed || public key, as libsodium
// keeps it), so a key pair moves between `nodevms id`, Node programs and web pages unchanged.
// Where identities are kept is the platform's business: files in Node (client/node.ts), whatever the
// app chooses in a browser (IndexedDB, a downloaded file).
import { ClientError } from './errors.js'
import { fromHex, isHex, toHex } from './hex.js'
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
  const { publicKey, secretKey } = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>
  if (!isHex(publicKey, 64)) throw ClientError.IDENTITY_CORRUPT(where, '"publicKey" is not 64 lowercase hex characters')
  if (!isHex(secretKey, 128)) throw ClientError.IDENTITY_CORRUPT(where, '"secretKey" is not 128 lowercase hex characters')
  const identity = { publicKey: fromHex(publicKey), secretKey: fromHex(secretKey) }
  const derived = toHex(ed.publicKey(identity.secretKey.subarray(0, 32)))
  if (derived !== publicKey || secretKey.slice(64) !== publicKey) throw ClientError.IDENTITY_CORRUPT(where, 'its secret key does not match its public key')
  return identity
}

/** Checks an identity handed to connect() before any call is signed with it. */
export function checkIdentity (ed: Ed25519, identity: unknown): Identity {
  const pair = (identity ?? {}) as Partial<Identity>
  if (!(pair.publicKey instanceof Uint8Array) || !(pair.secretKey instanceof Uint8Array)) {
    throw ClientError.IDENTITY_CORRUPT('The identity given', 'it must be { publicKey: Uint8Array(32), secretKey: Uint8Array(64) }')
  }
  return identityFromJson(ed, identityToJson(pair as Identity))
}
