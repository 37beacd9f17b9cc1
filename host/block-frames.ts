// The block endpoint's wire format (ws://host:port/blocks): how a verifier fetches a host's cores in bulk
// and checks them in memory, as Hypercore would, instead of one replication request per block.
//   request (text):  {"id":N,"op":"head","key":<hex>[,"from":L]}
//                    {"id":N,"op":"blocks","key":<hex>,"start":A,"end":B,"length":L}
//   reply (binary):  u32 LE header length | header JSON | payload (the blocks of a 'blocks' reply, concatenated)
// A 'head' reply is the core's signed tree: its manifest, length, fork, the roots of the Merkle tree and the
// signature; with `from`, also the path from each root of that older length up to a root of this one, which
// proves the new tree extends the old. A 'blocks' reply carries blocks A..C-1 (C ≤ B: the host may cut a frame
// short, never reorder it) of the tree of length L, and for each span of those blocks (spans(A, C): the largest
// aligned subtrees that cover them) the sibling nodes from that span up to its root. Replies come in request order.
// The host serves only its own cores and writes nothing; every check is the verifier's (host/verify).
import { createRequire } from 'node:module'

export const BLOCKS_PATH = '/blocks'
/** Blocks a verifier asks for at once. */
export const MAX_FRAME_BLOCKS = 1024
/** Bytes of blocks the host puts in one frame (a larger single block goes alone). */
export const MAX_FRAME_BYTES = 4 * 1024 * 1024
/** The largest reply a verifier accepts: one block may be that big. */
export const MAX_REPLY_BYTES = 64 * 1024 * 1024

// flat-tree, the index arithmetic of Hypercore's Merkle tree, resolved through hypercore so both use one copy.
/** require() as hypercore sees it: its own dependencies and internals, whatever npm hoisted. */
export const hypercoreRequire = createRequire(createRequire(import.meta.url).resolve('hypercore'))
/** A length, index or id on the wire: a safe integer, not negative. */
export const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0
export const flat = hypercoreRequire('flat-tree') as {
  fullRoots (index: number): number[]
  sibling (index: number): number
  parent (index: number): number
  depth (index: number): number
  leftSpan (index: number): number
  rightSpan (index: number): number
  spans (index: number): [number, number]
}

/** A node of a core's Merkle tree as sent: its flat-tree index, the bytes under it, its hash (hex). */
export interface WireNode { index: number, size: number, hash: string }

export type BlockRequest =
  | { id: number, op: 'head', key: string, from?: number }
  | { id: number, op: 'blocks', key: string, start: number, end: number, length: number }

export interface HeadReply {
  id: number, type: 'head', key: string, manifest: string, length: number, fork: number, signature: string
  roots: WireNode[]
  /** With a request's `from`: for each root of that length, the siblings up to the root of this length above it. */
  upgrade?: WireNode[][]
}

export interface BlocksReply {
  id: number, type: 'blocks', start: number, end: number
  /** Each block's byte length, in order: the payload is the blocks concatenated. */
  sizes: number[]
  /** For each of spans(start, end), in order: the sibling nodes from the span up to its root. */
  proofs: WireNode[][]
}

export interface ErrorReply { id: number, type: 'error', message: string }

export type BlockReply = HeadReply | BlocksReply | ErrorReply

/**
 * The flat-tree indexes of the largest aligned subtrees that cover blocks start..end-1, left to right.
 * Both ends compute them; a frame proves each span up to a root of the tree.
 */
export function spans (start: number, end: number): number[] {
  const out: number[] = []
  let at = start
  while (at < end) {
    let width = 1
    while (at % (width * 2) === 0 && at + width * 2 <= end) width *= 2
    // The subtree of `width` leaves from leaf `at`: flat index (offset << (depth + 1)) + (1 << depth) - 1.
    out.push((at / width) * 2 * width + width - 1)
    at += width
  }
  return out
}

/** One reply as bytes: its header, then the payload. */
export function encodeReply (header: BlockReply, payload: readonly Buffer[] = []): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8')
  const prefix = Buffer.allocUnsafe(4)
  prefix.writeUInt32LE(json.byteLength, 0)
  return Buffer.concat([prefix, json, ...payload])
}

/** Splits a reply into its parsed header and its payload; throws a plain Error saying what is malformed. */
export function decodeReply (bytes: Buffer): { header: unknown, payload: Buffer } {
  if (bytes.byteLength < 4) throw new Error(`a reply of ${bytes.byteLength} bytes, shorter than its own length prefix`)
  const length = bytes.readUInt32LE(0)
  if (length > bytes.byteLength - 4) throw new Error(`a reply whose header claims ${length} bytes, in a frame of ${bytes.byteLength}`)
  let header: unknown
  try {
    header = JSON.parse(bytes.subarray(4, 4 + length).toString('utf8'))
  } catch {
    throw new Error('a reply whose header is not JSON')
  }
  return { header, payload: bytes.subarray(4 + length) }
}
