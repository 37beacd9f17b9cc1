// The host's one error class. Each error has a stable `code` and a message that says what to do next.
// Add a static factory per code (hypercore-errors style): throw HostError.DIR_LOCKED(dir).
// The client's errors are in client/errors.ts.
import { AUTH_RPC_CODES } from '../client/wire.js'

/** A byte count as the messages give it. */
export const mib = (bytes: number): string => `${(bytes / 1048576).toFixed(2)} MiB`

export class HostError extends Error {
  readonly code: string
  rpcCode?: number   // when set, the RPC server answers with this JSON-RPC error code (host/rpc)
  data?: unknown     // and this JSON-RPC error `data`
  constructor (message: string, code: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'HostError'
    this.code = code
  }

  static QUEUE_FULL (bound: number): HostError {
    return new HostError(`The call queue is full (${bound} calls waiting): try again shortly.`, 'QUEUE_FULL')
  }

  static LISTEN_FAILED (host: string, port: number, cause: unknown): HostError {
    const why = (cause as { code?: string })?.code === 'EADDRINUSE' ? 'the port is already in use' : String((cause as Error)?.message ?? cause)
    return new HostError(`Cannot listen on ${host}:${port}: ${why}. Choose another --port (0 picks a free one).`, 'LISTEN_FAILED', { cause })
  }

  static HOST_CLOSING (): HostError {
    return new HostError('The host is shutting down: try again once it is back.', 'HOST_CLOSING')
  }

  static DIR_LOCKED (dir: string, cause?: unknown): HostError {
    return new HostError(`The directory ${dir} is in use by another nodevms process. Stop that process, or choose another --dir.`, 'DIR_LOCKED', { cause })
  }

  static INVALID_PARAMS (detail: string): HostError {
    const err = new HostError(detail, 'INVALID_PARAMS')
    err.rpcCode = -32602
    err.data = detail
    return err
  }

  static DIR_UNUSABLE (dir: string, cause: unknown): HostError {
    return new HostError(`Cannot use ${dir} as the host directory: ${String((cause as Error)?.message ?? cause)}. Check its permissions, or choose another --dir.`, 'DIR_UNUSABLE', { cause })
  }

  // ---- the store on disk (host/host-store.ts, host/acknowledged.ts, host/commit.ts) ----

  /** Damage found in the store: part names it ('the write-ahead log'), files are relative to dir. */
  static STORE_DAMAGED (dir: string, damage: { part: string, files: string[], detail: string }, cause?: unknown): HostError {
    const files = damage.files.length > 0 ? ` (${damage.files.join(', ')})` : ''
    return storeRefusal(`The store in ${dir} is damaged: ${damage.part}${files} cannot be read: ${damage.detail}.`, damage, cause)
  }

  /** The store holds less than the acknowledged record says the host acknowledged. */
  static STORE_BEHIND (dir: string, detail: string, logs: string[]): HostError {
    const part = 'the write-ahead log'
    return storeRefusal(`The store in ${dir} holds less than its host acknowledged: ${detail}. RocksDB dropped acknowledged writes: ` +
      `its write-ahead log${logs.length > 0 ? ` (${logs.join(', ')})` : ''} was truncated, damaged or removed, or the store is an older copy than its ACKNOWLEDGED record.`, { part, files: logs }, undefined)
  }

  static STORE_FAILED (dir: string, cause: unknown): HostError {
    return new HostError(`The store in ${dir} failed: ${String((cause as Error)?.message ?? cause)}. The host stopped taking calls; ` +
      'restart it to continue from the log.', 'STORE_FAILED', { cause })
  }

  static DISK_FULL (dir: string, freeBytes: number, cause?: unknown): HostError {
    const free = Number.isFinite(freeBytes) ? ` (${Math.floor(freeBytes / 1024)} KiB free)` : ''
    return new HostError(`The disk holding ${dir} is full${free}: free some space there. Nothing acknowledged was lost.`, 'DISK_FULL', { cause })
  }

  static DIR_COPIED (dir: string, cause?: unknown): HostError {
    return new HostError(`${dir} is a copy of a host directory, or was restored or moved to another disk (its CORESTORE file says so). ` +
      'A host never writes to a copy: two hosts writing copies of one log would fork it. Verify the copy with nodevms verify --dir, ' +
      'or run exec on the original directory.', 'DIR_COPIED', { cause })
  }

  static DIR_NOT_NODEVMS (dir: string): HostError {
    return new HostError(`${dir} is not empty and holds no nodevms corestore. Refusing to write into it: choose an empty or new --dir.`, 'DIR_NOT_NODEVMS')
  }

  static LOG_CORRUPT (key: string, detail: string, cause?: unknown): HostError {
    return new HostError(`The call log ${key} in this directory is corrupt: ${detail}. Nothing was changed; keep the directory for inspection and run nodevms verify --dir on a copy.`, 'LOG_CORRUPT', { cause })
  }

  static SCRIPT_CHANGED (dir: string, filename: string, logged: string, given: string): HostError {
    const err = new HostError(`${filename} (sha256 ${given}) is not the script the call log at ${dir} runs (sha256 ${logged}). ` +
      'To run it on this log, start again with --upgrade: an upgrade entry is logged, the new script starts with empty memory and keeps the files. ' +
      'To run it on its own, choose another --dir.', 'SCRIPT_CHANGED')
    err.data = { logged, given }
    return err
  }

  // ---- the script's memory (host/script-memory.ts, host/restore.ts) ----

  /** A replayed call did not end as its entry says: the log is damaged or foreign, and nothing is served from it. */
  static RESTORE_DIVERGED (index: number, method: string, field: string, logged: unknown, replayed: unknown): HostError {
    const show = (v: unknown) => { const text = JSON.stringify(v) ?? 'nothing'; return text.length > 200 ? text.slice(0, 200) + '…' : text }
    const err = new HostError(`Cannot restore the script's memory: replaying entry ${index} (${method}) gives another ${field} than the call log records ` +
      `(log: ${show(logged)}; replay: ${show(replayed)}). The log was not written by this script and engine, or it is damaged, and nodevms ` +
      'will not serve memory the log does not explain. Start with --fresh to serve with empty memory (the files stay), and run nodevms verify --dir on a copy of the directory to see what differs.', 'RESTORE_DIVERGED')
    err.data = { index, method, field, logged, replayed }
    return err
  }

  /** A restore under other limits or another mode than the memory was built with. */
  static LIMITS_CHANGED (dir: string, logged: string, given: string): HostError {
    return new HostError(`The script's memory in ${dir} was built under ${logged}; this start asks for ${given}. Memory is restored by replaying ` +
      'its calls, which must run under the limits they ran under. Start with the same limits to restore it, or with --fresh to start with ' +
      'empty memory under the new ones (the files stay).', 'LIMITS_CHANGED')
  }

  static NOT_A_NODEVMS_LOG (key: string, index: number, found: string, cause?: unknown): HostError {
    return new HostError(`Block ${index} of core ${key} is ${found}: this key is not a nodevms call log. Check the dat:// key you gave for the call log.`, 'NOT_A_NODEVMS_LOG', { cause })
  }

  static FILES_READ_ONLY (path: string): HostError {
    return new HostError(`Cannot change ${path}: this files archive is a read-only checkout.`, 'FILES_READ_ONLY')
  }

  /** Refused before it ran (-32012 over RPC), so it has no effect and no log entry. */
  static ARGS_TOO_LARGE (method: string, bytes: number, limit: number): HostError {
    return new HostError(`The arguments of ${method} take ${mib(bytes)} of JSON, more than the ${mib(limit)} a call may carry. ` +
      'The call was not run. Send less per call; large data belongs in System.files.', 'ARGS_TOO_LARGE')
  }

  static BATCH_TOO_LARGE (bytes: number, limit: number): HostError {
    return new HostError(`The replies to this batch's earlier calls already take ${mib(bytes)}, and one batch reply carries at most ${mib(limit)}: ` +
      'this call was not run. Send it again, in another message.', 'BATCH_TOO_LARGE')
  }

  static SLOW_READER (unread: number, limit: number): HostError {
    return new HostError(`This connection has ${mib(unread)} of replies it has not read (at most ${mib(limit)} may wait): this call was not run. ` +
      'Read the replies before sending more calls.', 'SLOW_READER')
  }

  static FILES_BEHIND_LOG (filesVersion: number, path: string, sha256: string): HostError {
    return new HostError(`The call log names content for ${path} (sha256 ${sha256.slice(0, 16)}…, at files version ${filesVersion}) that the files archive does not hold: ` +
      'the store lost writes the log kept. Nothing was changed; restore the directory from a backup, or verify the log from a mirror.', 'FILES_BEHIND_LOG')
  }

  static FILES_VERSION_MISMATCH (expected: number, actual: number): HostError {
    return new HostError(`The files archive reached version ${actual} where the call log predicted ${expected}. Something else wrote to the archive; stop the host and run nodevms verify --dir.`, 'FILES_VERSION_MISMATCH')
  }

  /** A script that exports names no script may (client/method-names.ts): refused at load, before anything is logged. */
  static RESERVED_METHODS (filename: string, names: ReadonlyArray<{ name: string, reason: string }>): HostError {
    const each = names.map(({ name, reason }) => `${JSON.stringify(name)}: ${reason}`).join('; ')
    return new HostError(`${filename} exports ${names.length === 1 ? 'a method name' : 'method names'} no script may export (${each}). ` +
      'Rename the export; nothing was logged.', 'RESERVED_METHODS')
  }

  static HOST_NOT_READY (): HostError {
    return new HostError('The host is not open: await host.ready() before calling it.', 'HOST_NOT_READY')
  }

  // ---- signed-call refusals (host/rpc): answered with their own JSON-RPC code, never run, never logged ----

  /** -32001: a malformed "auth", or a signature that does not cover this call to this log. */
  static BAD_SIGNATURE (detail: string): HostError {
    return refusal(`Refused a signed call: ${detail}. The call was not run.`, 'BAD_SIGNATURE')
  }

  /** -32002: the counter is not above the last one accepted for this key (a replay, or a stale client). */
  static STALE_COUNTER (pubkey: string, counter: number, last: number): HostError {
    return refusal(`Refused a signed call: counter ${counter} of ${pubkey} is not above ${last}, the last one this host accepted ` +
      '(a replayed call?). Sign it again with a greater counter; the call was not run.', 'STALE_COUNTER', { last })
  }

  /** -32003: an unsigned call to a host run with --no-anonymous. */
  static ANONYMOUS_REFUSED (method: string): HostError {
    return refusal(`Refused an unsigned call to ${method}(): this host runs with --no-anonymous and takes only signed calls. ` +
      'Connect with an identity (connect(url, { identity }), or --identity FILE; see nodevms id).', 'ANONYMOUS_REFUSED')
  }

  // ---- the network (host/rpc) ----

  /** An --allow-origin value that is not a list of origins. */
  static BAD_ORIGIN (value: string, why: string): HostError {
    return new HostError(`Cannot use ${JSON.stringify(value)} as --allow-origin: ${why}. Give comma-separated origins ` +
      '(scheme://host[:port], the port may be *), e.g. https://app.example.com,http://localhost:*, or * alone for any page.', 'BAD_ORIGIN')
  }

  // ---- the Dat network (host/swarm) ----

  static SWARM_NO_BOOTSTRAP (): HostError {
    return new HostError('Refusing to start a Hyperswarm without bootstrap nodes: nodevms never joins the public DHT by default. ' +
      'Pass --bootstrap HOST:PORT[,...] (a private DHT, or the public one named explicitly).', 'SWARM_NO_BOOTSTRAP')
  }

  static NO_PEERS (key: string, ms: number, bootstrap: ReadonlyArray<{ host: string, port: number }>): HostError {
    const via = bootstrap.map((n) => `${n.host}:${n.port}`).join(',')
    return new HostError(`No peer serving dat://${key} was found within ${(ms / 1000).toFixed(1)} s on the DHT at ${via}. ` +
      'Is a host (exec --swarm) or a mirror (seed) for this key running on that DHT? Raise --timeout to wait longer.', 'NO_PEERS')
  }

  // ---- verify (host/verify) ----

  static BAD_KEY (what: string, input: string): HostError {
    return new HostError(`Cannot read ${JSON.stringify(input)} as a ${what} key: give dat://<64 hex>, hyper://<52 z32> or the 64 hex characters.`, 'BAD_KEY')
  }

  static KEY_MISMATCH (what: string, given: string, served: string): HostError {
    const err = new HostError(`The host serves ${what} dat://${served}, not dat://${given} as given: this is not the ${what} you asked to verify.`, 'KEY_MISMATCH')
    err.data = { what, given, served }
    return err
  }

  static NOT_A_NODEVMS_HOST (url: string, missing: string): HostError {
    return new HostError(`${url} answered the handshake without ${missing}: it is not a nodevms host, or one too old to verify.`, 'NOT_A_NODEVMS_HOST')
  }

  static HISTORY_REWRITTEN (key: string, verifiedLength: number, detail: string): HostError {
    const err = new HostError(`The host rewrote the history of call log dat://${key}: this store verified its first ${verifiedLength} entries before, and now ${detail}. A host must never truncate or fork its log.`, 'HISTORY_REWRITTEN')
    err.data = { key, verifiedLength, detail }
    return err
  }

  // ---- verify's bulk fetch (host/verify, the block endpoint) ----

  /**
   * A core the host served fails a check Hypercore makes: a block that does not hash to the signed tree, a tree
   * not signed by the core's key, a tree that no longer extends the one signed before. `field` names it for
   * verify's divergence (log.blocks, log.signature, log.history; files.… for the archive's cores).
   */
  static BLOCKS_REFUSED (what: string, field: string, expected: unknown, actual: unknown, detail: string): HostError {
    const err = new HostError(`The host served ${what} that its key did not sign: ${detail}. Verify refuses it: no entry from this host can be trusted.`, 'BLOCKS_REFUSED')
    err.data = { field, expected, actual }
    return err
  }

  /** A reply on the block endpoint that breaks its protocol: malformed, oversized, out of order, or refused. */
  static BAD_FRAME (what: string, detail: string): HostError {
    return new HostError(`The host broke the block protocol while serving ${what}: ${detail}. Verify stops. ` +
      'To tell a broken host from a lying one, verify again with --store DIR (Hypercore replication).', 'BAD_FRAME')
  }

  /** Block requests outstanding and no reply for too long: never a hang. */
  static HOST_SILENT (what: string, ms: number): HostError {
    return new HostError(`The host stopped answering block requests for ${what}: no reply in ${(ms / 1000).toFixed(0)} s. ` +
      'Check that it is still up, then verify again (--timeout raises the wait).', 'HOST_SILENT')
  }

  static HOST_RUNNING (dir: string, cause?: unknown): HostError {
    return new HostError(`A running nodevms host holds ${dir}: stop it before verify --dir, or verify it live with nodevms verify <url>.`, 'HOST_RUNNING', { cause })
  }

  static NOT_A_HOST_DIR (dir: string, why: string): HostError {
    return new HostError(`${dir} is not a nodevms host directory: ${why}.`, 'NOT_A_HOST_DIR')
  }
}

function refusal (message: string, code: keyof typeof AUTH_RPC_CODES, data?: unknown): HostError {
  const err = new HostError(message, code)
  err.rpcCode = AUTH_RPC_CODES[code]
  if (data !== undefined) err.data = data
  return err
}

/** A refusal to use a damaged store, with what to do about it. */
function storeRefusal (what: string, damage: { part: string, files: string[] }, cause: unknown): HostError {
  const err = new HostError(`${what} nodevms refuses to use it, so that no acknowledged call is lost or signed again. ` +
    'Keep the directory as it is, and restore it from a backup, or verify the log from a mirror (nodevms verify dat://<call log key>).', 'STORE_DAMAGED', { cause })
  err.data = { part: damage.part, files: damage.files }
  return err
}
