// Which calls leave no trace, and which entries start the script's memory afresh: one rule, shared by the
// host (what it logs), the restore (what it replays) and the verifier (what it checks). CONTRACT §7.
//
// A call that ends in one of NO_EFFECT_ERRORS has no effect at all: the log keeps its entry, with its
// error, no file changes and the files where it found them, and the script's memory is as it was before
// it. The engine itself undoes what hits a limit or fails under QuickJS; the host undoes a call whose
// entry does not fit in a log block (call-entry.ts). Replays skip such calls: there is nothing to redo.
import { CallErrorName, type CallRecord } from '../engine/index.js'
import { ENTRY_TOO_LARGE } from './call-entry.js'
import type { LogEntry } from './call-log.js'

/** Errors that mean the call had no effect, on the files or on memory. */
export const NO_EFFECT_ERRORS: ReadonlySet<string> = new Set([
  CallErrorName.GAS_EXHAUSTED,
  CallErrorName.OUT_OF_MEMORY,
  CallErrorName.DEADLINE_EXCEEDED,
  CallErrorName.ENGINE_FAULT,
  ENTRY_TOO_LARGE
])

/** Whether a call (its record or its entry) ended in an error that leaves no trace. */
export function hadNoEffect (record: Pick<CallRecord, 'error'>): boolean {
  return record.error !== undefined && NO_EFFECT_ERRORS.has(record.error.name)
}

/**
 * A record as the host logs it. The engine renames a script's own error that claims one of its names;
 * EntryTooLargeError is the host's, so the host renames it here, and restore and verify apply the same rule.
 */
export function asLogged (record: CallRecord): CallRecord {
  if (record.error?.name !== ENTRY_TOO_LARGE) return record
  const message = `the script threw an error named ${ENTRY_TOO_LARGE}, a name only the host gives: ${record.error.message}`
  return { ...record, error: { name: 'Error', message } }
}

/** init, upgrade, and a restart that did not restore: the script's memory starts empty at this entry. */
export function beginsEmptyMemory (entry: LogEntry): boolean {
  return entry.type === 'init' || entry.type === 'upgrade' || (entry.type === 'restart' && entry.restored !== true)
}
