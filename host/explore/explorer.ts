// The explorer: a web page on the auditor's own machine that shows a backend being verified. It follows a
// log and its files archive (from a host's port, a stopped host's directory or the Dat network), indexes
// the entries as they arrive, verifies them with the same LogVerifier as `nodevms verify`, and serves the
// page and its JSON API.
//   new Explorer(opts) → listen() → watch(log, drive) while fetching → follow(source) → close()
import type Hyperdrive from 'hyperdrive'
import type { CallLog } from '../index.js'
import type { VerifyDivergence, VerifySource } from '../verify/index.js'
import { answerApi, type ExplorerModel } from './api.js'
import { pageAssets } from './assets.js'
import { boundDivergence } from './entry-view.js'
import { LogIndex } from './log-index.js'
import { PageServer } from './page-server.js'
import { statusOf, type EntryStatus, type Status, type Verdict } from './page/wire.js'
import { Verification, type VerificationOptions } from './verification.js'
import { Wakeup } from './wakeup.js'

export interface ExplorerOptions {
  /** What is explored, as the auditor named it (a URL, dat://KEY, a directory): shown on the page. */
  target: string
  /** Address for the page (default 127.0.0.1). */
  host?: string
  /** Port for the page (default 0: a free port). */
  port?: number
  verify?: VerificationOptions
  onError?: (err: unknown) => void
}

/** GET /api/status (page/wire.ts) */
export type ExplorerStatus = Status

const INDEX_POLL_MS = 1000

export class Explorer implements ExplorerModel {
  readonly index = new LogIndex()
  log: CallLog | null = null
  drive: Hyperdrive | null = null
  private source: VerifySource | null = null
  private verification: Verification | null = null
  private readonly server: PageServer
  private readonly indexWake = new Wakeup()
  private indexing: Promise<void> = Promise.resolve()
  private readonly downloads: Array<{ destroy (): void }> = []
  private closing: Promise<void> | null = null
  private indexProblem: string | null = null

  constructor (private readonly options: ExplorerOptions) {
    this.server = new PageServer({
      host: options.host, port: options.port, assets: pageAssets(), onError: options.onError,
      api: (path, query) => answerApi(this, path, query)
    })
  }

  /** The page's address, once listening. */
  get url (): string { return this.server.url }

  get verdict (): Verdict { return this.verification?.verdict ?? 'pending' }

  get divergence (): VerifyDivergence | null { return this.verification?.divergence ?? null }

  /** Serves the page; a port in use is a LISTEN_FAILED HostError. */
  async listen (): Promise<void> {
    await this.server.listen()
  }

  /** The log and files being fetched: the page shows the fetch's progress and the entries already here. */
  watch (log: CallLog, drive: Hyperdrive): void {
    if (this.closing !== null || this.log !== null) return
    this.log = log
    this.drive = drive
    log.core.on('download', () => this.indexWake.poke())
    log.core.on('append', () => { this.indexWake.poke(); this.verification?.poke() })
    drive.core.on('append', () => this.verification?.poke())
    this.indexing = this.indexLoop()
  }

  /** From here on the explorer owns the source: it follows it, verifies it, and closes it on close(). */
  follow (source: VerifySource): void {
    if (this.closing !== null) {
      void source.close()
      return
    }
    this.source = source
    this.watch(source.log, source.drive)
    // Live: fetch what the host appends (the fetch before covered the length known then).
    this.downloads.push(source.log.core.download({ start: 0, end: -1 }), source.drive.db.core.download({ start: 0, end: -1 }))
    source.drive.getBlobs().then((blobs: { core: { download (range: unknown): { destroy (): void } } } | null) => {
      if (blobs !== null && this.closing === null) this.downloads.push(blobs.core.download({ start: 0, end: -1 }))
    }, () => {})
    this.verification = new Verification(source.log, source.drive, this.options.verify)
    source.log.core.on('truncate', (length: number, fork: number) => {
      this.index.truncate(length)
      this.verification?.rewritten(length, fork)
    })
    this.verification.start()
    this.indexWake.poke()
  }

  statusOf (index: number): EntryStatus {
    return statusOf(index, this.verification?.verified ?? 0, this.divergence)
  }

  status (): ExplorerStatus {
    const v = this.verification
    const report = v?.report ?? null
    const verdict = this.verdict
    const phase = this.closing !== null ? 'stopped' : this.log === null ? 'connecting' : v === null ? 'fetching' : verdict === 'pending' ? 'verifying' : verdict === 'ok' ? 'verified' : 'mismatch'
    const blobs = (this.drive as { blobs?: { core?: { contiguousLength: number, length: number } } } | null)?.blobs?.core
    return {
      target: this.options.target,
      phase,
      logKey: this.log?.key ?? null,
      filesKey: this.drive?.key.toString('hex') ?? null,
      script: this.index.script,
      length: this.log?.length ?? 0,
      indexed: this.index.length,
      fetched: {
        log: this.log?.core.contiguousLength ?? 0,
        files: (this.drive?.db.core.contiguousLength ?? 0) + (blobs?.contiguousLength ?? 0),
        filesLength: (this.drive?.db.core.length ?? 0) + (blobs?.length ?? 0)
      },
      verified: v?.verified ?? 0,
      verdict,
      divergence: v?.divergence === null || v === null ? null : boundDivergence(v.divergence),
      counts: report === null ? null : { calls: report.calls, oracles: report.oracles, restarts: report.restarts, upgrades: report.upgrades },
      filesVersion: report?.filesVersion ?? null,
      stateRoot: report?.stateRoot ?? null,
      warnings: report?.warnings ?? [],
      problem: v?.problem ?? this.indexProblem,
      peers: this.log?.core.peers.length ?? 0
    }
  }

  /** Stops serving, stops following and verifying, and closes the source it owns. */
  close (): Promise<void> {
    this.closing ??= (async () => {
      this.indexWake.poke()
      await this.server.close()
      for (const d of this.downloads) d.destroy()
      const stopped = Promise.all([this.verification?.close(), this.indexing])
      await this.source?.close() // a read waiting on a host that left fails now, so the loops can end
      await stopped
    })()
    return this.closing
  }

  private async indexLoop (): Promise<void> {
    while (this.closing === null) {
      try {
        await this.index.catchUp(this.log!)
        this.indexProblem = null
      } catch (err) {
        if (this.closing !== null) return
        this.indexProblem = `cannot read the log: ${(err as Error).message}`
      }
      await this.indexWake.wait(INDEX_POLL_MS)
    }
  }
}
