// What a serving host (exec, dev) says: its start lines on stdout; on stderr, one short line per call, which
// --quiet turns off, and one line per lifecycle event (how it started, a recovery, a call that hit a limit,
// the shutdown), which stays.
//   call #12 increment() by anonymous: ok in 3 ms
//   call #13 add() by key 3f9a1c2e…: TypeError in 2 ms
//   limit: call #14 bomb() by anonymous ran out of memory (OutOfMemoryError); the script's memory is as it was before the call
import { CallErrorName } from '../engine/index.js'
import type { CallEntry, Host, LoggedCall, RestoreReport } from '../host/index.js'
import { callerLabel, dim, red } from './output.js'

/** The four lines a serving host prints on stdout when it starts, in CONTRACT §4's order. */
export function servingLines (address: string, host: { dir: string, filesKey: string, callLogKey: string }): string {
  return `Serving at ${address}\nServing directory ${host.dir}\nFiles:    dat://${host.filesKey}\nCall log: dat://${host.callLogKey}\n`
}

export interface HostLinesOptions {
  /** No line per call (lifecycle lines stay). */
  quiet?: boolean
  write?: (line: string) => void
}

/** Who made a call, as the log records it: a signed key (its first 8 hex), a debug name, or anonymous. */
export function callerOf (entry: Pick<CallEntry, 'caller' | 'auth'>): string {
  return callerLabel(entry.auth !== undefined && 'pubkey' in entry.auth ? entry.auth.pubkey : null, entry.caller)
}

// The host's ENTRY_TOO_LARGE, typed from it but not imported at run time (help should not load Hypercore).
const ENTRY_TOO_LARGE: typeof import('../host/index.js').ENTRY_TOO_LARGE = 'EntryTooLargeError'

const LIMITS: Record<string, string> = {
  [CallErrorName.OUT_OF_MEMORY]: 'ran out of memory',
  [CallErrorName.GAS_EXHAUSTED]: 'ran out of gas',
  [CallErrorName.DEADLINE_EXCEEDED]: 'ran past its deadline',
  [ENTRY_TOO_LARGE]: 'made a log entry too large to keep'
}

/** One sentence on how the script's memory was restored. */
function describeRestore (r: RestoreReport): string {
  const from = r.checkpoint === null ? 'the log' : `a checkpoint at entry ${r.checkpoint}`
  const calls = r.replayed === 1 ? '1 call' : `${r.replayed} calls`
  return `The script's memory was restored from ${from}: replayed ${calls} in ${(r.ms / 1000).toFixed(2)} s${r.skipped > 0 ? ` (skipped ${r.skipped} that had no effect)` : ''}.`
}

/** The lines one host prints; hand onCall, onRefused and warn to the Host and its service. */
export class HostLines {
  private readonly quiet: boolean
  private readonly write: (line: string) => void
  private calls = 0
  /** The log's length as far as these lines know: after the lifecycle entry, then after each call. */
  private logLength = 0

  constructor (opts: HostLinesOptions = {}) {
    this.quiet = opts.quiet === true
    this.write = opts.write ?? toStderr
  }

  readonly onCall = ({ index, entry, ms }: LoggedCall): void => {
    this.calls++
    this.logLength = Math.max(this.logLength, index + 1)
    const call = `call #${index} ${entry.method}() by ${callerOf(entry)}`
    const limit = entry.error === undefined ? undefined : LIMITS[entry.error.name]
    if (limit !== undefined) {
      // The engine puts the script's memory back after a limit hit; an entry too large leaves the files alone.
      const after = entry.error!.name === ENTRY_TOO_LARGE ? '; it had no effect on the files' : '; the script\'s memory is as it was before the call'
      this.write(`${red('limit:')} ${call} ${limit} (${entry.error!.name})${after}`)
      return
    }
    if (this.quiet) return
    this.write(dim(`${call}: ${entry.error === undefined ? 'ok' : entry.error.name} in ${ms} ms`))
  }

  readonly onRefused = (method: string, err: Error): void => {
    if (this.quiet) return
    this.write(dim(`call ${method}() not run: ${(err as { code?: string }).code ?? err.name}: ${err.message}`))
  }

  readonly warn = (message: string): void => {
    this.write(`${red('warning:')} ${message}`)
  }

  /**
   * How the host started: a new log, a restart (its memory restored, or empty with --fresh), or an upgrade
   * (the entry it just logged is the last).
   */
  started (host: Host, filename: string, asked: { fresh?: boolean, upgrade?: boolean } = {}): void {
    this.logLength = host.log.length
    const index = this.logLength - 1
    if (host.report.created) this.write(`Started a new call log: entry #${index} (init) holds ${filename}.`)
    else if (host.report.upgraded) {
      this.write(`Upgraded: ${filename} differs from the script in the log; entry #${index} (upgrade) holds the new source.`)
      this.write('The new script starts with empty memory; the files are as they were.')
    }
    else {
      this.write(`Restarted on the existing call log: entry #${index} (restart).`)
      const restored = host.report.restored
      this.write(restored !== null ? describeRestore(restored) : `The script starts with empty memory${asked.fresh === true ? ' (--fresh)' : ''}; the restart entry says so, and the files are as they were.`)
    }
    if (asked.upgrade === true && !host.report.created && !host.report.upgraded) this.write(`--upgrade: ${filename} is the script the log already runs, so this is a plain restart.`)
  }

  /** dev: the script was saved and runs again on a fresh log. */
  reloaded (host: Host, filename: string): void {
    this.logLength = host.log.length
    this.write(`Reloaded ${filename}: a fresh call log dat://${host.callLogKey}; methods: ${host.methods.join(', ') || '(none)'}.`)
  }

  /** The last line: what this run served. */
  closed (): void {
    const plural = (n: number, word: string, words: string) => `${n} ${n === 1 ? word : words}`
    this.write(`Closed: ${plural(this.calls, 'call', 'calls')} logged in this run; the call log has ${plural(this.logLength, 'entry', 'entries')}.`)
  }
}

/** Lines waiting for writeLines(): the stderr lines of every HostLines in this process, in order. */
let waiting: string[] = []

function writeLines (): void {
  if (waiting.length === 0) return
  const text = waiting.join('\n') + '\n'
  waiting = []
  process.stderr.write(text)
}

/**
 * A line to stderr, written with the others once the current turn of the event loop ends (or at exit): a busy
 * host writes a line per call, and one write per group of calls costs far less than one per line.
 */
function toStderr (line: string): void {
  if (waiting.push(line) > 1) return
  setImmediate(writeLines)
  if (process.listeners('exit').includes(writeLines)) return
  process.once('exit', writeLines)
}
