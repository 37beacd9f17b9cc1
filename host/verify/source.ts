// What verify reads: a call log and its files archive from wherever they come (a host's port, a stopped
// host's directory, the Dat network), and the keys that name them.
import { createRequire } from 'node:module'
import type Hyperdrive from 'hyperdrive'
import { HostError, type CallLog } from '../index.js'

const require = createRequire(import.meta.url)
const idEncoding = require('hypercore-id-encoding') as { decode (id: string): Buffer }

/** A log and its files archive, opened for verification; close() releases everything it opened. */
export interface VerifySource {
  log: CallLog
  drive: Hyperdrive
  /** After a run that verified `length` entries: remember them in --store (a no-op without one). */
  remember (length: number): Promise<void>
  close (): Promise<void>
  /** What a failure while reading this source means (a damaged store names the damaged part); default: the error. */
  explain? (err: unknown): unknown
  /** What the reader should know about the source before the verdict (verify --dir: answered calls not in the log yet). */
  warnings?: string[]
}

/** `dat://<hex>`, `hyper://<z32 or hex>` or bare hex/z32 → 64 lowercase hex. */
export function parseKey (input: string, what = 'call log'): string {
  const id = input.trim().replace(/^(dat|hyper):\/\//i, '').replace(/\/+$/, '')
  try {
    return idEncoding.decode(/^[0-9a-f]{64}$/i.test(id) ? id.toLowerCase() : id).toString('hex')
  } catch {
    throw HostError.BAD_KEY(what, input)
  }
}
