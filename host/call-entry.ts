// How an executed call becomes its log entry, and what happens when that entry would not fit in a log block.
// Hypercore takes blocks of at most 15 MiB, and one call is one block. A call whose entry would be larger
// (its result, its error, its oracle values or its list of file changes are too big) is logged instead with
// an EntryTooLargeError that names the sizes, no file changes, and the files where the call found them.
// The host and the verifier both decide by the same rule on the same bytes: the replay of such a call gives
// the same outcome, so its would-be entry has the same size.
import type { CallRecord } from '../engine/index.js'
import type { CallAuth, CallEntry, LogChange } from './call-log.js'
import { mib } from './errors.js'

/** The largest log entry, in bytes of UTF-8 JSON: Hypercore's largest block (15 MiB). */
export const MAX_ENTRY_BYTES = 15 * 1024 * 1024
/** The largest args of one call, in bytes of JSON: the RPC server's message limit. Checked before the call runs. */
export const MAX_ARGS_BYTES = 1024 * 1024
export const ENTRY_TOO_LARGE = 'EntryTooLargeError'

/** Where the files stood before a call: what a call that did not fit leaves them at. */
export interface FilesPoint { filesVersion: number, stateRoot: string }

/** A call's entry, its fields always in this order (so host and verifier encode the same bytes). */
export function callEntry (record: CallRecord, auth: CallAuth | undefined, changes: LogChange[], at: FilesPoint): CallEntry {
  return { type: 'call', ...record, ...(auth !== undefined ? { auth } : {}), changes, filesVersion: at.filesVersion, stateRoot: at.stateRoot }
}

/** Bytes of value's JSON; 0 when it is undefined or not JSON (the engine then refuses it, with its own message). */
export function jsonBytes (value: unknown): number {
  try {
    return Buffer.byteLength(JSON.stringify(value) ?? '')
  } catch {
    return 0
  }
}

/**
 * The entry logged for a call whose entry would take `bytes`: its outcome replaced by an EntryTooLargeError
 * that says what was too big and the limit, no file changes, and the files left at `before`.
 */
export function tooLarge (entry: CallEntry, bytes: number, before: FilesPoint): CallEntry {
  const parts: Array<[string, number]> = [
    ['result', jsonBytes(entry.result)], ['error', jsonBytes(entry.error)], ['oracle values', jsonBytes(entry.oracles)],
    ['args', jsonBytes(entry.args)], ['file changes', jsonBytes(entry.changes)]
  ]
  const sizes = parts.filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]).map(([name, n]) => `${name} ${mib(n)}`).join(', ')
  const { result, error, changes, filesVersion, stateRoot, ...kept } = entry
  return {
    ...kept,
    error: {
      name: ENTRY_TOO_LARGE,
      message: `${entry.method}'s log entry would take ${mib(bytes)}, more than the ${mib(MAX_ENTRY_BYTES)} one entry may hold (${sizes}). ` +
        'The call had no effect on the files. Return less per call; large data belongs in System.files, whose content the log names by hash.'
    },
    changes: [],
    filesVersion: before.filesVersion,
    stateRoot: before.stateRoot
  }
}
