// The host's disk cache of the script's memory: engine checkpoints (Engine.checkpoint()) in DIR/checkpoints,
// each with the log length it covers. They are a cache only: never in the log, never needed by verify, and
// a start-up that cannot trust one replays the log instead (script-memory.ts).
//
// A file is  "NVMSMEMO" | u32 header length | header (JSON) | the engine's checkpoint | sha256
// where the sha256 covers the magic, the header and the engine bytes' length: the engine checks its own
// bytes (createEngine refuses a torn or altered checkpoint), so they are not hashed twice. Files are written
// to a temporary name and renamed into place, but not fsynced: a cache need not survive a power cut, and a
// file one left torn or zeroed fails those checks and is ignored, while syncing megabytes would hold up the
// host's own syncs of the log on the same disk.
// The header names the call log (key), the length covered and the log's tree hash at that length, so a
// checkpoint of another log, or of a history the log no longer extends, is never used.
import { createHash } from 'node:crypto'
import fs from 'node:fs/promises'
import { join } from 'node:path'
import { durableFs } from './durable-fs.js'

export const CHECKPOINT_DIR = 'checkpoints'
const MAGIC = Buffer.from('NVMSMEMO')
const FORMAT = 1
const DIGEST = 32
const SUFFIX = '.ckpt'
const TEMP_PREFIX = '.tmp-'
/** Checkpoint files kept: the newest, and the one before it in case the newest cannot be used. */
const KEEP = 2

export interface CheckpointHeader {
  format: number
  /** The call log's key (hex). */
  logKey: string
  /** Log entries covered: the memory after entries 0 .. length - 1. */
  length: number
  /** The log's tree hash (hex) at that length. */
  treeHash: string
}

/** A checkpoint file's content, once its checksum and header check out. */
export interface CheckpointFile { name: string, header: CheckpointHeader, engine: Uint8Array }

/** The file's checksum: the magic, the header's length and bytes, and how many engine bytes follow. */
function digest (size: Uint8Array, header: Uint8Array, engineBytes: number): Buffer {
  const length = Buffer.alloc(8)
  length.writeBigUInt64LE(BigInt(engineBytes))
  return createHash('sha256').update(MAGIC).update(size).update(header).update(length).digest()
}

export class CheckpointFiles {
  readonly dir: string

  constructor (hostDir: string) {
    this.dir = join(hostDir, CHECKPOINT_DIR)
  }

  /** Writes a checkpoint torn-proof, then removes all but the newest KEEP. */
  async write (header: Omit<CheckpointHeader, 'format'>, engine: Uint8Array): Promise<string> {
    await fs.mkdir(this.dir, { recursive: true })
    const name = `${String(header.length).padStart(12, '0')}${SUFFIX}`
    const temp = join(this.dir, `${TEMP_PREFIX}${name}-${process.pid}`)
    const headerBytes = Buffer.from(JSON.stringify({ format: FORMAT, ...header }))
    const size = Buffer.alloc(4)
    size.writeUInt32LE(headerBytes.byteLength)
    const hash = digest(size, headerBytes, engine.byteLength)
    const fd = await durableFs.open(temp, 'w')
    try {
      let at = 0
      for (const part of [MAGIC, size, headerBytes, Buffer.from(engine.buffer, engine.byteOffset, engine.byteLength), hash]) {
        await durableFs.write(fd, part, at)
        at += part.byteLength
      }
    } catch (err) {
      await durableFs.close(fd).catch(() => {})
      await fs.rm(temp, { force: true })
      throw err
    }
    await durableFs.close(fd)
    await fs.rename(temp, join(this.dir, name))
    for (const old of (await this.names()).slice(KEEP)) await fs.rm(join(this.dir, old), { force: true })
    return name
  }

  /** Checkpoint file names, newest (longest log) first. */
  async names (): Promise<string[]> {
    let names: string[]
    try {
      names = await fs.readdir(this.dir)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
      throw err
    }
    return names.filter((n) => /^\d{12}\.ckpt$/.test(n)).sort().reverse()
  }

  /** A checkpoint file's header and engine bytes; throws an Error saying why it cannot be read as one. */
  async read (name: string): Promise<CheckpointFile> {
    const bytes = await fs.readFile(join(this.dir, name))
    if (bytes.byteLength < MAGIC.byteLength + 4 + DIGEST || !bytes.subarray(0, MAGIC.byteLength).equals(MAGIC)) throw new Error('it is not a nodevms memory checkpoint')
    const body = bytes.subarray(0, bytes.byteLength - DIGEST)
    const headerEnd = MAGIC.byteLength + 4 + body.readUInt32LE(MAGIC.byteLength)
    if (headerEnd > body.byteLength) throw new Error('its header is cut short (a torn file)')
    const expected = digest(body.subarray(MAGIC.byteLength, MAGIC.byteLength + 4), body.subarray(MAGIC.byteLength + 4, headerEnd), body.byteLength - headerEnd)
    if (!expected.equals(bytes.subarray(bytes.byteLength - DIGEST))) throw new Error('its checksum does not match (a torn or altered file)')
    let header: CheckpointHeader
    try {
      header = JSON.parse(body.toString('utf8', MAGIC.byteLength + 4, headerEnd)) as CheckpointHeader
    } catch {
      throw new Error('its header is not JSON')
    }
    if (header.format !== FORMAT || typeof header.logKey !== 'string' || !Number.isSafeInteger(header.length) || typeof header.treeHash !== 'string') {
      throw new Error(`its header is not one this nodevms writes (format ${JSON.stringify(header.format)})`)
    }
    return { name, header, engine: new Uint8Array(body.buffer, body.byteOffset + headerEnd, body.byteLength - headerEnd) }
  }

  /** Removes temporary files a crash left behind mid-write. */
  async removeTemporary (): Promise<void> {
    let names: string[]
    try {
      names = await fs.readdir(this.dir)
    } catch {
      return
    }
    for (const name of names) if (name.startsWith(TEMP_PREFIX)) await fs.rm(join(this.dir, name), { force: true })
  }
}
