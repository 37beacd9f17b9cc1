// One of a host's cores read over its block endpoint, every block checked in memory against the core's signed
// tree (signed-tree.ts) before anything sees it. RemoteCore fetches frames of blocks: in order, a few frames
// ahead of the reader, while it reads sequentially (the log, the archive's history); one block at a time for
// random reads (a hyperbee lookup). Frames are kept up to a byte budget, least recently used first out.
// RemoteCoreSession is what readers hold: the read half of Hypercore's API that CallLog, Hyperbee, Hyperblobs
// and Hyperdrive use (get, length, fork, update, session, snapshot, close, ...), so the verifier's code runs
// on it unchanged. There is no write half.
import { EventEmitter } from 'node:events'
import crypto from 'hypercore-crypto'
import { HostError, hypercoreRequire, isCount, MAX_FRAME_BLOCKS, MAX_FRAME_BYTES } from '../index.js'
import type { BlockClient, Reply } from './block-client.js'
import { SignedTree, type Manifest } from './signed-tree.js'

// Hypercore's value encodings (compact-encoding), so get(i, { valueEncoding }) decodes exactly as Hypercore's.
const c = hypercoreRequire('compact-encoding') as { from (enc: unknown): unknown, decode (enc: unknown, buffer: Buffer): unknown }

/** Frames kept ahead of a sequential reader. */
const READ_AHEAD = 2
/** Bytes of checked frames kept per core. */
const CACHE_BYTES = 16 * 1024 * 1024

interface Frame { start: number, end: number, blocks: Buffer[], bytes: number, readAhead: boolean, used: number }
interface InFlight { start: number, end: number, frame: Promise<Frame> }


export class RemoteCore {
  readonly discoveryKey: Buffer
  private tree: SignedTree | null = null
  private opening: Promise<void> | null = null
  private updating: Promise<boolean> | null = null
  private readonly frames: Frame[] = []
  private readonly inFlight: InFlight[] = []
  private cachedBytes = 0
  private uses = 0
  private failure: unknown = null

  /** `what` names the core in errors ("call log dat://…"); `field` prefixes divergence fields (log, files). */
  constructor (private readonly client: BlockClient, readonly key: Buffer, readonly what: string, readonly field: string, private readonly maxFrameBlocks = MAX_FRAME_BLOCKS) {
    this.discoveryKey = crypto.discoveryKey(key)
  }

  get opened (): boolean { return this.tree !== null }
  get length (): number { return this.tree?.length ?? 0 }
  get fork (): number { return this.tree?.fork ?? 0 }
  get byteLength (): number { return this.tree?.byteLength ?? 0 }
  get manifest (): Manifest | null { return this.tree?.manifest ?? null }
  get treeHash (): Buffer | null { return this.tree?.treeHash ?? null }

  /** Fetches and checks the signed tree, once. */
  ready (): Promise<void> {
    this.opening ??= this.head().then((tree) => { this.tree = tree })
    return this.opening
  }

  /** Fetches the host's newest signed tree and checks that it extends this one; true when it grew. */
  update (): Promise<boolean> {
    this.updating ??= this.ready().then(async () => {
      const older = this.tree!
      const newer = await this.head(older.length)
      if (this.failure !== null) throw this.failure
      this.tree = newer
      return newer.length > older.length
    }).finally(() => { this.updating = null })
    return this.updating
  }

  /** Block `index`, checked; fetched on demand. `decode` is Hypercore's valueEncoding, if any. */
  async get (index: number, opts: { valueEncoding?: unknown, wait?: boolean } = {}): Promise<unknown> {
    await this.ready()
    if (!isCount(index)) throw new TypeError(`block index ${String(index)} is not an index`)
    if (index >= this.length) await this.update().catch((err) => { if (opts.wait !== false) throw err })
    if (index >= this.length) {
      if (opts.wait === false) return null
      throw HostError.BAD_FRAME(this.what, `block ${index} was asked for, beyond the ${this.length} blocks the host signed`)
    }
    const block = await this.block(index)
    const encoding = opts.valueEncoding !== undefined && opts.valueEncoding !== null ? c.from(opts.valueEncoding) : null
    return encoding === null ? block : c.decode(encoding, block)
  }

  /** Fails every later read with err (a check that failed, a connection that broke). */
  fail (err: unknown): void {
    this.failure ??= err
  }

  private async head (from?: number): Promise<SignedTree> {
    if (this.failure !== null) throw this.failure
    const { header } = await this.client.request({ op: 'head', key: this.key.toString('hex'), ...(from !== undefined ? { from } : {}) }, this.what)
    try {
      if (header.type !== 'head') throw HostError.BAD_FRAME(this.what, `a '${String(header.type)}' reply to a head request`)
      const tree = SignedTree.verify(this.key, this.what, header, this.field)
      if (this.tree !== null) tree.extends(this.tree, header.upgrade, this.field)
      return tree
    } catch (err) {
      this.fail(err)
      throw err
    }
  }

  private async block (index: number): Promise<Buffer> {
    for (;;) {
      if (this.failure !== null) throw this.failure
      const frame = this.cached(index) ?? await this.fetching(index)
      if (frame !== null && index >= frame.start && index < frame.end) {
        if (frame.readAhead) this.readAhead(frame.end)
        return frame.blocks[index - frame.start]
      }
      // The host cut that frame short: ask for the rest.
    }
  }

  private cached (index: number): Frame | null {
    for (let i = this.frames.length - 1; i >= 0; i--) { // newest first: a sequential reader is near the end
      const frame = this.frames[i]
      if (index < frame.start || index >= frame.end) continue
      frame.used = ++this.uses
      return frame
    }
    return null
  }

  private async fetching (index: number): Promise<Frame | null> {
    const pending = this.inFlight.find((r) => index >= r.start && index < r.end)
    if (pending !== undefined) return await pending.frame
    // Reading on from where a frame ends is sequential: fetch whole frames, and keep some ahead.
    const sequential = index === 0 || this.frames.some((f) => f.end === index) || this.inFlight.some((r) => r.end === index)
    return await this.request(index, sequential ? this.frameBlocks() : 1, sequential).frame
  }

  /** Requests up to READ_AHEAD frames after `from` that are neither cached nor on their way. */
  private readAhead (from: number): void {
    let at = from
    for (let k = 0; k < READ_AHEAD && at < this.length; k++) {
      const known = this.frames.find((f) => at >= f.start && at < f.end) ?? this.inFlight.find((r) => at >= r.start && at < r.end)
      at = known !== undefined ? known.end : this.request(at, this.frameBlocks(), true).end
    }
  }

  private request (start: number, blocks: number, sequential: boolean): InFlight {
    const end = Math.min(this.length, start + blocks)
    const tree = this.tree!
    const entry = { start, end } as InFlight
    entry.frame = this.client.request({ op: 'blocks', key: this.key.toString('hex'), start, end, length: tree.length }, this.what)
      .then((reply) => this.check(reply, start, end, tree, sequential))
      .catch((err) => { this.fail(err); throw err })
      .finally(() => { this.inFlight.splice(this.inFlight.indexOf(entry), 1) })
    entry.frame.catch(() => {}) // read-ahead nobody awaits must not be an unhandled rejection
    this.inFlight.push(entry)
    return entry
  }

  /** A 'blocks' reply for start..end-1, checked against `tree`, then kept. */
  private check ({ header, payload }: Reply, start: number, end: number, tree: SignedTree, readAhead: boolean): Frame {
    if (header.type !== 'blocks') throw HostError.BAD_FRAME(this.what, `a '${String(header.type)}' reply to a blocks request`)
    const { sizes } = header
    if (header.start !== start || !isCount(header.end) || header.end <= start || header.end > end) {
      throw HostError.BAD_FRAME(this.what, `blocks ${String(header.start)}..${Number(header.end) - 1} came where blocks ${start}..${end - 1} were asked for`)
    }
    const last = header.end
    if (!Array.isArray(sizes) || sizes.length !== last - start || !sizes.every(isCount)) {
      throw HostError.BAD_FRAME(this.what, `the reply for blocks ${start}..${last - 1} does not give each block's size`)
    }
    const total = sizes.reduce((sum: number, n: number) => sum + n, 0)
    if (total !== payload.byteLength) throw HostError.BAD_FRAME(this.what, `the reply for blocks ${start}..${last - 1} names ${total} bytes and carries ${payload.byteLength}`)
    const blocks: Buffer[] = []
    let at = 0
    for (const size of sizes as number[]) {
      blocks.push(payload.subarray(at, at + size))
      at += size
    }
    tree.checkBlocks(start, blocks, header.proofs, this.field)
    const frame: Frame = { start, end: last, blocks, bytes: total, readAhead, used: ++this.uses }
    this.keep(frame)
    return frame
  }

  /** Keeps a checked frame, dropping the least recently used ones past the byte budget. */
  private keep (frame: Frame): void {
    this.frames.push(frame)
    this.cachedBytes += frame.bytes
    while (this.cachedBytes > CACHE_BYTES && this.frames.length > 1) {
      let oldest = 0
      for (let i = 1; i < this.frames.length; i++) if (this.frames[i].used < this.frames[oldest].used) oldest = i
      this.cachedBytes -= this.frames.splice(oldest, 1)[0].bytes
    }
  }

  /** Blocks per sequential frame: a power of two that keeps a frame of average blocks within MAX_FRAME_BYTES. */
  private frameBlocks (): number {
    const average = Math.max(1, this.byteLength / Math.max(1, this.length))
    let blocks = this.maxFrameBlocks
    while (blocks > 1 && blocks * average > MAX_FRAME_BYTES) blocks /= 2
    return blocks
  }
}

/**
 * A reader's handle on a RemoteCore, shaped as a Hypercore session (read side only). Closing it closes only
 * the handle; the store that made the RemoteCore closes that. A snapshot keeps the length it was taken at.
 */
export class RemoteCoreSession extends EventEmitter {
  readonly writable = false
  readonly readable = true
  /** Hyperdrive asks `core.core.compat`: a core with a manifest never is. */
  readonly core = { compat: false }
  /** Hyperbee looks for replicator.setInflightRange: there is no replicator. */
  readonly replicator = {}
  readonly globalCache = null
  readonly encryption = null
  closing: Promise<void> | null = null
  closed = false

  constructor (private readonly remote: RemoteCore, private readonly frozenLength: number | null = null) {
    super()
  }

  get key (): Buffer { return this.remote.key }
  get discoveryKey (): Buffer { return this.remote.discoveryKey }
  get id (): string { return this.remote.key.toString('hex') }
  get opened (): boolean { return this.remote.opened }
  get manifest (): Manifest | null { return this.remote.manifest }
  get length (): number { return this.frozenLength ?? this.remote.length }
  get fork (): number { return this.remote.fork }
  get byteLength (): number { return this.remote.byteLength }
  /** The tree hash of the signed tree verified, as Hypercore's core.treeHash() gives it; only that length. */
  async treeHash (length = this.length): Promise<Buffer> {
    await this.remote.ready()
    if (length !== this.remote.length || this.remote.treeHash === null) {
      throw new TypeError(`the tree hash of ${this.remote.what} is known at its verified length ${this.remote.length}, not at ${length}`)
    }
    return this.remote.treeHash
  }

  async ready (): Promise<void> { await this.remote.ready() }

  async update (): Promise<boolean> {
    if (this.frozenLength !== null) return false
    const grew = await this.remote.update()
    if (grew) this.emit('append')
    return grew
  }

  async get (index: number, opts?: { valueEncoding?: unknown, wait?: boolean }): Promise<unknown> {
    if (this.closed) throw HostError.BAD_FRAME(this.remote.what, 'a read on a closed session')
    if (this.frozenLength !== null && index >= this.frozenLength) return null
    return await this.remote.get(index, opts)
  }

  async has (index: number): Promise<boolean> { return index < this.length }

  /** Every block below length can be fetched: nothing is signed but not yet here. */
  get signedLength (): number { return this.length }
  get contiguousLength (): number { return this.length }
  /** No replication peers: the host is read over its block endpoint. */
  readonly peers: unknown[] = []

  /**
   * Hyperbee's preload hint (the children of a tree node it just read): fetch them now, together. A range
   * ({ start, end }) asks for nothing: blocks are fetched, checked, as they are read.
   */
  download (range: { blocks?: number[] } = {}): { done (): Promise<void>, destroy (): void } {
    const fetched = Promise.all((range.blocks ?? []).map((index) => this.get(index).catch(() => null))).then(() => {})
    return { done: () => fetched, destroy: () => {} }
  }

  session (): RemoteCoreSession { return new RemoteCoreSession(this.remote, this.frozenLength) }

  snapshot (): RemoteCoreSession { return new RemoteCoreSession(this.remote, this.length) }

  async close (): Promise<void> {
    this.closed = true
    this.closing ??= Promise.resolve()
    await this.closing
  }
}
