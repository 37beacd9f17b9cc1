// Identities: an ed25519 key pair (hypercore-crypto) that signs calls. Kept as JSON
// {"publicKey": <64 hex>, "secretKey": <128 hex>} at ~/.nodevms/identity (mode 0600, directory 0700) or a given file.
import { link, mkdir, open, readFile, stat, unlink } from 'node:fs/promises'
import { homedir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import crypto from 'hypercore-crypto'
import { HostError } from './errors.js'

/** An ed25519 key pair; hypercore-crypto's keyPair() is one. */
export interface Identity { publicKey: Uint8Array, secretKey: Uint8Array }

/** ~/.nodevms/identity (HOME decides where ~ is). */
export function defaultIdentityPath (): string {
  return join(homedir(), '.nodevms', 'identity')
}

/** The public key in hex: what System.caller.id is for this identity's calls. */
export function identityId (identity: Identity): string {
  return Buffer.from(identity.publicKey).toString('hex')
}

function identityError (message: string, code: string, cause?: unknown): HostError {
  return new HostError(message, code, cause === undefined ? undefined : { cause })
}

const IDENTITY_MISSING = (file: string) =>
  identityError(`No identity at ${file}: create one with nodevms id${file === defaultIdentityPath() ? '' : ` --identity ${file}`}.`, 'IDENTITY_MISSING')
const IDENTITY_INSECURE = (file: string, mode: number) =>
  identityError(`The identity ${file} is readable by other users (mode ${(mode & 0o777).toString(8).padStart(3, '0')}): ` +
    `anyone who reads it can sign as you. Fix it with: chmod 600 ${file}`, 'IDENTITY_INSECURE')
const IDENTITY_CORRUPT = (file: string, why: string) =>
  identityError(`${file} is not a nodevms identity: ${why}. Move it aside and run nodevms id to create a new one.`, 'IDENTITY_CORRUPT')
const IDENTITY_EXISTS = (file: string) =>
  identityError(`An identity already exists at ${file}: refusing to overwrite it (nodevms id shows it).`, 'IDENTITY_EXISTS')
const IDENTITY_UNUSABLE = (file: string, cause: unknown) =>
  identityError(`Cannot use ${file} as an identity file: ${String((cause as Error)?.message ?? cause)}.`, 'IDENTITY_UNUSABLE', cause)

const checksPermissions = process.platform !== 'win32'

/** Reads an identity; refuses a file others can read, or one whose keys do not belong together. */
export async function loadIdentity (file: string = defaultIdentityPath()): Promise<Identity> {
  const path = resolve(file)
  let text: string
  try {
    const info = await stat(path)
    if (!info.isFile()) throw IDENTITY_CORRUPT(path, 'it is not a regular file')
    if (checksPermissions && (info.mode & 0o077) !== 0) throw IDENTITY_INSECURE(path, info.mode)
    text = await readFile(path, 'utf8')
  } catch (err) {
    if (err instanceof HostError) throw err
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw IDENTITY_MISSING(path)
    throw IDENTITY_UNUSABLE(path, err)
  }
  return decodeIdentity(text, path)
}

function decodeIdentity (text: string, path: string): Identity {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw IDENTITY_CORRUPT(path, 'it is not JSON')
  }
  const { publicKey, secretKey } = (value ?? {}) as Record<string, unknown>
  if (typeof publicKey !== 'string' || !/^[0-9a-f]{64}$/.test(publicKey)) throw IDENTITY_CORRUPT(path, '"publicKey" is not 64 lowercase hex characters')
  if (typeof secretKey !== 'string' || !/^[0-9a-f]{128}$/.test(secretKey)) throw IDENTITY_CORRUPT(path, '"secretKey" is not 128 lowercase hex characters')
  const identity = { publicKey: Buffer.from(publicKey, 'hex'), secretKey: Buffer.from(secretKey, 'hex') }
  const probe = Buffer.from('nodevms identity check')
  if (!crypto.verify(probe, crypto.sign(probe, identity.secretKey), identity.publicKey)) {
    throw IDENTITY_CORRUPT(path, 'its secret key does not match its public key')
  }
  return identity
}

/** Creates a new identity file (mode 0600; a missing directory is made 0700). Never overwrites one. */
export async function createIdentity (file: string = defaultIdentityPath(), seed?: Buffer): Promise<Identity> {
  const path = resolve(file)
  const keys = crypto.keyPair(seed)
  const text = JSON.stringify({ publicKey: keys.publicKey.toString('hex'), secretKey: keys.secretKey.toString('hex') }, null, 2) + '\n'
  // Written to a temporary file, then linked into place: the identity appears whole or not at all, and
  // link() fails on an existing file, so two processes creating one identity cannot overwrite each other.
  const temp = `${path}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`
  try {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 })
    const handle = await open(temp, 'wx', 0o600)
    try {
      await handle.chmod(0o600) // whatever the umask
      await handle.writeFile(text, 'utf8')
      await handle.sync()
    } finally {
      await handle.close()
    }
    await link(temp, path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw IDENTITY_EXISTS(path)
    throw IDENTITY_UNUSABLE(path, err)
  } finally {
    await unlink(temp).catch(() => {})
  }
  return { publicKey: keys.publicKey, secretKey: keys.secretKey }
}

/** Loads the identity at file, creating it when there is none. */
export async function loadOrCreateIdentity (file: string = defaultIdentityPath()): Promise<{ identity: Identity, created: boolean }> {
  try {
    return { identity: await loadIdentity(file), created: false }
  } catch (err) {
    if ((err as HostError).code !== 'IDENTITY_MISSING') throw err
  }
  try {
    return { identity: await createIdentity(file), created: true }
  } catch (err) {
    if ((err as HostError).code !== 'IDENTITY_EXISTS') throw err
    return { identity: await loadIdentity(file), created: false } // another process created it just now
  }
}

/** The identity a client command signs with: --identity FILE (which must exist), else the default one if any. */
export async function clientIdentity (file?: string): Promise<Identity | undefined> {
  if (file !== undefined) return await loadIdentity(file)
  try {
    return await loadIdentity()
  } catch (err) {
    if ((err as HostError).code === 'IDENTITY_MISSING') return undefined
    throw err
  }
}
