// A checkpoint as bytes, for a host's on-disk cache, and the checks before one is trusted:
//   "NVMSCKPT" | u32 length of the header | header (JSON) | the memory's non-zero pages | sha256 of all before
// It restores only into the same engine build (ENGINE_VERSION and wasm sha256), the same script
// (sha256 of its source), the same options and the same memory layout; anything else, or a torn or
// altered file, is refused with CHECKPOINT_REFUSED, and the host replays its log instead.
import { createHash } from 'node:crypto'
import { EngineError } from './errors.js'
import { MemoryImage, type Region } from './memory-image.js'
import type { LoadOptions } from './protocol.js'
import type { RuntimeImage, RuntimePointers } from './script-runtime.js'
import { compile, ENGINE_VERSION } from './wasm.js'
import type { WasmProbes } from './wasm-probe.js'

const MAGIC = Buffer.from('NVMSCKPT')
const FORMAT = 1
const PAGE = 4096
const DIGEST = 32

interface Header {
  format: number
  engine: string
  wasm: string
  source: string
  options: LoadOptions
  probes: WasmProbes
  breakAt: number
  /** Each span of memory the image covers, and the runs of non-zero pages in it; the rest is zeros. */
  spans: Array<{ start: number, length: number, runs: Array<[number, number]> }>
  pointers: RuntimePointers
  methods: string[]
}

const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest()
const ZERO_PAGE = Buffer.alloc(PAGE)
const isZero = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).equals(ZERO_PAGE.subarray(0, bytes.byteLength))

export function encodeCheckpoint (image: RuntimeImage, source: string, options: LoadOptions, probes: WasmProbes): Uint8Array {
  const spans: Header['spans'] = []
  const data: Uint8Array[] = []
  for (const { start, bytes } of image.memory.regions) {
    const runs: Array<[number, number]> = []
    for (let at = 0; at < bytes.byteLength; at += PAGE) {
      const page = bytes.subarray(at, Math.min(at + PAGE, bytes.byteLength))
      if (isZero(page)) continue
      const last = runs[runs.length - 1]
      if (last !== undefined && last[0] + last[1] === at) last[1] += page.byteLength
      else runs.push([at, page.byteLength])
    }
    for (const [at, length] of runs) data.push(bytes.subarray(at, at + length))
    spans.push({ start, length: bytes.byteLength, runs })
  }
  const header: Header = {
    format: FORMAT,
    engine: ENGINE_VERSION,
    wasm: compile().sha256,
    source: sha256(source).toString('hex'),
    options,
    probes,
    breakAt: image.memory.breakAt,
    spans,
    pointers: image.pointers,
    methods: image.methods
  }
  const headerBytes = Buffer.from(JSON.stringify(header))
  const length = Buffer.alloc(4)
  length.writeUInt32LE(headerBytes.byteLength)
  const body = Buffer.concat([MAGIC, length, headerBytes, ...data])
  return Buffer.concat([body, sha256(body)])
}

/** The image in a checkpoint file, once every check has passed; CHECKPOINT_REFUSED says which did not. */
export function decodeCheckpoint (file: Uint8Array, source: string, options: LoadOptions, probes: WasmProbes): RuntimeImage {
  const bytes = Buffer.from(file.buffer, file.byteOffset, file.byteLength)
  if (bytes.byteLength < MAGIC.byteLength + 4 + DIGEST || !bytes.subarray(0, MAGIC.byteLength).equals(MAGIC)) throw EngineError.CHECKPOINT_REFUSED('it is not a nodevms checkpoint')
  const body = bytes.subarray(0, bytes.byteLength - DIGEST)
  if (!sha256(body).equals(bytes.subarray(bytes.byteLength - DIGEST))) throw EngineError.CHECKPOINT_REFUSED('its checksum does not match (a torn or altered file)')
  const headerLength = body.readUInt32LE(MAGIC.byteLength)
  const dataStart = MAGIC.byteLength + 4 + headerLength
  if (dataStart > body.byteLength) throw EngineError.CHECKPOINT_REFUSED('its header is cut short')
  let header: Header
  try {
    header = JSON.parse(body.toString('utf8', MAGIC.byteLength + 4, dataStart)) as Header
  } catch {
    throw EngineError.CHECKPOINT_REFUSED('its header is not JSON')
  }
  const differs = (what: string, was: unknown, now: unknown) => {
    if (JSON.stringify(was) !== JSON.stringify(now)) throw EngineError.CHECKPOINT_REFUSED(`it was made with ${what} ${JSON.stringify(was)}, this engine has ${JSON.stringify(now)}`)
  }
  differs('checkpoint format', header.format, FORMAT)
  differs('engine', header.engine, ENGINE_VERSION)
  differs('wasm sha256', header.wasm, compile().sha256)
  differs('script sha256', header.source, sha256(source).toString('hex'))
  differs('options', header.options, options)
  differs('memory layout', header.probes, probes)
  const [coldStart, coldEnd] = probes.coldStack
  const expected = coldEnd > coldStart && header.breakAt > coldEnd ? [[0, coldStart], [coldEnd, header.breakAt - coldEnd]] : [[0, header.breakAt]]
  differs('memory spans', header.spans.map((s) => [s.start, s.length]), expected)
  const regions: Region[] = []
  let at = dataStart
  for (const span of header.spans) {
    const region = new Uint8Array(span.length)
    for (const [offset, length] of span.runs) {
      if (offset < 0 || length < 0 || offset + length > span.length || at + length > body.byteLength) throw EngineError.CHECKPOINT_REFUSED('its pages do not fit its spans')
      region.set(body.subarray(at, at + length), offset)
      at += length
    }
    regions.push({ start: span.start, bytes: region })
  }
  if (at !== body.byteLength) throw EngineError.CHECKPOINT_REFUSED('it has bytes its header does not account for')
  return { memory: new MemoryImage(header.breakAt, regions), pointers: header.pointers, methods: header.methods }
}
