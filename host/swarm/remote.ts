// verify over the Dat network: from a call log key alone, find peers on Hyperswarm, replicate the log,
// read the files key from its init entry, replicate the files, and hand both to verifyLog.
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import Corestore from 'corestore'
import Hyperdrive from 'hyperdrive'
import { CallLog } from '../index.js'
import { HostError } from '../index.js'
import { startSwarm, type DhtNode, type SwarmHandle } from './swarm.js'
import type { VerifySource } from '../verify/index.js'

export interface SwarmRemoteOptions {
  bootstrap: DhtNode[]
  /** How long to look for a peer that serves the log (default 30 s). */
  timeoutMs?: number
  /** Keep the replicated cores in this directory instead of a temporary one. */
  storeDir?: string
  /** When given, the log's files archive must be this key (64 hex). */
  expectFiles?: string
  /** DHT bind address (see SwarmOptions.host). */
  host?: string
}

export const DEFAULT_FIND_TIMEOUT_MS = 30_000

/** Opens `logKey` (64 hex) from whatever peers serve it on the swarm; close() releases everything. */
export async function openSwarmRemote (logKey: string, opts: SwarmRemoteOptions): Promise<VerifySource & { swarm: SwarmHandle }> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_FIND_TIMEOUT_MS
  const storeDir = opts.storeDir === undefined ? null : resolve(opts.storeDir)
  if (storeDir !== null) await mkdir(storeDir, { recursive: true })
  const coresDir = storeDir ?? await mkdtemp(join(tmpdir(), 'nodevms-verify-swarm-'))
  const store = new Corestore(coresDir)
  const opened: Array<{ close (): Promise<void> }> = []
  const downloads: Array<{ destroy (): void }> = []
  let swarm: SwarmHandle | null = null
  const close = async (): Promise<void> => {
    for (const d of downloads) d.destroy()
    await swarm?.close()
    for (const r of opened.reverse()) await r.close().catch(() => {})
    await store.close()
    if (storeDir === null) await rm(coresDir, { recursive: true, force: true })
  }
  try {
    const core = store.get({ key: Buffer.from(logKey, 'hex') })
    opened.push(core)
    await core.ready()
    swarm = await startSwarm(store, { bootstrap: opts.bootstrap, server: false, client: true, host: opts.host })
    swarm.join(core).catch(() => {}) // the timeout below bounds the lookup too: a peer may connect before it ends
    await swarm.waitForPeer(core, timeoutMs)
    await withTimeout(core.update({ wait: true }), timeoutMs, () => HostError.NOT_A_NODEVMS_LOG(logKey, 0, 'not served by the peers found (they sent no length)'))
    const log = new CallLog(core)
    if (core.length === 0) throw HostError.NOT_A_NODEVMS_LOG(logKey, 0, 'missing: the core is empty')
    const init = await withTimeout(log.get(0), timeoutMs, () => HostError.NOT_A_NODEVMS_LOG(logKey, 0, 'not available from the peers found'))
    if (init.type !== 'init') throw HostError.NOT_A_NODEVMS_LOG(logKey, 0, `a '${init.type}' entry`)
    if (opts.expectFiles !== undefined && opts.expectFiles !== init.filesKey) throw HostError.KEY_MISMATCH('files archive', opts.expectFiles, init.filesKey)

    const drive = new Hyperdrive(store.session(), Buffer.from(init.filesKey, 'hex'))
    opened.push(drive)
    await drive.ready()
    await swarm.join(drive.core) // usually the same peers; a files-only mirror is found too
    await drive.update({ wait: true })
    // Fetch ahead, so the replay reads local blocks in order.
    downloads.push(core.download({ start: 0, end: core.length }))
    downloads.push(drive.db.core.download({ start: 0, end: drive.db.core.length }))
    const blobs = drive.db.core.length > 0 ? await drive.getBlobs() : null
    if (blobs !== null) {
      // The blobs core's length is unknown until it has heard from a peer; without this the file
      // contents were fetched one by one during the replay (and never, once the peer left).
      await blobs.core.update({ wait: true })
      downloads.push(blobs.core.download({ start: 0, end: blobs.core.length }))
    }
    return { log, drive, swarm, remember: async () => {}, close }
  } catch (err) {
    await close()
    throw err
  }
}

async function withTimeout<T> (promise: Promise<T>, ms: number, error: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(error()), ms) })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}
