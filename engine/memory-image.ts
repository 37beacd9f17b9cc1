// A copy of a QuickJS instance's linear memory between calls: everything up to the allocator's break,
// except the stack's cold part (wasm-probe.ts). Putting it back, into the same instance or a fresh
// one of the same build, returns the guest to exactly that moment.
import { growHeap } from './heap.js'
import { readBreak, type WasmProbes } from './wasm-probe.js'

export interface Region { start: number, bytes: Uint8Array }

export class MemoryImage {
  constructor (readonly breakAt: number, readonly regions: Region[]) {}

  static capture (memory: WebAssembly.Memory, probes: WasmProbes): MemoryImage {
    const breakAt = readBreak(memory, probes.breakAddress)
    const [coldStart, coldEnd] = probes.coldStack
    const all = new Uint8Array(memory.buffer)
    if (breakAt > all.length) throw new Error('the allocator\'s break lies past the heap: the memory layout is not what the engine expects')
    // (checkpoint-file.ts checks a file's spans against these same rules.)
    const spans: Array<[number, number]> = coldEnd > coldStart && breakAt > coldEnd ? [[0, coldStart], [coldEnd, breakAt]] : [[0, breakAt]]
    return new MemoryImage(breakAt, spans.map(([start, end]) => ({ start, bytes: all.slice(start, end) })))
  }

  get byteLength (): number {
    return this.regions.reduce((n, r) => n + r.bytes.byteLength, 0)
  }

  /**
   * Puts the memory back as it was. What the allocator used after the image was taken is zeroed, as
   * in an instance that never went past the image's break; the cold stack is never touched by a call.
   */
  restoreInto (memory: WebAssembly.Memory, probes: WasmProbes): void {
    const breakNow = readBreak(memory, probes.breakAddress)
    if (!growHeap(memory, this.breakAt)) throw new Error(`the heap cannot grow to the checkpoint's ${this.breakAt} bytes`)
    const all = new Uint8Array(memory.buffer)
    for (const { start, bytes } of this.regions) all.set(bytes, start)
    if (breakNow > this.breakAt) all.fill(0, this.breakAt, Math.min(breakNow, all.length))
  }
}
