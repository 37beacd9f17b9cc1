// A core's signed Merkle tree, checked in memory exactly as Hypercore checks it, for the bulk fetch:
//   - the manifest hashes to the core's key, and the signature over the tree verifies with it (Hypercore's own
//     Verifier and caps.treeSignable: the same payload, namespace and multisig format);
//   - the roots are the tree's full roots, and the tree hash is hypercore-crypto's hash of them;
//   - each block hashes (crypto.data) into its span, each span climbs by its proof's siblings (crypto.parent)
//     to one of those roots, and must equal it: size and hash;
//   - a newer tree extends an older one: same fork, no shorter, and each old root climbs into a new root.
// Every failure throws a HostError naming what was wrong (BLOCKS_REFUSED for a lie, BAD_FRAME for a reply
// that is not even well formed); nothing is trusted before it passes.
import crypto, { type TreeNode } from 'hypercore-crypto'
import { flat, HostError, hypercoreRequire, isCount, spans, type WireNode } from '../index.js'

interface Batch { length: number, fork: number, hash (): Buffer, signable (namespace: Buffer): Buffer, signableCompat (noHeader: boolean): Buffer }
const Verifier = hypercoreRequire('./lib/verifier.js') as {
  new (key: Buffer, manifest: Manifest): { verify (batch: Batch, signature: Buffer): boolean }
  decodeManifest (bytes: Buffer): Manifest
  isValidManifest (key: Buffer, manifest: Manifest): boolean
}
const caps = hypercoreRequire('./lib/caps.js') as {
  treeSignable (namespace: Buffer, treeHash: Buffer, length: number, fork: number): Buffer
  treeSignableCompat (treeHash: Buffer, length: number, fork: number, noHeader: boolean): Buffer
}

/** A core manifest as Hypercore decodes it (what Hyperdrive derives the blobs key from). */
export interface Manifest { version: number, allowPatch: boolean, signers: unknown[], prologue: unknown }

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const HEX = /^(?:[0-9a-f]{2})*$/

/** Parses one wire node (what = where it was, for the error). */
function node (value: unknown, what: string, where: string): TreeNode {
  if (!isRecord(value) || !isCount(value.index) || !isCount(value.size) || typeof value.hash !== 'string' || !/^[0-9a-f]{64}$/.test(value.hash)) {
    throw HostError.BAD_FRAME(what, `${where} is not a tree node {index, size, hash}`)
  }
  return { index: value.index, size: value.size, hash: Buffer.from(value.hash, 'hex') }
}

function nodes (value: unknown, what: string, where: string): TreeNode[] {
  if (!Array.isArray(value)) throw HostError.BAD_FRAME(what, `${where} is not a list of tree nodes`)
  return value.map((v, i) => node(v, what, `${where}[${i}]`))
}

/** The node above consecutive leaves `blocks` (a whole span of the tree), as Hypercore hashes it. */
function spanNode (index: number, blocks: readonly Buffer[], first: number): TreeNode {
  let level: TreeNode[] = blocks.map((block, i) => ({ index: 2 * (first + i), size: block.byteLength, hash: crypto.data(block) }))
  while (level.length > 1) {
    const up: TreeNode[] = []
    for (let i = 0; i < level.length; i += 2) {
      const [a, b] = [level[i], level[i + 1]]
      up.push({ index: flat.parent(a.index), size: a.size + b.size, hash: crypto.parent(a, b) })
    }
    level = up
  }
  if (level[0].index !== index) throw new Error(`unreachable: span ${index} hashed to node ${level[0].index}`)
  return level[0]
}

/** A verified signed tree of one core: its length, fork, roots and tree hash. */
export class SignedTree {
  private readonly rootsByIndex: Map<number, TreeNode>

  private constructor (
    readonly key: Buffer, readonly what: string, readonly manifest: Manifest,
    readonly length: number, readonly fork: number, readonly roots: TreeNode[], readonly treeHash: Buffer
  ) {
    this.rootsByIndex = new Map(roots.map((r) => [r.index, r]))
  }

  /** Bytes in the core (the roots' sizes). */
  get byteLength (): number { return this.roots.reduce((sum, r) => sum + r.size, 0) }

  /** Checks a 'head' reply for the core with this key; `what` names the core in errors ("call log dat://…"). */
  static verify (key: Buffer, what: string, reply: Record<string, unknown>, field: string): SignedTree {
    const { manifest: manifestHex, length, fork, signature, roots: rawRoots } = reply
    if (reply.key !== key.toString('hex')) throw HostError.BAD_FRAME(what, `a head for core ${String(reply.key)} where ${key.toString('hex')} was asked for`)
    if (typeof manifestHex !== 'string' || !HEX.test(manifestHex)) throw HostError.BAD_FRAME(what, 'the head has no manifest')
    if (!isCount(length) || !isCount(fork)) throw HostError.BAD_FRAME(what, 'the head has no length and fork')
    if (typeof signature !== 'string' || !HEX.test(signature)) throw HostError.BAD_FRAME(what, 'the head has no signature')
    let manifest: Manifest
    try {
      manifest = Verifier.decodeManifest(Buffer.from(manifestHex, 'hex'))
    } catch {
      throw HostError.BAD_FRAME(what, 'the head\'s manifest does not decode')
    }
    if (!Verifier.isValidManifest(key, manifest)) {
      throw HostError.BLOCKS_REFUSED(what, `${field}.signature`, key.toString('hex'), 'another manifest', 'its manifest does not hash to its key: the tree is signed by another key')
    }
    if (manifest.allowPatch) throw HostError.BAD_FRAME(what, 'its manifest allows patches, which the bulk fetch does not check: verify with --store DIR')
    const roots = nodes(rawRoots, what, 'the head\'s roots')
    const expected = flat.fullRoots(2 * length)
    if (roots.length !== expected.length || roots.some((r, i) => r.index !== expected[i])) {
      throw HostError.BAD_FRAME(what, `the head of ${length} blocks names roots ${roots.map((r) => r.index).join(',')}, not ${expected.join(',')}`)
    }
    const treeHash = crypto.tree(roots)
    const tree = new SignedTree(key, what, manifest, length, fork, roots, treeHash)
    if (length === 0) return tree // an empty core: nothing to sign, nothing to trust
    const batch: Batch = {
      length, fork, hash: () => treeHash,
      signable: (namespace) => caps.treeSignable(namespace, treeHash, length, fork),
      signableCompat: (noHeader) => caps.treeSignableCompat(treeHash, length, fork, noHeader)
    }
    let signed = false
    try {
      signed = new Verifier(key, manifest).verify(batch, Buffer.from(signature, 'hex'))
    } catch {
      signed = false // a signature that does not even decode is not a signature by this key
    }
    if (!signed) {
      throw HostError.BLOCKS_REFUSED(what, `${field}.signature`, `a signature of tree ${treeHash.toString('hex').slice(0, 16)}… by the key`, signature.slice(0, 32) + '…',
        `the signature over its tree of ${length} blocks does not verify with its key`)
    }
    return tree
  }

  /** Checks that this (newer) tree extends `older`: same fork, no shorter, every old root inside it. */
  extends (older: SignedTree, rawUpgrade: unknown, field: string): void {
    const what = this.what
    if (this.fork !== older.fork) {
      throw HostError.BLOCKS_REFUSED(what, `${field}.history`, `fork ${older.fork}`, `fork ${this.fork}`, `its fork went from ${older.fork} to ${this.fork} while verify read it: the host truncated it`)
    }
    if (this.length < older.length) {
      throw HostError.BLOCKS_REFUSED(what, `${field}.history`, `at least ${older.length} blocks`, `${this.length} blocks`, `it now has ${this.length} blocks, after the host signed ${older.length}: the host truncated it`)
    }
    if (older.length === 0) return
    if (this.length === older.length) {
      if (!this.treeHash.equals(older.treeHash)) {
        throw HostError.BLOCKS_REFUSED(what, `${field}.history`, older.treeHash.toString('hex'), this.treeHash.toString('hex'), `the host signed two different trees of ${this.length} blocks: a fork`)
      }
      return
    }
    if (!Array.isArray(rawUpgrade) || rawUpgrade.length !== older.roots.length) {
      throw HostError.BAD_FRAME(what, `the head of ${this.length} blocks does not prove that it extends the ${older.length} verified before`)
    }
    older.roots.forEach((root, i) => {
      const top = this.climb(root, nodes(rawUpgrade[i], what, `the upgrade path of root ${root.index}`))
      if (!top.equal) {
        throw HostError.BLOCKS_REFUSED(what, `${field}.history`, older.treeHash.toString('hex'), this.treeHash.toString('hex'),
          `its first ${older.length} blocks, verified before, are not the first ${older.length} of the tree it signs now: a fork`)
      }
    })
  }

  /**
   * Checks blocks start..start+blocks.length-1 against this tree, with one proof (the siblings up to a root)
   * per span of them. Throws BLOCKS_REFUSED when they do not hash to the signed roots.
   */
  checkBlocks (start: number, blocks: readonly Buffer[], rawProofs: unknown, field: string): void {
    const end = start + blocks.length
    const covering = spans(start, end)
    if (!Array.isArray(rawProofs) || rawProofs.length !== covering.length) {
      throw HostError.BAD_FRAME(this.what, `blocks ${start}..${end - 1} came with ${Array.isArray(rawProofs) ? rawProofs.length : 'no'} proofs, not ${covering.length}`)
    }
    covering.forEach((span, i) => {
      const [left, right] = flat.spans(span)
      const first = left / 2
      const top = this.climb(spanNode(span, blocks.slice(first - start, right / 2 + 1 - start), first), nodes(rawProofs[i], this.what, `the proof of span ${span}`))
      if (!top.equal) {
        const which = right / 2 > first ? `blocks ${first}..${right / 2}` : `block ${first}`
        throw HostError.BLOCKS_REFUSED(this.what, `${field}.blocks`, `${which} as signed in the tree of ${this.length} blocks`, 'other bytes',
          `${which} do${right / 2 > first ? '' : 'es'} not hash to the tree it signed (${this.length} blocks, tree hash ${this.treeHash.toString('hex').slice(0, 16)}…)`)
      }
    })
  }

  /** Climbs from `start` by its siblings `path` to a root of this tree; equal: it reached that root's size and hash. */
  private climb (start: TreeNode, path: TreeNode[]): { equal: boolean } {
    let at = start
    for (const sibling of path) {
      if (sibling.index !== flat.sibling(at.index)) throw HostError.BAD_FRAME(this.what, `proof node ${sibling.index} is not the sibling of node ${at.index}`)
      at = { index: flat.parent(at.index), size: at.size + sibling.size, hash: crypto.parent(at, sibling) }
    }
    const root = this.rootsByIndex.get(at.index)
    if (root === undefined) throw HostError.BAD_FRAME(this.what, `a proof ends at node ${at.index}, which is not a root of the signed tree`)
    return { equal: root.size === at.size && root.hash.equals(at.hash) }
  }
}
