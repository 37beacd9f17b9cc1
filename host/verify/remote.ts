// verify <url>: fetch a running host's call log and files archive, after checking the keys it serves. By
// default in bulk over its block endpoint, checked in memory (bulk-source.ts); with --store, or from a host
// without that endpoint, over Hypercore replication into a temporary corestore or the --store kept between runs.
import type { Duplex } from 'node:stream'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import Corestore from 'corestore'
import Hyperdrive from 'hyperdrive'
import { createWebSocketStream } from 'ws'
import { warmEngine } from '../../engine/index.js'
import { ClientError, connect, normaliseUrl, openWebSocket } from '../../client/node.js'
import { REPLICATION_PATH } from '../../client/wire.js'
import { CallLog, HostError, replicateCores, type Replication } from '../index.js'
import { openBulk } from './bulk-source.js'
import { parseKey, type VerifySource } from './source.js'
import { checkHistory, readVerified, rememberVerified } from './verified-store.js'

export interface RemoteOptions {
  /** A directory kept between runs: replicate into it, and catch a host that rewrote what was verified before. */
  store?: string
  /** Keys the host must serve (--log, --files). */
  expect?: { log?: string, files?: string }
  timeout?: number
  /** 'bulk' (the default without a store) or 'replicate' (Hypercore replication, as with a store). */
  fetch?: 'bulk' | 'replicate'
  /**
   * Called once the keys are checked and replication runs, before the fetch completes (to watch its progress).
   * A caller that watches, as the explorer does while it follows a live host, gets Hypercore replication.
   */
  onReplicating?: (log: CallLog, drive: Hyperdrive) => void
}

/**
 * Connects to a host, checks the keys it serves against `expect` (if given), and opens its call log and files
 * archive: fetched in bulk and checked in memory, or replicated into `store` (a directory kept between runs) or
 * a temporary corestore when a store is given, `fetch` is 'replicate', or the host has no block endpoint.
 */
export async function openRemote (url: string, opts: RemoteOptions = {}): Promise<VerifySource> {
  warmEngine() // the replay's engine starts while the host is reached
  const client = await connect(url, { timeout: opts.timeout })
  const info = client.info!
  await client.close()
  if (typeof info.callLogUrl !== 'string') throw HostError.NOT_A_NODEVMS_HOST(url, 'a callLogUrl')
  if (typeof info.filesArchiveUrl !== 'string') throw HostError.NOT_A_NODEVMS_HOST(url, 'a filesArchiveUrl')
  const logKey = parseKey(info.callLogUrl, 'call log')
  const filesKey = parseKey(info.filesArchiveUrl, 'files archive')
  if (opts.expect?.log !== undefined && parseKey(opts.expect.log, 'call log') !== logKey) throw HostError.KEY_MISMATCH('call log', parseKey(opts.expect.log), logKey)
  if (opts.expect?.files !== undefined && parseKey(opts.expect.files, 'files archive') !== filesKey) throw HostError.KEY_MISMATCH('files archive', parseKey(opts.expect.files, 'files archive'), filesKey)

  if (opts.store === undefined && opts.fetch !== 'replicate' && opts.onReplicating === undefined) {
    const bulk = await openBulk(url, logKey, filesKey, { timeout: opts.timeout })
    if (bulk !== null) return bulk
  }
  const storeDir = opts.store === undefined ? null : resolve(opts.store)
  if (storeDir !== null) await mkdir(storeDir, { recursive: true })
  const coresDir = storeDir === null ? await mkdtemp(join(tmpdir(), 'nodevms-verify-')) : join(storeDir, 'corestore')
  const store = new Corestore(coresDir)
  const opened: Array<{ close (): Promise<void> }> = []
  let replication: Replication | null = null
  const downloads: Array<{ done (): Promise<void>, destroy (): void }> = []
  const close = async (): Promise<void> => {
    for (const d of downloads) d.destroy()
    replication?.destroy()
    await replication?.closed
    for (const r of opened.reverse()) await r.close()
    await store.close()
    if (storeDir === null) await rm(coresDir, { recursive: true, force: true })
  }
  try {
    const core = store.get({ key: Buffer.from(logKey, 'hex') })
    opened.push(core)
    let truncatedTo: number | null = null
    core.on('truncate', (length: number) => { truncatedTo = Math.min(truncatedTo ?? length, length) })
    const drive = new Hyperdrive(store.session(), Buffer.from(filesKey, 'hex'))
    opened.push(drive)
    await core.ready()
    await drive.ready()
    const before = storeDir === null ? null : await readVerified(storeDir)

    const done = store.findingPeers()
    replication = replicateCores(store, await openReplicationStream(url, { timeout: opts.timeout }), { isInitiator: true })
    await replication.opened
    done()
    await core.update({ wait: true })
    await drive.update({ wait: true })
    opts.onReplicating?.(new CallLog(core), drive)
    // Fetch everything first: the replay then reads local blocks only, and cannot hang on a host that left.
    downloads.push(core.download({ start: 0, end: core.length }))
    downloads.push(drive.db.core.download({ start: 0, end: drive.db.core.length }))
    // An empty drive has no header yet, and getBlobs() would wait for one.
    const blobs = drive.db.core.length > 0 ? await drive.getBlobs() : null
    if (blobs !== null) {
      await blobs.core.update({ wait: true }) // a blobs core opened just now does not know its length yet
      downloads.push(blobs.core.download({ start: 0, end: blobs.core.length }))
    }
    const left = replication.closed.then(() => { throw ClientError.CONNECTION_CLOSED(url, 'replicate') })
    left.catch(() => {})
    await Promise.race([Promise.all(downloads.map((d) => d.done())), left])
    await checkHistory(core, before, truncatedTo)

    return {
      log: new CallLog(core),
      drive,
      remember: async (length) => {
        if (storeDir !== null && length > 0) await rememberVerified(storeDir, core, length)
      },
      close
    }
  } catch (err) {
    await close()
    throw err
  }
}

/** Connects to a host's replication endpoint (`localhost:5555` or ws(s)://host:port) and returns the socket as a Duplex. */
export async function openReplicationStream (url: string, opts: { timeout?: number } = {}): Promise<Duplex> {
  const target = new URL(normaliseUrl(url))
  target.pathname = REPLICATION_PATH
  target.search = ''
  const ws = await openWebSocket(target.href, opts)
  const stream = createWebSocketStream(ws)
  // ws only ends the readable half when the socket closes; destroy the whole stream so replication stops.
  ws.once('close', () => stream.destroy())
  return stream
}
