// Reads ranges of a Hypercore's blocks in windows: the blocks already stored locally come from one
// storage scan per window (one RocksDB iterator instead of one read batch per block, which is most of a
// verifier's storage cost), and only the blocks not yet local are fetched one by one with core.get,
// which waits for them to replicate.
import type Hypercore from 'hypercore'

/** One block by index, as stored (binary); null only from a session that does not wait. */
export interface Block { index: number, value: Buffer | null }

interface BlockScan { createBlockStream (range: { gte: number, lt: number }): AsyncIterable<{ index: number, value: Buffer }> }

/**
 * The local scan of the core's storage, or null when this core cannot be scanned safely (encrypted
 * blocks, or a hypercore without the storage scan): then every block is read with core.get.
 */
function storageOf (core: Hypercore): BlockScan | null {
  const internal = core as unknown as { encryption?: unknown, state?: { storage?: Partial<BlockScan> } | null }
  if (internal.encryption !== null && internal.encryption !== undefined) return null
  const storage = internal.state?.storage
  return typeof storage?.createBlockStream === 'function' ? storage as BlockScan : null
}

/** Blocks start..end-1 in order: the local ones from one storage scan, the others waited for (core.get). */
export async function readWindow (core: Hypercore, start: number, end: number): Promise<Array<Buffer | null>> {
  const blocks: Array<Buffer | null> = new Array(end - start).fill(null)
  const storage = storageOf(core)
  if (storage !== null) {
    for await (const { index, value } of storage.createBlockStream({ gte: start, lt: end })) {
      if (index >= start && index < end) blocks[index - start] = value
    }
  }
  const missing: number[] = []
  blocks.forEach((block, k) => { if (block === null) missing.push(k) })
  await Promise.all(missing.map(async (k) => {
    blocks[k] = await core.get(start + k, { valueEncoding: 'binary' }) as Buffer | null
  }))
  return blocks
}

/** Windows of blocks start..end-1 in order; the next window is read while the caller works on this one. */
export async function * readWindows (core: Hypercore, start: number, end: number, size: number): AsyncGenerator<Block[]> {
  const read = (from: number) => readWindow(core, from, Math.min(end, from + size)).then((values) => values.map((value, k) => ({ index: from + k, value })))
  let next = start < end ? read(start) : null
  for (let from = start; next !== null; from += size) {
    const current = next
    next = from + size < end ? read(from + size) : null
    next?.catch(() => {}) // surfaced when reached
    try {
      yield await current
    } catch (err) {
      await next?.catch(() => {})
      throw err
    }
  }
}
