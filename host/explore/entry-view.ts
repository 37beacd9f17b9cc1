// What the page shows of an entry: a timeline row (one line each) and the detail of one entry, with a
// before/after view of every file the call changed. Both are bounded, whatever the log holds.
import type Hyperdrive from 'hyperdrive'
import { DriveFiles, type CallEntry, type LogEntry } from '../index.js'
import type { VerifyDivergence } from '../verify/index.js'
import { callerKind } from './log-index.js'
import type { Caller, Detail, Divergence, EntryStatus, FileChange, FileSide, Row } from './page/wire.js'
import { asText, jsonPreview, MAX_TEXT_BYTES, oneLine, sha256Of, shortJson } from './previews.js'
import { diffText } from './text-diff.js'

const MAX_CHANGES_SHOWN = 50
const READ_TIMEOUT_MS = 5000
/** Script-chosen names (methods, debug callers, file names): one line in a row, a few KiB in a detail. */
const ROW_NAME_CHARS = 200
const NAME_CHARS = 4096
const cut = (text: string, max: number): string => text.length > max ? text.slice(0, max - 1) + '…' : text

// A divergence never changes once found, and the page asks for it every half second: bound it once.
const bounded = new WeakMap<VerifyDivergence, Divergence>()

/** The divergence cut to sizes a page can show (expected and actual may be logged values of megabytes). */
export function boundDivergence (d: VerifyDivergence): Divergence {
  let out = bounded.get(d)
  if (out !== undefined) return out
  const text = (v: unknown, max = 4096) => typeof v === 'string' ? cut(v, max) : shortJson(v, max)
  out = {
    ...d, method: d.method === null ? null : cut(d.method, NAME_CHARS), caller: d.caller === null ? null : cut(d.caller, NAME_CHARS),
    expected: text(d.expected), actual: text(d.actual), message: cut(d.message, 8192), paths: d.paths?.slice(0, 50).map((p) => cut(p, 1024))
  }
  bounded.set(d, out)
  return out
}

export function entryRow (entry: LogEntry, index: number, status: EntryStatus): Row {
  const row: Row = { index, kind: entry.type, status, method: null, caller: null, outcome: null, gas: null, changes: null, note: null }
  switch (entry.type) {
    case 'call':
      row.method = cut(entry.method, ROW_NAME_CHARS)
      row.caller = callerOf(entry, ROW_NAME_CHARS)
      row.outcome = entry.error !== undefined
        ? { ok: false, text: oneLine(`${entry.error.name}: ${entry.error.message}`) }
        : { ok: true, text: shortJson(entry.result ?? null) }
      row.gas = entry.gas
      row.changes = entry.changes.length
      break
    case 'init':
    case 'upgrade':
      row.note = `${cut(entry.filename, ROW_NAME_CHARS)} (sha256 ${entry.sourceHash.slice(0, 12)}…), ${entry.mode}`
      break
    case 'restart':
      row.note = `same script (sha256 ${entry.sourceHash.slice(0, 12)}…), ${entry.restored === true ? 'memory restored' : 'empty memory'}, files version ${entry.filesVersion}`
      break
  }
  return row
}

function callerOf (entry: CallEntry, max: number): Caller {
  return { kind: callerKind(entry), id: entry.caller === null ? null : cut(entry.caller, max) }
}

/** The full entry, with each changed file before (the archive at the call's start) and after (the log). */
export async function entryDetail (entry: LogEntry, index: number, status: EntryStatus, drive: Hyperdrive, divergence: VerifyDivergence | null): Promise<Detail> {
  const detail: Detail = {
    index, kind: entry.type, status, filesVersion: null, stateRoot: null, changes: null,
    divergence: divergence !== null && divergence.index === index && divergence.type !== 'end' ? boundDivergence(divergence) : null
  }
  if (entry.type === 'call') {
    const auth = entry.auth === undefined ? null : 'debug' in entry.auth ? { debug: true as const } : { counter: entry.auth.counter, signature: entry.auth.signature }
    detail.call = {
      method: cut(entry.method, NAME_CHARS), caller: callerOf(entry, NAME_CHARS), auth, args: jsonPreview(entry.args), oracles: jsonPreview(entry.oracles), gas: entry.gas,
      ...(entry.error !== undefined ? { error: { name: entry.error.name.slice(0, 1000), message: entry.error.message.slice(0, 64 * 1024) } } : { result: jsonPreview(entry.result ?? null) }),
      ...(entry.deadlineGas !== undefined ? { deadlineGas: entry.deadlineGas } : {}),
      ...(entry.rebuilt !== undefined ? { rebuilt: entry.rebuilt } : {}),
      ...(entry.time !== undefined ? { time: entry.time } : {}),
      ...(entry.seed !== undefined ? { seed: entry.seed } : {})
    }
    detail.filesVersion = entry.filesVersion
    detail.stateRoot = entry.stateRoot
    detail.changes = { total: entry.changes.length, shown: await fileChanges(entry, drive) }
  } else {
    detail.script = {
      filename: entry.type === 'restart' ? null : cut(entry.filename, NAME_CHARS),
      sourceHash: entry.sourceHash,
      source: entry.type === 'restart' ? null : jsonPreview(entry.source),
      engine: entry.engine, mode: entry.mode, limits: entry.limits,
      ...(entry.type === 'init' ? { filesKey: entry.filesKey } : {})
    }
    if (entry.type !== 'init') {
      detail.filesVersion = entry.filesVersion
      detail.stateRoot = entry.stateRoot
    }
  }
  return detail
}

/** The call's changes as logged, each against the archive before the call. */
async function fileChanges (entry: CallEntry, drive: Hyperdrive): Promise<FileChange[]> {
  const shown = entry.changes.slice(0, MAX_CHANGES_SHOWN)
  if (shown.length === 0) return []
  const before = DriveFiles.checkout(drive, entry.filesVersion - entry.changes.length)
  // Entries name new content by hash (older logs carried it as base64): its bytes are in the archive at the entry's version.
  const afterCall = DriveFiles.checkout(drive, entry.filesVersion)
  try {
    return await Promise.all(shown.map(async ([path, content]): Promise<FileChange> => {
      const after = content === null ? null : typeof content === 'string' ? new Uint8Array(Buffer.from(content, 'base64')) : await withTimeout(afterCall.get(path), READ_TIMEOUT_MS) ?? undefined
      const old = await withTimeout(before.get(path), READ_TIMEOUT_MS)
      const change = compare(path, old === undefined ? null : old, after ?? null, old === undefined)
      // Bytes not (yet) readable: show what the log names them by, and no diff.
      if (after === undefined && content !== null && typeof content !== 'string') return { ...change, after: { size: content.size, sha256: content.sha256 }, diff: null }
      return change
    }))
  } finally {
    await Promise.all([before.close(), afterCall.close()])
  }
}

function compare (path: string, before: Uint8Array | null, after: Uint8Array | null, beforeUnavailable: boolean): FileChange {
  const side = (data: Uint8Array | null): FileSide | null => data === null ? null : { size: data.byteLength, sha256: sha256Of(data) }
  const text = (data: Uint8Array | null): string | null => data === null ? '' : data.byteLength > MAX_TEXT_BYTES ? null : asText(data)
  const a = beforeUnavailable ? null : text(before)
  const b = text(after)
  const change: FileChange = { path, before: side(before), after: side(after), diff: a !== null && b !== null ? diffText(a, b) : null }
  if (beforeUnavailable) change.beforeUnavailable = true
  return change
}

/** The promise's value, or undefined when it takes longer than ms. */
async function withTimeout<T> (promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<undefined>((resolve) => { timer = setTimeout(() => resolve(undefined), ms) })
  try {
    return await Promise.race([promise, late])
  } finally {
    clearTimeout(timer)
  }
}
