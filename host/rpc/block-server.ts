// The block endpoint, the host's half (wire format: host/block-frames.ts): a verifier asks for a core's signed
// tree, then for ranges of its blocks, and checks every one in memory against that tree (host/verify). The host
// reads its own cores and sends what Hypercore itself gives (core.proof: the signed roots, the nodes of a path);
// it writes nothing, and serves only the cores it names: the call log and the files archive's two cores.
import type Hypercore from 'hypercore'
import type { RawData, WebSocket } from 'ws'
import { flat, encodeReply, isCount, readWindow, spans, MAX_FRAME_BLOCKS, MAX_FRAME_BYTES, type BlockReply, type WireNode } from '../index.js'

/** Requests one socket may have waiting; past it the socket is closed (1008). */
const MAX_WAITING = 16
const HEX64 = /^[0-9a-f]{64}$/

interface TreeNode { index: number, size: number, hash: Buffer }
interface CoreProofs {
  proof (opts: { upgrade?: { start: number, length: number }, hash?: { index: number, nodes: number } }): Promise<{
    fork: number, hash: { nodes: TreeNode[] } | null, upgrade: { nodes: TreeNode[], signature: Buffer | null } | null
  }>
  getManifest (opts: { raw: true }): Buffer | null
}

const wire = (node: TreeNode): WireNode => ({ index: node.index, size: node.size, hash: node.hash.toString('hex') })

/** The root of the tree of `length` blocks above node `index` (which must lie inside it). */
function rootAbove (index: number, length: number): number {
  const [left, right] = flat.spans(index)
  const root = flat.fullRoots(2 * length).find((r) => flat.leftSpan(r) <= left && flat.rightSpan(r) >= right)
  if (root === undefined) throw new Error(`node ${index} is not inside a tree of ${length} blocks`)
  return root
}

export class BlockServer {
  /**
   * `cores()`: the cores this endpoint serves, looked up by key at each request. `settled()`: resolves once
   * they hold every call answered so far (the host answers before its cores are written), so a verifier that
   * asks after a caller was answered is shown that call.
   */
  constructor (private readonly cores: () => Hypercore[], private readonly settled: () => Promise<void> = async () => {}) {}

  /** Answers one socket's requests one at a time, in order; the next is read once the last reply is written. */
  serve (ws: WebSocket): void {
    let chain = Promise.resolve()
    let waiting = 0
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (++waiting > MAX_WAITING) return ws.close(1008, `at most ${MAX_WAITING} block requests may wait`)
      const text = isBinary ? null : String(data)
      chain = chain.then(async () => {
        const reply = text === null ? error(-1, 'requests are JSON text frames') : await this.answer(text)
        if (ws.readyState !== ws.OPEN) return
        await new Promise<void>((resolve) => ws.send(reply, () => resolve()))
      }).finally(() => { waiting-- })
    })
  }

  /** The reply to one request; a request that cannot be served gets an error reply, never a thrown error. */
  async answer (text: string): Promise<Buffer> {
    let request: Record<string, unknown>
    try {
      request = JSON.parse(text) as Record<string, unknown>
    } catch {
      return error(-1, 'a request must be JSON')
    }
    const id = isCount(request?.id) ? request.id : -1
    if (typeof request.key !== 'string' || !HEX64.test(request.key)) return error(id, '"key" must be a core key, 64 lowercase hex')
    const core = this.cores().find((c) => c.key?.toString('hex') === request.key)
    if (core === undefined) return error(id, `this host serves no core ${request.key}`)
    try {
      if (request.op === 'head') return await this.head(id, core, request.from)
      if (request.op === 'blocks') return await this.blocks(id, core, request)
      return error(id, '"op" must be "head" or "blocks"')
    } catch (err) {
      return error(id, `cannot serve that: ${(err as Error).message}`)
    }
  }

  private async head (id: number, core: Hypercore, from: unknown): Promise<Buffer> {
    if (from !== undefined && !isCount(from)) return error(id, '"from" must be a length')
    const proofs = core as unknown as CoreProofs
    await this.settled()
    const length = core.length // read in the same tick as the proof below, which signs this very length
    const manifest = proofs.getManifest({ raw: true })
    if (manifest === null) return error(id, 'this core has no manifest')
    const head = { id, type: 'head' as const, key: core.key!.toString('hex'), manifest: manifest.toString('hex'), length, fork: core.fork }
    if (length === 0) return encodeReply({ ...head, signature: '', roots: [] })
    const signed = await proofs.proof({ upgrade: { start: 0, length } })
    const reply: BlockReply = { ...head, fork: signed.fork, signature: signed.upgrade!.signature?.toString('hex') ?? '', roots: signed.upgrade!.nodes.map(wire) }
    // The older tree's roots, each carried up to a root of this one: proof that this tree extends that one.
    if (from !== undefined && from > 0 && from <= length) {
      reply.upgrade = await Promise.all(flat.fullRoots(2 * from).map((root) => this.path(core, root, length)))
    }
    return encodeReply(reply)
  }

  private async blocks (id: number, core: Hypercore, request: Record<string, unknown>): Promise<Buffer> {
    const { start, end, length } = request
    if (!isCount(start) || !isCount(end) || !isCount(length) || start >= end || end > length) return error(id, 'a blocks request needs start < end ≤ length')
    if (length > core.length) return error(id, `this core has ${core.length} blocks, not ${length}`)
    if (end - start > MAX_FRAME_BLOCKS) return error(id, `at most ${MAX_FRAME_BLOCKS} blocks at once`)
    const read = await readWindow(core, start, end)
    const blocks: Buffer[] = []
    let bytes = 0
    for (const block of read) {
      if (block === null) return error(id, `block ${start + blocks.length} is not available`)
      if (blocks.length > 0 && bytes + block.byteLength > MAX_FRAME_BYTES) break
      blocks.push(block)
      bytes += block.byteLength
    }
    const cut = start + blocks.length
    const proofs = await Promise.all(spans(start, cut).map((span) => this.path(core, span, length)))
    return encodeReply({ id, type: 'blocks', start, end: cut, sizes: blocks.map((b) => b.byteLength), proofs }, blocks)
  }

  /** The siblings from node `index` up to the root above it in the tree of `length` blocks, from Hypercore. */
  private async path (core: Hypercore, index: number, length: number): Promise<WireNode[]> {
    const levels = flat.depth(rootAbove(index, length)) - flat.depth(index)
    const proof = await (core as unknown as CoreProofs).proof({ hash: { index, nodes: levels } })
    return proof.hash!.nodes.slice(1).map(wire) // the first node is `index` itself: the verifier computes it
  }
}

function error (id: number, message: string): Buffer {
  return encodeReply({ id, type: 'error', message })
}
