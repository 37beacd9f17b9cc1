// Where verify gets its log and files: a running host over its replication endpoint, or a stopped
// host's directory. Also the verifier's memory of what it verified (--store), so that a later run
// detects a host that rewrote history.
import { createRequire } from 'node:module'
import { existsSync, statSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import Corestore from 'corestore'
import type Hypercore from 'hypercore'
import Hyperdrive from 'hyperdrive'
import { CallLog } from './call-log.js'
import { connect } from './client.js'
import { ClientError, HostError } from './errors.js'
import { LOG_CORE_NAME } from './host.js'
import { openReplicationStream, replicateCores, type Replication } from './replication.js'

const require = createRequire(import.meta.url)
const idEncoding = require('hypercore-id-encoding') as { decode (id: string): Buffer }

const VERIFIED_FILE = 'verified.json'

/** A log and its files archive, opened for verification; close() releases everything it opened. */
export interface VerifySource {
  log: CallLog
  drive: Hyperdrive
  /** After a run that verified `length` entries: remember them in --store (a no-op without one). */
  remember (length: number): Promise<void>
  close (): Promise<void>
}

/** `dat://<hex>`, `hyper://<z32 or hex>` or bare hex/z32 → 64 lowercase hex. */
export function parseKey (input: string, what = 'call log'): string {
  const id = input.trim().replace(/^(dat|hyper):\/\//i, '').replace(/\/+$/, '')
  try {
    return idEncoding.decode(/^[0-9a-f]{64}$/i.test(id) ? id.toLowerCase() : id).toString('hex')
  } catch {
    throw HostError.BAD_KEY(what, input)
  }
}

/** What a --store remembers of a log it verified. */
interface Verified { logKey: string, length: number, treeHash: string, fork: number }

async function readVerified (dir: string): Promise<Verified | null> {
  try {
    return JSON.parse(await readFile(join(dir, VERIFIED_FILE), 'utf8')) as Verified
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return null
    throw err
  }
}

/** Fails when the log no longer extends what this store verified before. */
async function checkHistory (core: Hypercore, before: Verified | null, truncatedTo: number | null): Promise<void> {
  if (before === null || before.logKey !== core.key!.toString('hex')) return
  const key = before.logKey
  if (truncatedTo !== null && truncatedTo < before.length) throw HostError.HISTORY_REWRITTEN(key, before.length, `the host truncated it to ${truncatedTo} entries`)
  if (core.length < before.length) throw HostError.HISTORY_REWRITTEN(key, before.length, `it has only ${core.length}`)
  const hash = (await core.treeHash(before.length)).toString('hex')
  if (hash !== before.treeHash) throw HostError.HISTORY_REWRITTEN(key, before.length, `its first ${before.length} entries hash to ${hash.slice(0, 16)}…, not ${before.treeHash.slice(0, 16)}…`)
  if (core.fork !== before.fork) throw HostError.HISTORY_REWRITTEN(key, before.length, `its fork id went from ${before.fork} to ${core.fork}`)
}

/**
 * Connects to a host, checks the keys it serves against `expect` (if given), and replicates its call
 * log and files archive into `store` (a directory kept between runs) or a temporary corestore.
 */
export async function openRemote (url: string, opts: { store?: string, expect?: { log?: string, files?: string }, timeout?: number } = {}): Promise<VerifySource> {
  const client = await connect(url, { timeout: opts.timeout })
  const info = client.info!
  await client.close()
  if (typeof info.callLogUrl !== 'string') throw HostError.NOT_A_NODEVMS_HOST(url, 'a callLogUrl')
  if (typeof info.filesArchiveUrl !== 'string') throw HostError.NOT_A_NODEVMS_HOST(url, 'a filesArchiveUrl')
  const logKey = parseKey(info.callLogUrl, 'call log')
  const filesKey = parseKey(info.filesArchiveUrl, 'files archive')
  if (opts.expect?.log !== undefined && parseKey(opts.expect.log, 'call log') !== logKey) throw HostError.KEY_MISMATCH('call log', parseKey(opts.expect.log), logKey)
  if (opts.expect?.files !== undefined && parseKey(opts.expect.files, 'files archive') !== filesKey) throw HostError.KEY_MISMATCH('files archive', parseKey(opts.expect.files, 'files archive'), filesKey)

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
        if (storeDir === null || length === 0) return
        const verified: Verified = { logKey, length, treeHash: (await core.treeHash(length)).toString('hex'), fork: core.fork }
        await writeFile(join(storeDir, VERIFIED_FILE), JSON.stringify(verified) + '\n')
      },
      close
    }
  } catch (err) {
    await close()
    throw err
  }
}

const isLockError = (err: unknown) => /lock/i.test(String((err as Error)?.message ?? '')) || (err as { code?: string })?.code === 'ELOCKED'

/** Opens a stopped host's directory: its corestore, call log and files archive, as the host names them. */
export async function openHostDir (dir: string): Promise<VerifySource> {
  const abs = resolve(dir)
  if (!existsSync(abs) || !statSync(abs).isDirectory()) throw HostError.NOT_A_HOST_DIR(abs, 'there is no such directory')
  if (!existsSync(join(abs, 'CORESTORE')) && !existsSync(join(abs, 'db'))) throw HostError.NOT_A_HOST_DIR(abs, 'it holds no corestore')
  const store = new Corestore(abs)
  try {
    await store.ready()
  } catch (err) {
    await store.close().catch(() => {})
    if (isLockError(err)) throw HostError.HOST_RUNNING(abs, err)
    throw err
  }
  const core = store.get({ name: LOG_CORE_NAME })
  const drive = new Hyperdrive(store.session())
  try {
    await core.ready()
    await drive.ready()
  } catch (err) {
    await drive.close().catch(() => {})
    await core.close().catch(() => {})
    await store.close()
    throw err
  }
  return {
    log: new CallLog(core),
    drive,
    remember: async () => {},
    close: async () => {
      await drive.close()
      await core.close()
      await store.close()
    }
  }
}
