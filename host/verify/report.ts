// What a verification reports: the verdict, the first divergence, and the wording of each finding.
import type { LogChange, LogEntry } from '../index.js'
import type { FilePreview, FilesDifference } from './differences.js'
import type { UnsignedCallersReport } from './unsigned-callers.js'

/** The first difference between the log and its replay (or the archive). */
export interface VerifyDivergence {
  index: number
  type: LogEntry['type'] | 'end'
  method: string | null
  caller: string | null
  /** result, error, oracles.length, gas, deadlineGas, rebuilt, auth, changes, files.history, filesVersion, stateRoot,
   *  sourceHash, source, engine, filesKey, files (the final archive), files.unlogged */
  field: string
  expected: unknown
  actual: unknown
  message: string
  paths?: string[]
  previews?: FilePreview[]
}

export interface VerifyReport {
  ok: boolean
  /** Entries checked and found right. */
  entries: number
  calls: number
  /** Oracle outcomes the replay used. */
  oracles: number
  restarts: number
  upgrades: number
  /** The replayed state root after the last checked entry. */
  stateRoot: string
  filesVersion: number
  logKey: string
  filesKey: string
  ms: number
  divergence?: VerifyDivergence
  /** Calls whose caller is the host's word (debug names, no signature), by name with their first indexes. */
  unsignedCallers: UnsignedCallersReport
  warnings: string[]
}

/** A finding at the entry being checked: the divergence without where it is. */
export type Found = Omit<VerifyDivergence, 'index' | 'type' | 'method' | 'caller'>

export function sourceHashMismatch (recorded: string, computed: string): Found {
  return { field: 'sourceHash', expected: computed, actual: recorded, message: 'the recorded sha256 is not the sha256 of the recorded source' }
}

/**
 * Changes in the archive between versions `from` (where the log leaves it) and `to` that no entry logs:
 * each path with what the log implies (the replayed file) and what the archive holds.
 */
export function unloggedChanges (where: string, from: number, to: number, diff: FilesDifference): Found {
  const file = (preview: string | null) => preview ?? 'no such file'
  const shown = diff.previews.map((p) => `${p.path} (the log implies ${file(p.expected)}; the archive holds ${file(p.actual)})`)
  const more = diff.count > shown.length ? `, and ${diff.count - shown.length} more` : ''
  return {
    field: 'files.unlogged', ...filesFields(diff),
    expected: `files version ${from}, where the log leaves the archive`,
    actual: `files version ${to}: ${diff.count} change(s) not in the log`,
    message: `the files archive changed ${where}: ${diff.count} change(s) not in the log, between files version ${from} (where the log leaves it) and ${to}: ${shown.join(', ')}${more}`
  }
}

export function filesFields (diff: FilesDifference): { paths: string[], previews: FilePreview[] } {
  return { paths: diff.paths, previews: diff.previews }
}

/** One logged change in a line: deleted, or the new content's hash and size (or, in older logs, its base64). */
export function summary ([path, content]: LogChange): string {
  if (content === null) return `${path}: deleted`
  if (typeof content === 'string') return `${path}: ${content.length > 40 ? content.slice(0, 40) + '…' : content} (base64)`
  return `${path}: sha256 ${content.sha256} (${content.size} bytes)`
}

export function describe (entry: LogEntry, index: number, found: Found): VerifyDivergence {
  const call = entry.type === 'call' ? entry : null
  return { index, type: entry.type, method: call?.method ?? null, caller: call?.caller ?? null, ...found }
}
