// The oracle tape of one call: live, it records each outcome; in a replay, it plays them back and
// notices when the script asks for more, or fewer, than were recorded.
import type { QuickJSHandle } from 'quickjs-emscripten'
import type { Meter } from './meter.js'
import type { ScriptRuntime } from './script-runtime.js'
import type { OracleOutcome } from './types.js'

/**
 * A call's oracle values together may take this many bytes of JSON. A value past it is recorded as an
 * OracleValueTooLargeError instead (the script's System.oracle rejects with it), so a call's log entry
 * always has room for its oracles (the host's entries hold at most 15 MiB).
 */
export const MAX_ORACLE_BYTES = 4 * 1024 * 1024

/** Recorded for an oracle whose fn was cut short by the deadline: a replay stops there too. */
export const INTERRUPTED_OUTCOME = { error: { name: 'DeadlineExceededError', message: 'the deadline fired inside this oracle fn' } }

const UNREADABLE_OUTCOME = { error: { name: 'TypeError', message: 'the outcome of the oracle fn could not be read' } }

/** {value} or {error: {name, message}} with string name and message; null for anything else. */
function readOutcome (json: string): OracleOutcome | null {
  let o: unknown
  try { o = JSON.parse(json) } catch { return null }
  if (o === null || typeof o !== 'object' || Array.isArray(o)) return null
  const keys = Object.keys(o)
  if (keys.length !== 1) return null
  if (keys[0] === 'value') return o as OracleOutcome
  const error = (o as { error?: unknown }).error
  if (keys[0] !== 'error' || error === null || typeof error !== 'object') return null
  const { name, message } = error as { name?: unknown, message?: unknown }
  return typeof name === 'string' && typeof message === 'string' && Object.keys(error).length === 2 ? o as OracleOutcome : null
}

export class OracleTape {
  readonly recorded: OracleOutcome[] = []
  private readonly replaying: OracleOutcome[] | null
  private next = 0
  /** Set when a replay asked for an oracle that was never recorded. */
  overrun = false
  private bytes = 0

  constructor (replaying: unknown[] | null) {
    this.replaying = replaying as OracleOutcome[] | null
  }

  get isReplay (): boolean { return this.replaying !== null }

  /** The recorded outcome's JSON text for the next oracle, or undefined when it must run live. */
  playback (): string | undefined {
    if (this.replaying === null) return undefined
    const outcome = this.replaying[this.next++]
    if (this.next > this.replaying.length) {
      // Recorded too, so the replay's record shows how many oracles the script asked for.
      this.overrun = true
      const missing = { error: { name: 'ReplayDivergenceError', message: `the replay asked for oracle #${this.next - 1}, but the log recorded only ${this.replaying.length}` } }
      this.recorded.push(missing)
      return JSON.stringify(missing)
    }
    this.recorded.push(outcome)
    // A recorded outcome of the wrong shape (a tampered log) reaches the guest as an error.
    const json = JSON.stringify(outcome) ?? 'null'
    return readOutcome(json) === null ? JSON.stringify(UNREADABLE_OUTCOME) : json
  }

  /** Records a live outcome from the prelude's JSON; what it returns is what the guest is given. */
  record (json: string): string {
    const outcome = readOutcome(json)
    if (outcome !== null) {
      this.recorded.push(outcome)
      return json
    }
    this.recorded.push(UNREADABLE_OUTCOME)
    return JSON.stringify(UNREADABLE_OUTCOME)
  }

  /** A live outcome as it may be recorded: itself, or an error once the call's oracle values pass MAX_ORACLE_BYTES. */
  bounded (json: string): string {
    const bytes = Buffer.byteLength(json)
    if (this.bytes + bytes <= MAX_ORACLE_BYTES) {
      this.bytes += bytes
      return json
    }
    return JSON.stringify({
      error: {
        name: 'OracleValueTooLargeError',
        message: `System.oracle: this value takes ${bytes} bytes of JSON, and one call's oracle values may take ${MAX_ORACLE_BYTES} in all, ` +
          'so it was not recorded. Return less from the oracle; large data belongs in System.files.'
      }
    })
  }

  /** Oracles recorded but not asked for by the replay. */
  get unused (): number {
    return this.replaying === null ? 0 : Math.max(0, this.replaying.length - this.next)
  }

  isInterrupted (index: number): boolean {
    const o = this.recorded[index] as { error?: { name: string, message: string } } | undefined
    return o?.error?.name === INTERRUPTED_OUTCOME.error.name && o.error.message === INTERRUPTED_OUTCOME.error.message
  }
}

/**
 * The host side of System.oracle(fn). Live: runs fn with gas paused and the interrupt counter saved
 * (so the call's gas does not depend on fn), and records the outcome. Replay: plays the recorded
 * outcome back and fn does not run. '!interrupt' tells the prelude to stop at its next poll.
 */
export function playOracle (tape: OracleTape, meter: Meter, runtime: ScriptRuntime, fn: QuickJSHandle): string {
  const recorded = tape.playback()
  if (recorded !== undefined) {
    if (!tape.isInterrupted(tape.recorded.length - 1)) return recorded
    meter.stop('deadline', true)
    return '!interrupt'
  }
  const { ctx } = runtime
  const saved = runtime.counter.get()
  meter.inOracle = true
  const ran = ctx.callFunction(runtime.runOracle, ctx.undefined, fn)
  meter.inOracle = false
  runtime.counter.set(saved)
  if (ran.error) {
    // runOracle catches everything fn throws: only the deadline interrupts it.
    ran.error.dispose()
    tape.record(JSON.stringify(INTERRUPTED_OUTCOME))
    meter.stop('deadline', true)
    return '!interrupt'
  }
  const json = tape.bounded(ctx.typeof(ran.value) === 'string' ? ctx.getString(ran.value) : '')
  ran.value.dispose()
  return tape.record(json)
}
