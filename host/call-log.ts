// The call log: one JSON document per Hypercore block, UTF-8, no trailing newline.
//
// Blocks are encoded by hand rather than with valueEncoding 'json', so that a block that is not JSON
// (a foreign core) is reported as NOT_A_NODEVMS_LOG with its index instead of a bare SyntaxError, and
// so the log reads the same whatever encoding the core session was opened with.
// Block 0 is always the init entry; every later block is a call, restart or upgrade entry.

import { createHash } from 'node:crypto'
import type Hypercore from 'hypercore'
import type { CallRecord, OracleOutcome } from '../engine/index.js'
import type { Change } from './drive-files.js'
import { readWindows } from './block-reader.js'
import { HostError } from './errors.js'

export interface EngineInfo { name: 'nodevms-quickjs', version: string, wasmSha256: string }
export type Mode = 'deterministic' | 'seeded'
export interface Limits { gas: number, memory: number, timeoutMs: number }

/** Block 0: what runs, how, and where its files live. */
export interface InitEntry {
  type: 'init', version: 1
  filename: string, source: string, sourceHash: string
  engine: EngineInfo, mode: Mode, limits: Limits
  filesKey: string
}

/**
 * The host restarted on the files at filesVersion. With `restored`, the script's memory is what the log
 * since the last entry that began with empty memory made it (CONTRACT §7); without it (`false`, or logs
 * written before the field), the script's memory starts empty here.
 */
export interface RestartEntry {
  type: 'restart'
  sourceHash: string, engine: EngineInfo, mode: Mode, limits: Limits
  filesVersion: number, stateRoot: string
  restored?: boolean
}

/** The host restarted with a new script source. */
export interface UpgradeEntry {
  type: 'upgrade'
  filename: string, source: string, sourceHash: string
  engine: EngineInfo, mode: Mode, limits: Limits
  filesVersion: number, stateRoot: string
}

/** A signed call (see CONTRACT §5), or a debug-mode caller name. */
export type CallAuth = { pubkey: string, counter: number, signature: string } | { debug: true }

/** New file content named by its sha256 (hex) and size in bytes; the bytes themselves are in the files archive. */
export interface ContentRef { sha256: string, size: number }

/**
 * A file change as logged: the new content's reference, or null for a delete. Logs written before content
 * references hold the content itself, in base64 (still read, never written).
 */
export type LogChange = [path: string, content: ContentRef | string | null]

/** One executed call, with its file changes (by content hash) and where they leave the files archive. */
export interface CallEntry extends CallRecord {
  type: 'call'
  auth?: CallAuth
  changes: LogChange[]
  /** The files archive's version after this call's changes. */
  filesVersion: number
  stateRoot: string
}

export type LogEntry = InitEntry | RestartEntry | UpgradeEntry | CallEntry

/** An entry's sourceHash: the sha256 (hex) of the script's UTF-8 source. */
export function sha256Hex (text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex')
}

/** The logged form of a call's net changes; `hashes` are their sha256s when already known (null for deletes). */
export function logChanges (changes: readonly Change[], hashes?: ReadonlyArray<Uint8Array | null>): LogChange[] {
  return changes.map(([path, data], i) => {
    if (data === null) return [path, null]
    const hash = hashes?.[i] ?? createHash('sha256').update(data).digest()
    return [path, { sha256: Buffer.from(hash).toString('hex'), size: data.byteLength }]
  })
}

/** Whether logged content names these bytes (null: a delete). */
export function sameContent (logged: ContentRef | string | null, data: Uint8Array | null): boolean {
  if (logged === null || data === null) return logged === data
  if (typeof logged === 'string') return Buffer.from(logged, 'base64').equals(data)
  return logged.size === data.byteLength && createHash('sha256').update(data).digest('hex') === logged.sha256
}

/** The engine's view of a call entry, for replay. */
export function toCallRecord (entry: CallEntry): CallRecord {
  const { type, auth, changes, filesVersion, stateRoot, ...record } = entry
  return record
}

// ---- validation: strict about shape, cheap (no deep walks of args, results or oracles) ----

type Check = (v: unknown) => boolean
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const str: Check = (v) => typeof v === 'string'
const hex64: Check = (v) => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v)
const hex128: Check = (v) => typeof v === 'string' && /^[0-9a-f]{128}$/.test(v)
const count: Check = (v) => Number.isSafeInteger(v) && (v as number) >= 0
const num: Check = (v) => typeof v === 'number' && Number.isFinite(v)
const mode: Check = (v) => v === 'deterministic' || v === 'seeded'
const engine: Check = (v) => isObj(v) && v.name === 'nodevms-quickjs' && str(v.version) && hex64(v.wasmSha256)
const limits: Check = (v) => isObj(v) && num(v.gas) && num(v.memory) && num(v.timeoutMs)
const errorShape: Check = (v) => isObj(v) && str(v.name) && str(v.message)
const auth: Check = (v) => isObj(v) && (v.debug === true || (hex64(v.pubkey) && count(v.counter) && hex128(v.signature)))
const contentRef: Check = (v) => isObj(v) && hex64(v.sha256) && count(v.size)
const changes: Check = (v) => Array.isArray(v) && v.every((c) => Array.isArray(c) && c.length === 2 && str(c[0]) && (c[1] === null || str(c[1]) || contentRef(c[1])))
const optional = (check: Check): Check => (v) => v === undefined || check(v)

const runtime = { sourceHash: hex64, engine, mode, limits }
const SHAPES: Record<LogEntry['type'], Record<string, Check>> = {
  init: { version: (v) => v === 1, filename: str, source: str, ...runtime, filesKey: hex64 },
  restart: { ...runtime, filesVersion: count, stateRoot: hex64, restored: optional((v) => typeof v === 'boolean') },
  upgrade: { filename: str, source: str, ...runtime, filesVersion: count, stateRoot: hex64 },
  call: {
    method: str, args: Array.isArray, caller: (v) => v === null || str(v), oracles: Array.isArray, gas: count,
    error: optional(errorShape), time: optional(num), seed: optional(str), deadlineGas: optional(count),
    rebuilt: optional((v) => typeof v === 'boolean'), auth: optional(auth),
    changes, filesVersion: count, stateRoot: hex64
  }
}

const FIELDS = Object.fromEntries(Object.entries(SHAPES).map(([type, shape]) => [type, Object.entries(shape)])) as Record<LogEntry['type'], Array<[string, Check]>>

/** Why value cannot be the log's block at index, or null when it can. */
function problem (value: unknown, index: number): string | null {
  if (!isObj(value)) return `a JSON ${Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value}, not a log entry`
  const type = value.type
  if (typeof type !== 'string' || !Object.hasOwn(SHAPES, type)) return `JSON without a known entry type (type: ${JSON.stringify(type) ?? 'missing'})`
  if (index === 0 && type !== 'init') return `a '${type}' entry where an 'init' entry must come first`
  if (index > 0 && type === 'init') return "an 'init' entry after block 0"
  for (const [field, check] of FIELDS[type as LogEntry['type']]) {
    if (!check(value[field])) return `a '${type}' entry with a missing or malformed '${field}'`
  }
  if (type === 'call' && value.result !== undefined && value.error !== undefined) return "a 'call' entry with both 'result' and 'error'"
  return null
}

/** The index to give encodeEntry for an entry that will go after block 0 (any call, restart or upgrade). */
export const LATER_BLOCK = Number.MAX_SAFE_INTEGER

/** Encodes an entry as block `index` of a log, refusing what decode would refuse. */
export function encodeEntry (entry: LogEntry, index: number, key = 'being written'): Buffer {
  const found = problem(entry, index)
  if (found !== null) throw HostError.NOT_A_NODEVMS_LOG(key, index, found)
  return Buffer.from(JSON.stringify(entry), 'utf8')
}

/**
 * Encodes an entry the host built itself (callEntry, tooLarge): its shape is right by construction, so it is
 * not checked again. Entries from anywhere else go through encodeEntry.
 */
export function encodeOwnEntry (entry: CallEntry): Buffer {
  return Buffer.from(JSON.stringify(entry), 'utf8')
}

/** Decodes block `index` of the log with this key (hex), or throws NOT_A_NODEVMS_LOG. */
export function decodeEntry (block: Uint8Array, index: number, key = 'unknown'): LogEntry {
  let value: unknown
  try {
    value = JSON.parse(Buffer.from(block.buffer, block.byteOffset, block.byteLength).toString('utf8'))
  } catch (err) {
    throw HostError.NOT_A_NODEVMS_LOG(key, index, `not JSON (${block.byteLength} bytes)`, err)
  }
  const found = problem(value, index)
  if (found !== null) throw HostError.NOT_A_NODEVMS_LOG(key, index, found)
  return value as LogEntry
}

const READ_WINDOW = 512 // blocks read at once by read(): one storage scan, bounded memory, parallel fetches from peers

/** The call log over a Hypercore: writable on the host, read-only on a verifier. */
export class CallLog {
  readonly core: Hypercore

  constructor (core: Hypercore) {
    this.core = core
  }

  /** The core's key as hex ('' before the core is ready). */
  get key (): string { return this.core.key?.toString('hex') ?? '' }

  get length (): number { return this.core.length }

  /** Appends entries as one Hypercore append, so a group commit is durable as a whole. Returns the new length. */
  async append (entries: readonly LogEntry[]): Promise<number> {
    await this.core.ready()
    if (entries.length === 0) return this.core.length
    const start = this.core.length
    const blocks = entries.map((entry, i) => encodeEntry(entry, start + i, this.key))
    const { length } = await this.core.append(blocks)
    return length
  }

  /** Appends entries already encoded by encodeEntry (which checked them), as one Hypercore append. */
  async appendEncoded (blocks: readonly Buffer[]): Promise<number> {
    if (blocks.length === 0) return this.core.length
    const { length } = await this.core.append(blocks as Buffer[])
    return length
  }

  /** The entry at index (waits for it to replicate when the core is remote). */
  async get (index: number): Promise<LogEntry> {
    const block: Buffer | null = await this.core.get(index, { valueEncoding: 'binary' })
    if (block === null) throw HostError.NOT_A_NODEVMS_LOG(this.key, index, 'not available')
    return decodeEntry(block, index, this.key)
  }

  /** Streams entries start..end-1 in order, holding at most two windows of READ_WINDOW blocks in memory. */
  async * read (start = 0, end?: number): AsyncGenerator<LogEntry> {
    await this.core.ready()
    const stop = end ?? this.core.length
    for await (const window of readWindows(this.core, start, stop, READ_WINDOW)) {
      for (const { index, value } of window) {
        if (value === null) throw HostError.NOT_A_NODEVMS_LOG(this.key, index, 'not available')
        yield decodeEntry(value, index, this.key)
      }
    }
  }
}
