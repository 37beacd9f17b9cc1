// Calls replayed together. Consecutive calls that had an effect are sent to the engine at once (one crossing
// to its worker per run, not one round trip per call), each over its own files transaction. Each record is
// checked as it comes, in log order (the engine's `ended` hook), before any later call's file request is
// served: its record, its files version, its net file changes (then applied, so the next call reads them)
// and its state root. The first wrong call ends the run; the calls after it are not taken. What needs the
// drive (its history at each version, the files outside the log) is checked by the verifier after the run.
import { compareRecords, type CallRecord, type Engine } from '../../engine/index.js'
import { asLogged, logChanges, toCallRecord, type CallEntry, type Change } from '../index.js'
import { compareChanges } from './differences.js'
import { filesFields, summary, type Found } from './report.js'
import type { ReplayFiles } from './replay-files.js'

/**
 * What a replayed call's outcome says against its logged record: the engine failed, or the record differs
 * (null when they agree).
 */
export function recordFinding (outcome: PromiseSettledResult<CallRecord>, expected: CallRecord): Found | null {
  if (outcome.status === 'rejected') {
    const err = outcome.reason as Error
    return { field: 'error', expected: { name: err.name, message: err.message }, actual: expected.error ?? null, message: 'the engine failed while replaying the call' }
  }
  const diff = compareRecords(asLogged(outcome.value), expected) // expected: the replay's value; actual: the log's
  return diff === null ? null : { ...diff, message: `the log records another ${diff.field} than the replay gives` }
}

/** A call of the run that changed files: where, from which version, and what (for the history check). */
export interface ChangedCall { offset: number, before: number, changes: Change[] }

export interface RunOutcome {
  /** Calls that passed, from the first: their changes are applied and the files version is after them. */
  passed: number
  filesVersion: number
  changed: ChangedCall[]
  /**
   * The first wrong call: its offset and finding, or, when the log places it at another files version than
   * the calls before it leave (`version`), the version it names (the verifier says what lies between).
   */
  wrong: { offset: number, found: Found } | { offset: number, version: number } | null
}

/** Replays `entries` (calls that had an effect and are allowed) from files version `filesVersion`. */
export async function replayRun (engine: Engine, files: ReplayFiles, entries: readonly CallEntry[], filesVersion: number): Promise<RunOutcome> {
  const run: RunOutcome = { passed: 0, filesVersion, changed: [], wrong: null }
  const check = (entry: CallEntry, offset: number, expected: CallRecord, outcome: PromiseSettledResult<CallRecord>, tx: ReturnType<ReplayFiles['transaction']>): void => {
    if (run.wrong !== null) return
    // Records come in call order; one missing (its call failed before it ran) is that call's failure.
    if (offset !== run.passed) { run.wrong = { offset: run.passed, found: { field: 'error', expected: 'a replayed call', actual: null, message: 'the engine did not replay the call' } }; return }
    const before = entry.filesVersion - entry.changes.length
    if (before !== run.filesVersion) { run.wrong = { offset, version: before }; return }
    const record = recordFinding(outcome, expected)
    if (record !== null) { run.wrong = { offset, found: record }; return }
    const changes = tx.changes()
    const found = filesFinding(entry, changes, run)
    if (found !== null) { run.wrong = { offset, found }; return }
    files.apply(tx, changes)
    run.filesVersion += changes.length
    if (changes.length > 0) run.changed.push({ offset, before, changes })
    const root = files.root.digest()
    if (entry.stateRoot !== root) { run.wrong = { offset, found: { field: 'stateRoot', expected: root, actual: entry.stateRoot, message: 'the state root in the log is not the root of the replayed files' } }; return }
    run.passed++
  }
  const checkSafely: typeof check = (...args) => {
    try {
      check(...args)
    } catch (err) {
      run.wrong ??= { offset: args[1], found: { field: 'error', expected: 'a check that completes', actual: (err as Error).message, message: `checking the replayed call failed: ${(err as Error).message}` } }
    }
  }
  await Promise.all(entries.map((entry, offset) => {
    const expected = toCallRecord(entry)
    const tx = files.transaction()
    let ended = false
    return engine.call(entry.method, entry.args, {
      caller: entry.caller,
      replay: expected,
      files: tx,
      ended: (record) => { ended = true; checkSafely(entry, offset, expected, { status: 'fulfilled', value: record }, tx) }
    }).catch((err) => { if (!ended) checkSafely(entry, offset, expected, { status: 'rejected', reason: err }, tx) })
  }))
  return run
}

/** The replayed call's net changes and the files version after them, against its entry (null: they agree). */
function filesFinding (entry: CallEntry, changes: Change[], run: RunOutcome): Found | null {
  const changed = compareChanges(entry.changes, changes)
  if (changed !== null) {
    return { field: 'changes', ...filesFields(changed), expected: logChanges(changes).map(summary), actual: entry.changes.map(summary), message: `the log records other file changes than the replay makes: ${changed.paths.join(', ')}` }
  }
  const after = run.filesVersion + changes.length
  if (entry.filesVersion !== after) return { field: 'filesVersion', expected: after, actual: entry.filesVersion, message: `the call made ${changes.length} change(s) from files version ${run.filesVersion}` }
  return null
}
