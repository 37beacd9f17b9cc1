// The explorer's JSON API, defined once for both ends: the shapes the explorer (host/explore/api.ts)
// answers with and the page reads, and the one rule both apply to an entry's status. No imports, no DOM:
// the explorer imports it from here, and the browser loads it with the rest of the page.

export type Verdict = 'pending' | 'ok' | 'mismatch'
export type EntryStatus = 'ok' | 'mismatch' | 'pending'
export type EntryKind = 'init' | 'call' | 'restart' | 'upgrade'
export type CallerKind = 'signed' | 'debug' | 'anonymous'

export interface EngineFacts { name: string, version: string, wasmSha256: string }
export interface LimitFacts { gas: number, memory: number, timeoutMs: number }

/** The script as the log describes it: entry 0, updated by each restart and upgrade. */
export interface ScriptFacts {
  filename: string
  sourceHash: string
  engine: EngineFacts
  mode: string
  limits: LimitFacts
  filesKey: string
}

/** The first difference, as verify reports it, with expected and found as bounded text. */
export interface Divergence {
  index: number
  type: EntryKind | 'end'
  method: string | null
  caller: string | null
  field: string
  expected: string
  actual: string
  message: string
  paths?: string[]
  previews?: Array<{ path: string, expected: string | null, actual: string | null }>
}

/** GET /api/status */
export interface Status {
  /** What is explored, as the auditor named it. */
  target: string
  phase: 'connecting' | 'fetching' | 'verifying' | 'verified' | 'mismatch' | 'stopped'
  logKey: string | null
  filesKey: string | null
  script: ScriptFacts | null
  /** The log's length as known, the entries indexed (shown), fetched, and verified. */
  length: number
  indexed: number
  fetched: { log: number, files: number, filesLength: number }
  verified: number
  verdict: Verdict
  divergence: Divergence | null
  counts: { calls: number, oracles: number, restarts: number, upgrades: number } | null
  /** The archive's version and state root after the last verified entry. */
  filesVersion: number | null
  stateRoot: string | null
  warnings: string[]
  problem: string | null
  peers: number
}

export interface Caller { kind: CallerKind, id: string | null }

/** GET /api/entries: one timeline row. */
export interface Row {
  index: number
  kind: EntryKind
  status: EntryStatus
  method: string | null
  caller: Caller | null
  /** A call's result (ok) or error, on one line. */
  outcome: { ok: boolean, text: string } | null
  gas: number | null
  changes: number | null
  /** init, restart, upgrade: what it says in a few words. */
  note: string | null
}

/** A JSON value as indented text, cut at a bound. */
export interface JsonPreview { json: string, truncated: boolean }

/** One line of a diff: kept (' '), removed ('-'), added ('+'), or a fold ('@': the text says what was skipped). */
export type DiffLine = [op: ' ' | '-' | '+' | '@', text: string]

/** A file as one side of a change: its size and hash (null: there was no such file). */
export interface FileSide { size: number, sha256: string }

export interface FileChange {
  path: string
  before: FileSide | null
  after: FileSide | null
  /** Both sides are text (or missing): the line diff. Otherwise the sides' sizes and hashes say it. */
  diff: DiffLine[] | null
  /** The archive could not give the file before the call (not fetched yet, or the host left). */
  beforeUnavailable?: boolean
}

/** GET /api/entry: one entry in full. */
export interface Detail {
  index: number
  kind: EntryKind
  status: EntryStatus
  call?: {
    method: string
    caller: Caller
    auth: { counter: number, signature: string } | { debug: true } | null
    args: JsonPreview
    result?: JsonPreview
    error?: { name: string, message: string }
    oracles: JsonPreview
    gas: number
    deadlineGas?: number
    rebuilt?: boolean
    time?: number
    seed?: string
  }
  script?: {
    filename: string | null
    sourceHash: string
    source: JsonPreview | null
    engine: EngineFacts
    mode: string
    limits: LimitFacts
    filesKey?: string
  }
  filesVersion: number | null
  stateRoot: string | null
  changes: { total: number, shown: FileChange[] } | null
  divergence: Divergence | null
}

/** GET /api/chart: the log folded into buckets of `bucket` entries. */
export interface Chart {
  length: number
  bucket: number
  calls: number[]
  maxGas: number[]
  failed: number[]
  /** [index, kind] of restarts and upgrades (spread over the log when there are many). */
  markers: Array<[number, 'restart' | 'upgrade']>
}

export interface FolderItem { name: string, path: string, type: 'file' | 'folder', size?: number }

/** GET /api/files */
export interface Listing { version: number, path: string, items: FolderItem[], more: number }

/** A file's bytes: size and sha256 always; its text when it is UTF-8 text, else a hex preview of its head. */
export interface FileContent { size: number, sha256: string, text?: string, hex?: string, truncated: boolean }

/** GET /api/file */
export interface FileView extends FileContent { path: string, version: number }

/**
 * Entry `index`'s status from where verification stands. It runs in log order and stops at the first
 * difference, so this is exact: before `verified` ok, the diverging entry mismatch, the rest pending.
 */
export function statusOf (index: number, verified: number, divergence: Pick<Divergence, 'index' | 'type'> | null): EntryStatus {
  if (divergence !== null && divergence.type !== 'end' && divergence.index === index) return 'mismatch'
  return index < verified ? 'ok' : 'pending'
}
