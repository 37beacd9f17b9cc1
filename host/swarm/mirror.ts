// A mirror (nodevms seed): keeps a local copy of a call log and its files archive in a directory, follows
// both live over Hyperswarm, serves them to other peers, and verifies the log each time it grows: one
// LogVerifier follows the log, so each pass replays only the new entries, then checks the archive.
//
// A verdict of "mismatch" is confirmed before it is reported: log and files replicate as separate cores,
// so a pass can see the files ahead of the log for a moment. A difference that is still there after
// `confirmMs` (and one more pass) is reported, once; a truncation or fork of the log is reported at once.
// After a mismatch the mirror stops verifying but keeps serving what it holds.
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import Corestore from 'corestore'
import type Hypercore from 'hypercore'
import Hyperdrive from 'hyperdrive'
import { CallLog } from '../index.js'
import { HostError } from '../index.js'
import { startSwarm, type DhtNode, type SwarmHandle } from './swarm.js'
import { LogVerifier, type VerifyDivergence, type VerifyOptions, type VerifyReport } from '../verify/index.js'

export interface MirrorOptions {
  /** The call log key, 64 hex. */
  logKey: string
  /** Where the mirror keeps its corestore and what it verified (created when missing). */
  dir: string
  bootstrap: DhtNode[]
  /** DHT bind address (see SwarmOptions.host). */
  host?: string
  /** How long a difference must persist before it is reported (default 2000 ms). */
  confirmMs?: number
  verify?: Pick<VerifyOptions, 'allowEngineMismatch'>
  /** The log was checked up to a new length. */
  onVerified?: (entries: number, report: VerifyReport) => void
  /** The first mismatch; called at most once. */
  onMismatch?: (mismatch: MirrorMismatch) => void
  /** The files archive key, once the init entry arrived. */
  onFiles?: (filesKey: string) => void
  onWarning?: (message: string) => void
}

export type MirrorMismatch =
  | { kind: 'divergence', message: string, divergence: VerifyDivergence, report: VerifyReport }
  | { kind: 'fork', message: string, verified: number, length: number, fork: number }
  | { kind: 'invalid', message: string, error: Error }

/** What a mirror directory remembers between runs (mirror.json). */
interface Checkpoint { logKey: string, length: number, treeHash: string, fork: number }

const CHECKPOINT_FILE = 'mirror.json'
const DEFAULT_CONFIRM_MS = 2000
const UPDATE_WAIT_MS = 5000
const RELOOK_MIN_MS = 2000
const RELOOK_MAX_MS = 60_000

export class Mirror {
  readonly dir: string
  readonly logKey: string
  store!: Corestore
  log!: CallLog
  drive: Hyperdrive | null = null
  swarm: SwarmHandle | null = null
  private verifiedLength = 0
  private found: MirrorMismatch | null = null
  private suspect: string | null = null
  private dirty = true
  private wake: (() => void) | null = null
  private readonly downloads: Array<{ destroy (): void }> = []
  private following: Promise<void> = Promise.resolve()
  private opening: Promise<void> | null = null
  private closing: Promise<void> | null = null
  private checkpoint: Checkpoint | null = null
  private lonelySince: number | null = null
  private lookTimer: NodeJS.Timeout | null = null
  private verifier: LogVerifier | null = null

  constructor (private readonly options: MirrorOptions) {
    this.dir = resolve(options.dir)
    this.logKey = options.logKey
  }

  /** Entries verified so far in this run. */
  get verified (): number { return this.verifiedLength }
  /** The first mismatch seen, if any. */
  get mismatch (): MirrorMismatch | null { return this.found }
  get core (): Hypercore { return this.log.core }

  /** Opens the directory and announces the log; following and verifying then run in the background. */
  ready (): Promise<void> {
    this.opening ??= this.open().catch(async (err) => {
      await this.release()
      throw err
    })
    return this.opening
  }

  close (): Promise<void> {
    this.closing ??= (async () => {
      await this.opening?.catch(() => {})
      this.poke()
      await this.release()
      await this.following
      await this.dropVerifier()
    })()
    return this.closing
  }

  private async open (): Promise<void> {
    await mkdir(this.dir, { recursive: true })
    const names = await readdir(this.dir)
    if (names.length > 0 && !names.includes('corestore') && !names.includes(CHECKPOINT_FILE)) {
      throw new HostError(`${this.dir} is not empty and holds no nodevms mirror: refusing to write into it. Choose an empty or new --dir.`, 'NOT_A_MIRROR_DIR')
    }
    this.checkpoint = await readCheckpoint(this.dir)
    if (this.checkpoint !== null && this.checkpoint.logKey !== this.logKey) {
      throw new HostError(`${this.dir} mirrors another call log (dat://${this.checkpoint.logKey}): choose another --dir.`, 'MIRROR_OTHER_LOG')
    }
    this.store = new Corestore(join(this.dir, 'corestore'))
    try {
      await this.store.ready()
    } catch (err) {
      if (/lock/i.test(String((err as Error)?.message))) throw HostError.DIR_LOCKED(this.dir, err)
      throw HostError.DIR_UNUSABLE(this.dir, err)
    }
    const core = this.store.get({ key: Buffer.from(this.logKey, 'hex') })
    this.log = new CallLog(core)
    await core.ready()
    core.on('append', () => this.poke())
    core.on('peer-add', () => { this.lonelySince = null })
    core.on('peer-remove', () => { if (core.peers.length === 0) this.lookAgain() })
    core.on('truncate', (to: number, fork: number) => this.forked(to, fork, 'truncated'))
    core.on('conflict', (length: number, fork: number) => this.forked(length, fork, 'signed two different versions of'))
    this.downloads.push(core.download({ start: 0, end: -1 }))
    this.swarm = await startSwarm(this.store, { bootstrap: this.options.bootstrap, topics: [core], server: true, client: true, host: this.options.host })
    this.following = this.follow().catch((err) => {
      if (this.closing === null) this.options.onWarning?.(`the mirror stopped following: ${(err as Error).message}`)
    })
  }

  private async follow (): Promise<void> {
    const init = await this.log.get(0) // waits for the first peer that has it
    if (this.stopped()) return
    if (init.type !== 'init') throw HostError.NOT_A_NODEVMS_LOG(this.logKey, 0, `a '${init.type}' entry`)
    const drive = new Hyperdrive(this.store.session(), Buffer.from(init.filesKey, 'hex'))
    this.drive = drive
    await drive.ready()
    this.options.onFiles?.(init.filesKey)
    drive.core.on('append', () => this.poke()) // files changed: maybe by a call, maybe outside the log
    this.downloads.push(drive.db.core.download({ start: 0, end: -1 }))
    drive.getBlobs().then((blobs) => { if (blobs !== null && !this.stopped()) this.downloads.push(blobs.core.download({ start: 0, end: -1 })) }, () => {})
    await this.swarm!.join(drive.core)
    await Promise.race([this.core.update({ wait: true }).catch(() => false), delay(UPDATE_WAIT_MS)]) // a peer may never answer
    await this.checkHistory()

    while (!this.stopped()) {
      if (!this.dirty) await new Promise<void>((resolve) => { this.wake = resolve })
      if (this.stopped()) return
      this.dirty = false
      await this.pass()
    }
  }

  /** One verification step: the entries appended since the last pass, then the archive at that point. */
  private async pass (): Promise<void> {
    let report: VerifyReport
    try {
      this.verifier ??= new LogVerifier(this.log, this.drive!, { allowEngineMismatch: this.options.verify?.allowEngineMismatch })
      report = await this.verifier.advance()
      if (report.ok) report = this.verifier.report(await this.verifier.checkArchive())
    } catch (err) {
      await this.dropVerifier()
      if (this.stopped()) return
      const code = (err as { code?: string }).code
      if (code === 'NOT_A_NODEVMS_LOG') return this.report({ kind: 'invalid', message: (err as Error).message, error: err as Error })
      this.options.onWarning?.(`verification failed, retrying: ${(err as Error).message}`)
      await this.settle()
      return
    }
    if (this.stopped()) return
    if (report.ok) {
      this.suspect = null
      if (report.entries > this.verifiedLength) {
        this.verifiedLength = report.entries
        await this.saveCheckpoint(report.entries).catch((err) => this.options.onWarning?.(`cannot save ${CHECKPOINT_FILE}: ${(err as Error).message}`))
        this.options.onVerified?.(report.entries, report)
      }
      return
    }
    const d = report.divergence!
    const signature = `${d.index}:${d.field}:${JSON.stringify(d.actual)}`
    if (this.suspect !== signature) {
      this.suspect = signature // maybe replication in flight: look again once things settle
      // An entry's divergence is sticky in its verifier, so it is confirmed by a fresh replay from entry 0.
      if (d.type !== 'end') await this.dropVerifier()
      await this.settle()
      return
    }
    this.report({ kind: 'divergence', message: d.message, divergence: d, report })
  }

  private forked (length: number, fork: number, what: string): void {
    const verified = Math.max(this.verifiedLength, this.checkpoint?.length ?? 0)
    const message = `the host ${what} its call log at length ${length} (fork id ${fork}); ${verified} entries had been verified. ` +
      'A host never rewrites a log others replicated.'
    this.report({ kind: 'fork', message, verified, length, fork })
  }

  /** On restart: the log must still extend what this directory verified before. */
  private async checkHistory (): Promise<void> {
    const before = this.checkpoint
    if (before === null || this.found !== null) return
    const core = this.core
    let problem: string | null = null
    if (core.fork !== before.fork) problem = `its fork id went from ${before.fork} to ${core.fork}`
    else if (core.length < before.length) problem = `it has only ${core.length} entries`
    else if ((await core.treeHash(before.length)).toString('hex') !== before.treeHash) problem = `its first ${before.length} entries hash differently`
    if (problem === null) return
    this.report({ kind: 'fork', message: `this mirror verified ${before.length} entries of the log before, and now ${problem}.`, verified: before.length, length: core.length, fork: core.fork })
  }

  private report (mismatch: MirrorMismatch): void {
    if (this.found !== null || this.closing !== null) return
    this.found = mismatch
    this.poke()
    this.options.onMismatch?.(mismatch)
  }

  private async saveCheckpoint (length: number): Promise<void> {
    const treeHash = (await this.core.treeHash(length)).toString('hex')
    const checkpoint: Checkpoint = { logKey: this.logKey, length, treeHash, fork: this.core.fork }
    await writeFile(join(this.dir, CHECKPOINT_FILE), JSON.stringify(checkpoint) + '\n')
  }

  /** Waits confirmMs (or until closed), then marks the log for another pass. */
  private async settle (): Promise<void> {
    const ms = this.options.confirmMs ?? DEFAULT_CONFIRM_MS
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms)
      const check = setInterval(() => { if (this.closing !== null) done() }, 50)
      function done (): void { clearTimeout(timer); clearInterval(check); resolve() }
    })
    await this.core.update({ wait: false }).catch(() => false)
    this.dirty = true
  }

  /** With no peer left for the log (the host restarted, say), look the topics up again: soon, then less often. */
  private lookAgain (): void {
    if (this.closing !== null || this.lookTimer !== null) return
    this.lonelySince ??= Date.now()
    const lonelyMs = Date.now() - this.lonelySince
    const delay = Math.min(RELOOK_MAX_MS, Math.max(RELOOK_MIN_MS, lonelyMs / 2))
    this.lookTimer = setTimeout(() => {
      this.lookTimer = null
      if (this.closing !== null || this.core.peers.length > 0) return
      this.swarm?.refresh().finally(() => this.lookAgain())
    }, delay)
  }

  private async dropVerifier (): Promise<void> {
    const verifier = this.verifier
    this.verifier = null
    await verifier?.close().catch(() => {})
  }

  private stopped (): boolean { return this.closing !== null || this.found !== null }

  private poke (): void {
    this.dirty = true
    const wake = this.wake
    this.wake = null
    wake?.()
  }

  private async release (): Promise<void> {
    if (this.lookTimer !== null) clearTimeout(this.lookTimer)
    for (const d of this.downloads) d.destroy()
    await this.swarm?.close()
    await this.drive?.close().catch(() => {})
    await this.log?.core.close().catch(() => {})
    await this.store?.close().catch(() => {})
  }
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref())

async function readCheckpoint (dir: string): Promise<Checkpoint | null> {
  try {
    return JSON.parse(await readFile(join(dir, CHECKPOINT_FILE), 'utf8')) as Checkpoint
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return null
    throw err
  }
}
