// Calls replayed together. Consecutive calls whose entries log no file changes, at the files version and
// state root the verifier is at, all start from the same files: they are sent to the engine at once (one
// crossing to its worker per batch, not one round trip per call) over one files transaction, and each
// record is compared in log order, so the first wrong one is named exactly. The transaction must end with
// no changes; if it does not, the log hid a write in one of those calls, and the whole run of calls is
// named (the engine ran them together, so which one wrote is not known).
import { compareRecords, type CallRecord, type Engine } from '../../engine/index.js'
import { asLogged, logChanges, toCallRecord, type CallEntry } from '../index.js'
import { compareChanges } from './differences.js'
import { filesFields, summary, type Found } from './report.js'
import type { ReplayFiles } from './replay-files.js'

/**
 * What a replayed call's outcome says against its logged record: the engine failed, or the record differs
 * (null when they agree). One rule for calls replayed alone (verifier.ts) and together (below).
 */
export function recordFinding (outcome: PromiseSettledResult<CallRecord>, expected: CallRecord): Found | null {
  if (outcome.status === 'rejected') {
    const err = outcome.reason as Error
    return { field: 'error', expected: { name: err.name, message: err.message }, actual: expected.error ?? null, message: 'the engine failed while replaying the call' }
  }
  const diff = compareRecords(asLogged(outcome.value), expected) // expected: the replay's value; actual: the log's
  return diff === null ? null : { ...diff, message: `the log records another ${diff.field} than the replay gives` }
}

/** The first entry in the window that is wrong (its offset in the window), or null when all are right. */
export async function replayWindow (engine: Engine, files: ReplayFiles, entries: readonly CallEntry[], firstIndex: number): Promise<{ offset: number, found: Found } | null> {
  const expected = entries.map(toCallRecord)
  files.begin()
  const outcomes = await Promise.allSettled(entries.map((entry, i) => engine.call(entry.method, entry.args, { caller: entry.caller, replay: expected[i] })))
  for (let i = 0; i < entries.length; i++) {
    const found = recordFinding(outcomes[i], expected[i])
    if (found !== null) {
      files.discard()
      return { offset: i, found }
    }
  }
  const changes = await files.commit()
  if (changes.length === 0) return null
  const changed = compareChanges([], changes)!
  const last = firstIndex + entries.length - 1
  return {
    offset: 0,
    found: {
      field: 'changes', ...filesFields(changed), expected: logChanges(changes).map(summary), actual: [],
      message: `the log records no file changes for entries ${firstIndex}..${last}, but replaying them changes ${changed.paths.join(', ')}`
    }
  }
}
