// nodevms id [--identity FILE]: create or show the local ed25519 identity; prints its public key hex.
import { resolve } from 'node:path'
import { defaultIdentityPath, identityId, loadOrCreateIdentity } from '../client/node.js'
import type { Invocation, RunCommand } from './command-spec.js'

export interface IdOptions { identity?: string }

export const idCommand: RunCommand = {
  usage: 'id',
  description: 'Create or show your ed25519 identity; prints its public key hex',
  options: [
    { flags: '--identity <file>', description: 'Identity file', defaultText: '~/.nodevms/identity' }
  ],
  run: ({ options }: Invocation) => runId(options as IdOptions)
}

export async function runId (opts: IdOptions = {}): Promise<number> {
  const file = resolve(opts.identity ?? defaultIdentityPath())
  const { identity, created } = await loadOrCreateIdentity(file)
  if (created) process.stderr.write(`Created a new identity at ${file} (keep it private: it signs your calls).\n`)
  process.stdout.write(identityId(identity) + '\n')
  return 0
}
