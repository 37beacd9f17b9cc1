// verify <url> without --store: the call log and the files archive fetched in bulk over the host's block
// endpoint and checked in memory (remote-core.ts, signed-tree.ts), as a VerifySource the verifier reads the
// same way as a replicated one. RemoteStore stands in for the Corestore that Hyperdrive opens its two cores
// from; it holds no storage, only the checked frames each RemoteCore keeps.
import Hyperdrive from 'hyperdrive'
import type Corestore from 'corestore'
import { CallLog } from '../index.js'
import { BlockClient, type BlockClientOptions } from './block-client.js'
import { RemoteCore, RemoteCoreSession } from './remote-core.js'
import type { VerifySource } from './source.js'

type CoreOptions = { key?: Buffer | Uint8Array | string } | Buffer | Uint8Array | string

export interface BulkOptions extends BlockClientOptions {
  /** Blocks per sequential frame (default: as many as fit MAX_FRAME_BYTES, at most MAX_FRAME_BLOCKS). */
  frameBlocks?: number
}

/** The host's cores by key, shaped as the part of a Corestore that Hyperdrive uses to read. */
export class RemoteStore {
  private readonly cores = new Map<string, RemoteCore>()

  constructor (private readonly client: BlockClient, private readonly logKey: string, private readonly filesKey: string, private readonly frameBlocks?: number) {}

  /** A session on the core with this key (the host refuses keys it does not serve). */
  get (opts: CoreOptions): RemoteCoreSession {
    const raw = typeof opts === 'string' || opts instanceof Uint8Array ? opts : opts.key
    if (raw === undefined) throw new TypeError('a remote store opens cores by key only: it cannot create one')
    const key = typeof raw === 'string' ? raw : Buffer.from(raw).toString('hex')
    let core = this.cores.get(key)
    if (core === undefined) {
      const [what, field] = key === this.logKey
        ? [`call log dat://${key}`, 'log']
        : key === this.filesKey ? [`files archive dat://${key}`, 'files'] : [`the files archive's blobs core ${key}`, 'files.blobs']
      core = new RemoteCore(this.client, Buffer.from(key, 'hex'), what, field, this.frameBlocks)
      this.cores.set(key, core)
    }
    return new RemoteCoreSession(core)
  }

  /** A handle whose close() leaves the store open: Hyperdrive closes the store it is given. */
  session (): StoreHandle {
    return new StoreHandle(this)
  }

  findingPeers (): () => void { return () => {} }

  async close (): Promise<void> {
    await this.client.close()
  }
}

/** What Hyperdrive is given: the store's reads, and a close() that closes nothing (its owner closes the store). */
class StoreHandle {
  constructor (private readonly store: RemoteStore) {}
  get (opts: CoreOptions): RemoteCoreSession { return this.store.get(opts) }
  session (): StoreHandle { return this }
  findingPeers (): () => void { return () => {} }
  async close (): Promise<void> {}
}

/**
 * The log and the archive of the host at `url` over its block endpoint, their signed trees checked; null when
 * the host has no block endpoint (an older host), so the caller replicates instead.
 */
export async function openBulk (url: string, logKey: string, filesKey: string, opts: BulkOptions = {}): Promise<VerifySource | null> {
  const client = await BlockClient.open(url, opts)
  if (client === null) return null
  const store = new RemoteStore(client, logKey, filesKey, opts.frameBlocks)
  let drive: Hyperdrive | null = null
  const close = async (): Promise<void> => {
    await drive?.close().catch(() => {})
    await store.close()
  }
  try {
    const core = store.get({ key: logKey })
    await core.ready() // the log's signed tree first: the archive's is then at least as new (one atom writes both)
    drive = new Hyperdrive(store.session() as unknown as Corestore, Buffer.from(filesKey, 'hex'), { extension: false }) // no peers to talk to
    await drive.ready()
    if (drive.db.core.length > 0) await drive.getBlobs() // an empty drive has no header, and no blobs to check
    return { log: new CallLog(core as never), drive, remember: async () => {}, close }
  } catch (err) {
    await close()
    throw err
  }
}
