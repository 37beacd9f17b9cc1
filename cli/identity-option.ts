// --identity FILE, shared by call and repl.
import { loadIdentity, type ClientError, type Identity } from '../client/node.js'

/** The identity a client command signs with: --identity FILE (which must exist), else the default one if any. */
export async function clientIdentity (file?: string): Promise<Identity | undefined> {
  if (file !== undefined) return await loadIdentity(file)
  try {
    return await loadIdentity()
  } catch (err) {
    if ((err as ClientError).code === 'IDENTITY_MISSING') return undefined
    throw err
  }
}
