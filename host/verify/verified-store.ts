// The verifier's memory (--store): the length and tree hash of the log it verified, so a later run
// against the same store catches a host that truncated or rewrote its history.
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type Hypercore from 'hypercore'
import { HostError } from '../index.js'

const VERIFIED_FILE = 'verified.json'

/** What a --store remembers of a log it verified. */
export interface Verified { logKey: string, length: number, treeHash: string, fork: number }

export async function readVerified (dir: string): Promise<Verified | null> {
  try {
    return JSON.parse(await readFile(join(dir, VERIFIED_FILE), 'utf8')) as Verified
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return null
    throw err
  }
}

/** Fails when the log no longer extends what this store verified before. */
export async function checkHistory (core: Hypercore, before: Verified | null, truncatedTo: number | null): Promise<void> {
  if (before === null || before.logKey !== core.key!.toString('hex')) return
  const key = before.logKey
  if (truncatedTo !== null && truncatedTo < before.length) throw HostError.HISTORY_REWRITTEN(key, before.length, `the host truncated it to ${truncatedTo} entries`)
  if (core.length < before.length) throw HostError.HISTORY_REWRITTEN(key, before.length, `it has only ${core.length}`)
  const hash = (await core.treeHash(before.length)).toString('hex')
  if (hash !== before.treeHash) throw HostError.HISTORY_REWRITTEN(key, before.length, `its first ${before.length} entries hash to ${hash.slice(0, 16)}…, not ${before.treeHash.slice(0, 16)}…`)
  if (core.fork !== before.fork) throw HostError.HISTORY_REWRITTEN(key, before.length, `its fork id went from ${before.fork} to ${core.fork}`)
}

/** Records that the first `length` entries of `core` were verified. */
export async function rememberVerified (dir: string, core: Hypercore, length: number): Promise<void> {
  const verified: Verified = { logKey: core.key!.toString('hex'), length, treeHash: (await core.treeHash(length)).toString('hex'), fork: core.fork }
  await writeFile(join(dir, VERIFIED_FILE), JSON.stringify(verified) + '\n')
}
