// The oracle tape of one call: live, it records each outcome; in a replay, it plays them back and
// notices when the script asks for more, or fewer, than were recorded.
import type { OracleOutcome } from './types.js'

/** Recorded for an oracle whose fn was cut short by the deadline: a replay stops there too. */
export const INTERRUPTED_OUTCOME = { error: { name: 'DeadlineExceededError', message: 'the deadline fired inside this oracle fn' } }

export class OracleTape {
  readonly recorded: OracleOutcome[] = []
  private readonly replaying: OracleOutcome[] | null
  private next = 0
  /** Set when a replay asked for an oracle that was never recorded. */
  overrun = false

  constructor (replaying: unknown[] | null) {
    this.replaying = replaying as OracleOutcome[] | null
  }

  get isReplay (): boolean { return this.replaying !== null }

  /** The recorded outcome's JSON text for the next oracle, or undefined when it must run live. */
  playback (): string | undefined {
    if (this.replaying === null) return undefined
    const outcome = this.replaying[this.next++]
    if (outcome === undefined) {
      this.overrun = true
      return JSON.stringify({ error: { name: 'ReplayDivergenceError', message: `the replay asked for oracle #${this.next - 1}, but the log recorded only ${this.replaying.length}` } })
    }
    this.recorded.push(outcome)
    return JSON.stringify(outcome)
  }

  record (json: string): void {
    this.recorded.push(JSON.parse(json) as OracleOutcome)
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
