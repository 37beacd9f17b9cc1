// The state root: one sha256 that names the whole files archive, independent of keys and storage.
//
// Definition (nodevms-state-root/1), so an auditor can recompute it from the files alone:
//   leaf(path, content) = UTF-8(path) || 0x00 || sha256(content)          (sha256 as 32 raw bytes)
//   bucket(path)        = first byte of sha256(UTF-8(path))                (0..255)
//   bucketDigest[b]     = sha256( leaf(...) of every file whose bucket is b, concatenated in order of
//                                 path, comparing the UTF-8 bytes )
//                         an empty bucket's digest is sha256 of the empty string
//   root                = sha256( UTF-8("nodevms-state-root/1") || bucketDigest[0] || ... || bucketDigest[255] )
//                         written as 64 lowercase hex characters.
// Paths are the archive's absolute, normalised paths ('/a/b.txt'); they never contain NUL, so the 0x00
// separator makes every leaf sequence unambiguous.
// The 256 buckets make the root incremental: a one-file change rehashes one bucket (about 1/256 of
// the leaves) plus 8 KB of bucket digests, however large the archive.

import { createHash } from 'node:crypto'
import type { Files } from '../engine/index.js'

const PREFIX = Buffer.from('nodevms-state-root/1', 'utf8')
const BUCKETS = 256
const EMPTY_DIGEST = sha256(new Uint8Array(0))

function sha256 (data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest()
}

function bucketOf (pathBytes: Uint8Array): number {
  return sha256(pathBytes)[0]
}

function leafOf (pathBytes: Buffer, contentHash: Uint8Array): Buffer {
  const leaf = Buffer.allocUnsafe(pathBytes.length + 1 + 32)
  pathBytes.copy(leaf, 0)
  leaf[pathBytes.length] = 0
  leaf.set(contentHash, pathBytes.length + 1)
  return leaf
}

function checkHash (contentHash: Uint8Array): void {
  if (!(contentHash instanceof Uint8Array) || contentHash.length !== 32) {
    throw new TypeError('A content hash must be the 32 raw bytes of a sha256')
  }
}

interface Leaf { pathBytes: Buffer, leaf: Buffer }

/** The state root of a files archive, kept up to date one file at a time. */
export class StateRoot {
  // Per bucket, the leaves sorted by UTF-8 path bytes, so an edit is a binary search and a splice.
  private readonly buckets: Leaf[][] = Array.from({ length: BUCKETS }, () => [])
  // PREFIX || bucketDigest[0] || … || bucketDigest[255], kept as one buffer so the root is one hash call.
  private readonly digests: Buffer = Buffer.concat([PREFIX, ...Array.from({ length: BUCKETS }, () => EMPTY_DIGEST)])
  private readonly dirty = new Set<number>()
  private cached: string | null = null
  private count = 0

  /** Number of files. */
  get size (): number { return this.count }

  /** Records that path now holds content with this sha256, or that it was deleted (null). */
  set (path: string, contentHash: Uint8Array | null): void {
    const pathBytes = Buffer.from(path, 'utf8')
    const b = bucketOf(pathBytes)
    const leaves = this.buckets[b]
    const [i, found] = search(leaves, pathBytes)
    if (contentHash === null) {
      if (!found) return
      leaves.splice(i, 1)
      this.count--
    } else {
      checkHash(contentHash)
      const leaf = { pathBytes, leaf: leafOf(pathBytes, contentHash) }
      if (found) {
        if (leaves[i].leaf.equals(leaf.leaf)) return
        leaves[i] = leaf
      } else {
        leaves.splice(i, 0, leaf)
        this.count++
      }
    }
    this.dirty.add(b)
    this.cached = null
  }

  /** The sha256 of path's content, or null when there is no such file. */
  hashOf (path: string): Uint8Array | null {
    const pathBytes = Buffer.from(path, 'utf8')
    const leaves = this.buckets[bucketOf(pathBytes)]
    const [i, found] = search(leaves, pathBytes)
    return found ? Buffer.from(leaves[i].leaf.subarray(pathBytes.length + 1)) : null
  }

  /** The root as 64 lowercase hex; only buckets changed since the last digest are rehashed. */
  digest (): string {
    if (this.cached !== null) return this.cached
    for (const b of this.dirty) {
      const h = createHash('sha256')
      for (const { leaf } of this.buckets[b]) h.update(leaf)
      h.digest().copy(this.digests, PREFIX.length + 32 * b)
    }
    this.dirty.clear()
    this.cached = createHash('sha256').update(this.digests).digest('hex')
    return this.cached
  }

  /** sha256 of a file's content, as 32 raw bytes. */
  static hashContent (data: Uint8Array): Uint8Array {
    return sha256(data)
  }

  /** Builds the root of an archive by reading every file. */
  static async fromFiles (files: Files): Promise<StateRoot> {
    const root = new StateRoot()
    for (const path of await files.list('/')) {
      const data = await files.get(path)
      if (data !== null) root.set(path, sha256(data))
    }
    return root
  }
}

// Binary search by UTF-8 bytes: [index, found].
function search (leaves: Leaf[], pathBytes: Buffer): [number, boolean] {
  let lo = 0
  let hi = leaves.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    const c = Buffer.compare(leaves[mid].pathBytes, pathBytes)
    if (c === 0) return [mid, true]
    if (c < 0) lo = mid + 1
    else hi = mid
  }
  return [lo, false]
}

/**
 * The state root computed from scratch, straight from the definition above.
 * It shares nothing with StateRoot's incremental bookkeeping, so tests use it as the reference.
 */
export function computeStateRoot (entries: Iterable<[path: string, content: Uint8Array]>): string {
  const buckets: Array<Array<[Buffer, Buffer]>> = Array.from({ length: BUCKETS }, () => [])
  for (const [path, content] of entries) {
    const pathBytes = Buffer.from(path, 'utf8')
    buckets[sha256(pathBytes)[0]].push([pathBytes, Buffer.concat([pathBytes, Buffer.from([0]), sha256(content)])])
  }
  const parts: Buffer[] = [PREFIX]
  for (const bucket of buckets) {
    bucket.sort((a, b) => Buffer.compare(a[0], b[0]))
    parts.push(sha256(Buffer.concat(bucket.map(([, leaf]) => leaf))))
  }
  return sha256(Buffer.concat(parts)).toString('hex')
}
