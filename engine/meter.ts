// Gas and the wall-clock deadline. Gas counts QuickJS interrupt polls, which depend only on the code
// run, so a call uses the same gas everywhere. Polls inside a live oracle's fn are not counted, and
// the deadline is recorded by the gas position where it fired, so a replay stops at the same place.

/** 'fault': the files archive failed, and the call's remaining jobs are being run out. */
export type StopReason = 'gas' | 'deadline' | 'fault'

export class Meter {
  gas = 0
  stopped: StopReason | null = null
  /** True while a live oracle fn runs: polls then cost nothing. */
  inOracle = false
  /** Set when the deadline fired inside a live oracle fn. */
  stoppedInOracle = false
  private limit = Infinity
  private deadline = Infinity
  private replayStopAt: number | undefined

  /** Starts a call. Live calls get a wall-clock deadline; replays stop where the record says. */
  start (limit: number, timeoutMs: number | undefined, replayStopAt: number | undefined): void {
    this.gas = 0
    this.stopped = null
    this.inOracle = false
    this.stoppedInOracle = false
    this.limit = limit
    this.replayStopAt = replayStopAt
    this.deadline = replayStopAt === undefined && timeoutMs !== undefined ? Date.now() + timeoutMs : Infinity
  }

  /** Forces every poll from now on to interrupt. */
  stop (reason: StopReason, inOracle = false): void {
    this.stopped = reason
    this.stoppedInOracle = inOracle
  }

  /** The interrupt handler: true interrupts the running code. */
  poll (): boolean {
    if (this.stopped !== null) return true
    if (this.inOracle) {
      if (Date.now() <= this.deadline) return false
      this.stoppedInOracle = true
      this.stopped = 'deadline'
      return true
    }
    this.gas++
    if (this.replayStopAt !== undefined && this.gas >= this.replayStopAt) this.stopped = 'deadline'
    else if (this.gas > this.limit) this.stopped = 'gas'
    else if (Date.now() > this.deadline) this.stopped = 'deadline'
    return this.stopped !== null
  }
}
