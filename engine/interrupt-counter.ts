// The interrupt counter behind gas. QuickJS polls the interrupt handler when ctx->interrupt_counter
// runs down from 10000. That counter is not exposed, so its offset in JSContext is found once per
// process (wasm-probe.ts), by watching which word is reset to 10000 at every poll and counts down
// between polls. Writing it at the start of each call makes gas independent of earlier calls.
import type { QuickJSContext } from 'quickjs-emscripten'

export const INTERRUPT_COUNTER_INIT = 10000

/** 32-bit words of a WASM memory; the view is remade only after the heap grows (growing detaches it). */
export class HeapWords {
  private view: Int32Array | null = null
  constructor (readonly memory: WebAssembly.Memory) {}

  private words (): Int32Array {
    if (this.view === null || this.view.buffer !== this.memory.buffer) this.view = new Int32Array(this.memory.buffer)
    return this.view
  }

  get (address: number): number { return this.words()[address >> 2] }
  set (address: number, value: number): void { this.words()[address >> 2] = value }
}

export class InterruptCounter {
  private constructor (private readonly heap: HeapWords, private readonly address: number) {}

  /** The counter of `context`, at `offset` into its JSContext. */
  static locate (heap: HeapWords, context: QuickJSContext, offset: number): InterruptCounter {
    const address = (context as unknown as { ctx: { value: number } }).ctx.value + offset
    if (address % 4 !== 0) throw new Error('the QuickJS interrupt counter is not word-aligned: unsupported build')
    return new InterruptCounter(heap, address)
  }

  get (): number { return this.heap.get(this.address) }
  set (value: number): void { this.heap.set(this.address, value) }
  reset (): void { this.set(INTERRUPT_COUNTER_INIT) }
}

/** The counter's offset in JSContext, found in a throwaway context by watching its polls. */
export function findCounterOffset (memory: WebAssembly.Memory, context: QuickJSContext): number {
  const ctxPtr = (context as unknown as { ctx: { value: number } }).ctx.value
  const WORDS = 1024
  const snapshots: Int32Array[] = []
  context.runtime.setInterruptHandler(() => {
    snapshots.push(new Int32Array(memory.buffer.slice(ctxPtr, ctxPtr + WORDS * 4)))
    return false
  })
  const result = context.evalCode('let s = 0; for (let i = 0; i < 100000; i++) s += i; s')
  context.runtime.removeInterruptHandler()
  if (result.error) { result.error.dispose(); throw new Error('could not probe the QuickJS interrupt counter') }
  result.value.dispose()
  const after = new Int32Array(memory.buffer.slice(ctxPtr, ctxPtr + WORDS * 4))
  const candidates: number[] = []
  for (let i = 0; i < WORDS; i++) {
    if (snapshots.length >= 2 && snapshots.every((s) => s[i] === INTERRUPT_COUNTER_INIT) &&
      after[i] < INTERRUPT_COUNTER_INIT && after[i] > 0) candidates.push(i * 4)
  }
  if (candidates.length !== 1) throw new Error(`could not locate the QuickJS interrupt counter (${candidates.length} candidates): unsupported build`)
  return candidates[0]
}
