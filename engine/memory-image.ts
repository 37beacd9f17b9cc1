// A copy of a QuickJS instance's linear memory between calls: everything up to the allocator's break,
// except the stack's cold part (wasm-probe.ts). Putting it back, into the same instance or a fresh
// one of the same build, returns the guest to exactly that moment.
import { growHeap } from './heap.js'
import { readBreak, type WasmProbes } from './wasm-probe.js'

export interface Region { start: number, bytes: Uint8Array }

export class MemoryImage {
  constructor (readonly breakAt: number, readonly regions: Region[]) {}

  /**
   * Copies the memory. Buffers of an image no longer needed (`reuse`) are written over when they are
   * big enough: fresh memory costs a page fault per page, far more than the copy.
   */
  static capture (memory: WebAssembly.Memory, probes: WasmProbes, reuse: MemoryImage | null = null): MemoryImage {
    const breakAt = readBreak(memory, probes.breakAddress)
    const [coldStart, coldEnd] = probes.coldStack
    const all = new Uint8Array(memory.buffer)
    if (breakAt > all.length) throw new Error('the allocator\'s break lies past the heap: the memory layout is not what the engine expects')
    // (checkpoint-file.ts checks a file's spans against these same rules.)
    const spans: Array<[number, number]> = coldEnd > coldStart && breakAt > coldEnd ? [[0, coldStart], [coldEnd, breakAt]] : [[0, breakAt]]
    const regions = spans.map(([start, end], i): Region => {
      const old = reuse?.regions[i]?.bytes
      const bytes = old !== undefined && old.buffer.byteLength >= end - start
        ? new Uint8Array(old.buffer, 0, end - start)
        : new Uint8Array(new ArrayBuffer(Math.ceil((end - start) * 1.25)), 0, end - start)
      bytes.set(all.subarray(start, end))
      return { start, bytes }
    })
    return new MemoryImage(breakAt, regions)
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
