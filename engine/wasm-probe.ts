// What the engine must know about the QuickJS build that its exports do not say, measured once per
// process in a throwaway instance (probing in an engine's own instance would make the first engine's
// heap differ from every later one's), and handed to later worker threads:
// - where JSContext keeps its interrupt counter (interrupt-counter.ts);
// - where the allocator keeps its break, the end of the heap in use (a checkpoint copies memory up to it);
// - the stack: between calls everything below its top is dead, so a checkpoint need not copy it.
import type { QuickJSContext } from 'quickjs-emscripten'
import { findCounterOffset } from './interrupt-counter.js'
import { compile, instantiateQuickJS, memoryOf } from './wasm.js'

export interface WasmProbes {
  counterOffset: number
  /** Address of the allocator's break pointer (emscripten's sbrk). */
  breakAddress: number
  /** [start, end) of the stack below its top, dead between calls and never copied; [0, 0) when it could not be established. */
  coldStack: [number, number]
}

const PAGE = 65536
/** Emscripten's stack for this build (STACK_SIZE), below its top; the probe checks what it relies on. */
const STACK_SIZE = 5 * 1024 * 1024
/** Left out of the cold part next to the static data, in case that reaches higher than the stack size implies. */
const DATA_MARGIN = 64 * 1024
/** The part of the stack next to its top that calls use: QuickJS's 256 KB and the C frames past its checks. */
const HOT_STACK = 512 * 1024

let probes: WasmProbes | null = null

export function wasmProbes (): WasmProbes | null { return probes }

export function adoptProbes (measured: WasmProbes): void { probes ??= measured }

export async function probeWasm (): Promise<WasmProbes> {
  if (probes !== null) return probes
  const qjs = await instantiateQuickJS()
  const memory = memoryOf(qjs)
  // The instance is dropped, not disposed: the probes leave it with allocations QuickJS would abort on.
  const context = qjs.newContext()
  const counterOffset = findCounterOffset(memory, context)
  const breakAddress = findBreakAddress(memory, context)
  probes ??= { counterOffset, breakAddress, coldStack: findColdStack(memory, context, breakAddress) }
  return probes
}

/** The allocator's break: the end of the heap in use. */
export function readBreak (memory: WebAssembly.Memory, breakAddress: number): number {
  return new Uint32Array(memory.buffer, breakAddress, 1)[0]
}

/**
 * The break pointer is a word in static data that grows by what large allocations ask for, ends
 * within the last page of the (exactly grown) heap, and does not move for a small allocation that
 * fits in the heap already. The allocator's own pointer to its top chunk can pass all of that too,
 * but the top chunk lies below the break, so the break is the highest of them.
 */
function findBreakAddress (memory: WebAssembly.Memory, context: QuickJSContext): number {
  const malloc = (context as unknown as { module: { _malloc (bytes: number): number } }).module._malloc
  const WORDS = 256 * 1024
  const snapshot = () => new Uint32Array(memory.buffer, 0, WORDS).slice()
  const endsHeap = (value: number) => value <= memory.buffer.byteLength && memory.buffer.byteLength - value < PAGE
  const before = snapshot()
  malloc(32 * 1024 * 1024)
  const grown = snapshot()
  malloc(1000)
  const small = snapshot()
  malloc(8 * 1024 * 1024)
  const again = snapshot()
  const candidates: number[] = []
  for (let i = 0; i < WORDS; i++) {
    if (grown[i] - before[i] >= 32 * 1024 * 1024 && small[i] === grown[i] && again[i] - small[i] >= 8 * 1024 * 1024 && endsHeap(again[i])) candidates.push(i * 4)
  }
  if (candidates.length === 0 || candidates.length > 2) throw new Error(`could not locate the QuickJS allocator's break (${candidates.length} candidates): unsupported build`)
  return candidates.reduce((best, address) => (again[address / 4] > again[best / 4] ? address : best))
}

/**
 * The stack, if this build lays memory out as expected: static data, then the stack (growing down
 * from its top), then the heap. The stack's bottom is where its size says, less a margin: what lies
 * between it and the part calls use must be all zeros after recursion as deep as QuickJS allows, and
 * lie above the static data the break pointer is part of.
 */
function findColdStack (memory: WebAssembly.Memory, context: QuickJSContext, breakAddress: number): [number, number] {
  const { stackTop } = compile()
  const cold: [number, number] = [stackTop - STACK_SIZE + DATA_MARGIN, stackTop]
  context.runtime.setMaxStackSize(256 * 1024)
  // Plain recursion reaches QuickJS's stack limit on any thread's native stack.
  const result = context.evalCode('(function f () { f() })()')
  if (result.error) result.error.dispose()
  else result.value.dispose()
  const bytes = Buffer.from(memory.buffer, cold[0], stackTop - HOT_STACK - cold[0])
  const untouched = cold[0] > breakAddress + 4 && bytes.equals(Buffer.alloc(bytes.byteLength))
  return untouched ? cold : [0, 0]
}
