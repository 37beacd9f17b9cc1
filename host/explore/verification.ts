// Verifying as the log grows: one LogVerifier advances over the entries as they arrive, and each time it
// has caught up with the log the archive is checked at that point, as `verify` does at its end.
//
// The log and the files replicate as separate cores, so for a moment the archive can be ahead of the log
// (a live host's newest call): a difference in the archive counts only once it has lasted `confirmMs`
// with the log unchanged. A difference at an entry is final: the verifier stays at that entry.
import type Hyperdrive from 'hyperdrive'
import type { CallLog } from '../index.js'
import { LogVerifier, type VerifyDivergence, type VerifyReport } from '../verify/index.js'
import type { Verdict } from './page/wire.js'
import { Wakeup } from './wakeup.js'

export interface VerificationOptions {
  allowEngineMismatch?: boolean
  /** How long a difference in the archive must last before it is the verdict (default 1500 ms). */
  confirmMs?: number
  /** How often to look for a longer log when nothing says it grew (default 1000 ms). */
  pollMs?: number
}

const RETRY_MS = 2000
const CLOSED = new Error('the explorer is closing')

export class Verification {
  /** Entries checked and found right. */
  verified = 0
  /** The first difference, once it is final. */
  divergence: VerifyDivergence | null = null
  /** The verifier's report after its last pass. */
  report: VerifyReport | null = null
  /** Why verification stopped (a log that is no nodevms log) or failed and is retried; null when all is well. */
  problem: string | null = null
  private archiveCheckedAt = -1
  private suspect: { key: string, since: number, length: number } | null = null
  private verifier: LogVerifier | null = null
  private readonly wake = new Wakeup()
  private running: Promise<void> | null = null
  private closed = false

  constructor (private readonly log: CallLog, private readonly drive: Hyperdrive, private readonly options: VerificationOptions = {}) {}

  /** ok once every entry and the archive after the last one are checked; mismatch once a difference is final. */
  get verdict (): Verdict {
    if (this.divergence !== null) return 'mismatch'
    const length = this.log.length
    return this.archiveCheckedAt === length && this.verified === length ? 'ok' : 'pending'
  }

  start (): void {
    this.running ??= this.run()
  }

  /** Something changed (the log grew, files arrived): look again now. */
  poke (): void {
    this.wake.poke()
  }

  /**
   * The host truncated (or forked) the log it served: a host never rewrites a log others replicated, so
   * this is the verdict, whatever the entries checked so far said.
   */
  rewritten (length: number, fork: number): void {
    if (this.divergence !== null) return
    this.divergence = {
      index: length, type: 'end', method: null, caller: null, field: 'log.history',
      expected: `the log as fetched before (${this.verified} entries verified)`,
      actual: `truncated to ${length} entries (fork id ${fork})`,
      message: `the host rewrote its call log: it truncated it to ${length} entries (fork id ${fork}) after this explorer had fetched more. A host never rewrites a log others replicated.`
    }
    this.wake.poke()
  }

  /** Stops the loop. Close the cores first when a read may be waiting on a host that left. */
  async close (): Promise<void> {
    this.closed = true
    this.wake.poke()
    await this.running
    await this.dropVerifier()
  }

  private async run (): Promise<void> {
    while (!this.closed && this.divergence === null) {
      let wait = this.options.pollMs ?? 1000
      try {
        if (await this.pass() === 'final') return
      } catch (err) {
        if (this.closed) return
        await this.dropVerifier()
        const e = err as Error & { code?: string }
        if (e.code === 'NOT_A_NODEVMS_LOG') {
          this.problem = e.message
          return
        }
        this.problem = `verification failed and starts over: ${e.message}`
        wait = RETRY_MS
      }
      await this.wake.wait(wait)
      await this.log.core.update({ wait: false }).catch(() => false)
    }
  }

  /** Checks the new entries, then the archive; 'final' once there is a verdict of mismatch. */
  private async pass (): Promise<'final' | 'again'> {
    if (this.verifier === null) {
      this.verified = 0
      this.verifier = new LogVerifier(this.log, this.drive, {
        allowEngineMismatch: this.options.allowEngineMismatch,
        onEntry: (index, _entry, divergence) => {
          if (this.closed) throw CLOSED
          if (divergence === null) this.verified = index + 1
        }
      })
    }
    for (;;) {
      const report = await this.verifier.advance()
      this.report = report
      this.problem = null
      if (!report.ok) {
        this.divergence = report.divergence!
        return 'final'
      }
      if (this.log.length > report.entries) continue // it grew while the replay ran
      const found = await this.verifier.checkArchive()
      if (found === null) {
        this.suspect = null
        this.archiveCheckedAt = report.entries
        return 'again'
      }
      this.archiveCheckedAt = -1
      if (!this.confirmed(found, report.entries)) return 'again'
      this.divergence = found
      this.report = this.verifier.report(found)
      return 'final'
    }
  }

  /** True when the same archive difference was seen at the same log length at least confirmMs ago. */
  private confirmed (found: VerifyDivergence, length: number): boolean {
    const key = JSON.stringify([found.field, found.actual, found.paths ?? []])
    const now = Date.now()
    if (this.suspect === null || this.suspect.key !== key || this.suspect.length !== length) {
      this.suspect = { key, since: now, length }
      return false
    }
    return now - this.suspect.since >= (this.options.confirmMs ?? 1500)
  }

  private async dropVerifier (): Promise<void> {
    const verifier = this.verifier
    this.verifier = null
    await verifier?.close().catch(() => {})
  }
}
