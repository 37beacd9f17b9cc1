// The data that crosses the engine's public boundary. See CONTRACT §3.

/** One executed call: everything a replay needs to reproduce it, and everything it must reproduce. */
export interface CallRecord {
  method: string
  args: unknown[]
  caller: string | null
  /** Present when the call returned (undefined results are recorded as null). */
  result?: unknown
  /** Present when the call threw: the error's name and message. */
  error?: { name: string, message: string }
  /** Recorded oracle outcomes, in the order the script asked for them. */
  oracles: OracleOutcome[]
  /** Interrupt polls counted during the call (oracle fns excluded). Deterministic. */
  gas: number
  /** Seeded mode only: the frozen time (ms since epoch) and the alea seed. */
  time?: number
  seed?: string
  /**
   * Set when the wall-clock deadline fired: the gas position at which the call was interrupted,
   * so that a replay interrupts at the same position.
   */
  deadlineGas?: number
  /** Set when QuickJS could not continue (out of memory) and the runtime was rebuilt after this call. */
  rebuilt?: boolean
}

/** An oracle outcome: the JSON value fn returned, or the error it threw. */
export type OracleOutcome = { value: unknown } | { error: { name: string, message: string } }

export interface EngineOptions {
  filename?: string
  /** The files archive behind System.files. Default: a new MemoryFiles(). */
  files?: Files
  seeded?: boolean
  /** Interrupt polls allowed per call. */
  gasLimit?: number
  /** Bytes of QuickJS heap. */
  memoryLimit?: number
  /** Wall-clock safety net per call, in ms. Its firing is recorded by gas position. */
  timeoutMs?: number
}

export interface CallOptions {
  caller?: string | null
  /** Reuse this record's oracles, time and seed (and deadline position) instead of live ones. */
  replay?: CallRecord
}

export interface Engine {
  readonly methods: string[]
  call (method: string, args?: unknown[], options?: CallOptions): Promise<CallRecord>
  close (): Promise<void>
}

export interface Divergence {
  index: number
  field: string
  expected: unknown
  actual: unknown
}

export interface ReplayResult {
  ok: boolean
  divergence?: Divergence
}

/**
 * The storage behind System.files: a flat map from absolute, normalised paths ('/a/b.txt') to bytes.
 * Directory semantics (stat, readdir, mkdir, rmdir) are implemented once, by the engine, on top of this.
 * Paths given to a Files are already validated: they start with '/', have no '.', '..' or empty
 * segments, no NUL, and no trailing '/'.
 */
export interface Files {
  /** The file's bytes, or null when there is no file at path. */
  get (path: string): Promise<Uint8Array | null>
  put (path: string, data: Uint8Array): Promise<void>
  /** Removes the file at path; a no-op when there is none. */
  del (path: string): Promise<void>
  /** Every file path strictly below dir ('/' for all), sorted by code unit. */
  list (dir: string): Promise<string[]>
}
