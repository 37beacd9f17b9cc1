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
   * Set when the wall-clock deadline fired: the gas position at which the call was interrupted.
   * The call has no effect on the engine's memory either way; a replay stops at the same position.
   */
  deadlineGas?: number
  /**
   * Set by engines before 1.1.0 when the runtime was rebuilt with empty memory after the call ran out
   * of memory. This engine never sets it: a call that hits a limit is rolled back (CONTRACT §7).
   */
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
  /**
   * Wall-clock safety net per call, in ms. When it fires the call fails with DeadlineExceededError,
   * is recorded by its gas position, and has no effect on the engine's memory.
   */
  timeoutMs?: number
  /**
   * Start from a checkpoint (Engine.checkpoint()) instead of running the script's top level. It must
   * come from the same engine build, script and options; otherwise createEngine() rejects with
   * EngineError CHECKPOINT_REFUSED, and the caller replays the calls instead.
   */
  checkpoint?: Uint8Array
}

export interface CallOptions {
  caller?: string | null
  /** Reuse this record's oracles, time and seed (and deadline position) instead of live ones. */
  replay?: CallRecord
  /** The Files this call's System.files requests go to, instead of the engine's (createEngine's `files`). */
  files?: Files
  /**
   * Called with the call's record as soon as it is known: before the call's promise resolves, and before
   * any file request of a later call is served. Calls made back to back run as one batch in the engine;
   * this lets their caller act on each outcome in order (e.g. give the next call the files this one left)
   * without waiting for one call before making the next.
   */
  ended?: (record: CallRecord) => void
}

export interface Engine {
  readonly methods: string[]
  /**
   * Runs one call, after the ones before it. Never rejects for a script error: see CallRecord.error.
   * A call that ends in GasExhaustedError, OutOfMemoryError, DeadlineExceededError or EngineFaultError
   * has no effect on the engine's memory: the next call sees the memory the call before it left.
   */
  call (method: string, args?: unknown[], options?: CallOptions): Promise<CallRecord>
  /** The engine's state after the calls made so far, as bytes for createEngine({ checkpoint }). */
  checkpoint (): Promise<Uint8Array>
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
  /**
   * Set on a Files that is one call's view of a shared archive (a transaction over it). Calls run together
   * keep what the engine knows of the files from one call to the next only while their Files are the same
   * object or views of the same archive, each given the changes of the calls before it (see `ended`).
   */
  readonly viewOf?: Files
}
