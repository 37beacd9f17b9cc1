// nodevms id [--identity FILE]: create or show the local ed25519 identity; prints its public key hex.
import { resolve } from 'node:path'
import { defaultIdentityPath, identityId, loadOrCreateIdentity } from '../client/node.js'

export interface IdOptions { identity?: string }

export async function runId (opts: IdOptions = {}): Promise<number> {
  const file = resolve(opts.identity ?? defaultIdentityPath())
  const { identity, created } = await loadOrCreateIdentity(file)
  if (created) process.stderr.write(`Created a new identity at ${file} (keep it private: it signs your calls).\n`)
  process.stdout.write(identityId(identity) + '\n')
  return 0
}
