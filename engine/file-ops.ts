// System.files operations as the engine's worker performs them: the guest queues a request and gets a
// promise; the engine takes requests one at a time, in request order, and settles each (call-runner.ts).
import { EngineError } from './errors.js'
import { FileOpError, normalizePath, type FileSystem, type GuestError } from './files.js'

/** One System.files request, as the guest queued it. `data` is set for binary writes. */
export interface FileRequest { name: string, args: unknown[], data: Uint8Array | undefined }

/** What settles the guest's promise: a value (text, JSON text or bytes), or an error to reject with. */
export type FileOutcome = { ok: true, value: string | Uint8Array | undefined } | { ok: false, error: GuestError }

/** A failure of the files archive itself (not a NotFoundError and the like): not the script's doing. */
export class StorageFault {
  readonly error: EngineError
  constructor (cause: unknown) {
    this.error = new EngineError(`The files archive failed during a call: ${String((cause as Error)?.message ?? cause)}. The engine stopped; recreate it.`, 'STORAGE_FAILED', { cause })
  }
}

/** The arguments each operation takes, as the guest's prelude encodes them (and the bytes of a binary write). */
const SHAPES: Record<string, (args: unknown[], data: Uint8Array | undefined) => boolean> = {
  readFile: (a, d) => a.length === 2 && typeof a[0] === 'string' && typeof a[1] === 'string' && d === undefined,
  writeFile: (a, d) => d === undefined
    ? a.length === 3 && typeof a[0] === 'string' && typeof a[1] === 'string' && typeof a[2] === 'string'
    : a.length === 2 && typeof a[0] === 'string' && a[1] === 'binary' && d instanceof Uint8Array,
  stat: (a, d) => a.length === 1 && typeof a[0] === 'string' && d === undefined,
  readdir: (a, d) => a.length === 2 && typeof a[0] === 'string' && typeof a[1] === 'boolean' && d === undefined,
  mkdir: (a, d) => a.length === 1 && typeof a[0] === 'string' && d === undefined,
  unlink: (a, d) => a.length === 1 && typeof a[0] === 'string' && d === undefined,
  rmdir: (a, d) => a.length === 2 && typeof a[0] === 'string' && typeof a[1] === 'boolean' && d === undefined
}

/**
 * Performs one request, after checking its shape: whatever the guest sends, a malformed request is a
 * TypeError for the script. A StorageFault is thrown, not returned: the call cannot go on.
 */
export function performRequest (fs: FileSystem, request: FileRequest): FileOutcome {
  const { name, args, data } = request
  const shape = Object.hasOwn(SHAPES, name) ? SHAPES[name] : undefined
  if (shape === undefined || !Array.isArray(args) || !shape(args, data)) {
    return { ok: false, error: { name: 'TypeError', message: `System.files received a malformed ${typeof name === 'string' ? name : ''} request` } }
  }
  try {
    return { ok: true, value: perform(fs, request) }
  } catch (err) {
    if (err instanceof FileOpError) return { ok: false, error: err.guest }
    throw new StorageFault(err)
  }
}

/** The operation itself: text results are strings (JSON for stat/readdir), binary reads are bytes. */
function perform (fs: FileSystem, { name, args, data }: FileRequest): string | Uint8Array | undefined {
  const path = normalizePath(args[0])
  switch (name) {
    case 'readFile': {
      const encoding = args[1]
      const bytes = fs.readFile(path)
      if (encoding === 'binary') return bytes
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString(textEncoding(encoding === 'json' ? 'utf8' : encoding))
    }
    case 'writeFile': {
      const bytes = data ?? Buffer.from(String(args[2]), textEncoding(args[1]))
      fs.writeFile(path, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength))
      return undefined
    }
    case 'stat': return JSON.stringify(fs.stat(path))
    case 'readdir': return JSON.stringify(fs.readdir(path, args[1] === true))
    case 'mkdir': fs.mkdir(path); return undefined
    case 'unlink': fs.unlink(path); return undefined
    case 'rmdir': fs.rmdir(path, args[1] === true); return undefined
    default: throw new FileOpError({ name: 'TypeError', message: `unknown file operation ${name}` })
  }
}

function textEncoding (encoding: unknown): BufferEncoding {
  if (encoding === 'utf8' || encoding === 'utf-8' || encoding === 'base64' || encoding === 'hex') return encoding
  throw new FileOpError({ name: 'TypeError', message: `Unknown encoding ${JSON.stringify(encoding)}: use 'utf8', 'json', 'base64', 'hex' or 'binary'` })
}

