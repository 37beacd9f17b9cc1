// How a QuickJS instance's WASM heap grows. Emscripten asks the host to grow the heap through one
// import (found by its call to memory.grow), and here that request is capped and made exact:
// - QuickJS's own memory limit comes first, but a cap bounds the heap in case it does not count
//   something (typed array data, allocator fragmentation). Refusing makes malloc return NULL, which
//   QuickJS reports as out of memory.
// - Emscripten grows by a fifth more than asked. Growing exactly to the page the allocator asked for
//   makes whether an allocation succeeds depend only on the allocator's break (is it within the
//   cap?), never on how big the heap grew before: a call rolled back after it grew the heap, or a
//   checkpoint restored into a smaller fresh heap, then behave exactly like an engine that never
//   ran that call.
import type { Imports } from './wasm.js'

const PAGE = 65536

interface HeapControl {
  /** Bytes the allocator's break may reach. */
  cap: number
  /** Grows the heap (as the allocator would) to at least `bytes`; false if refused. */
  grow (bytes: number): boolean
}

const controls = new WeakMap<WebAssembly.Memory, HeapControl>()

export function controlHeapGrowth (imports: Imports): void {
  const env = imports.a
  const memory = Object.values(env).find((v) => v instanceof WebAssembly.Memory) as WebAssembly.Memory | undefined
  if (memory === undefined) throw new Error('QuickJS wasm imports have no memory: unsupported quickjs-emscripten build')
  const names = Object.keys(env).filter((name) => typeof env[name] === 'function' && String(env[name]).includes('.grow('))
  if (names.length !== 1) throw new Error(`expected 1 heap-resize import in the QuickJS wasm, found ${names.length}: unsupported build`)
  const resize = env[names[0]] as (requested: number) => boolean
  // Emscripten's resize computes its own (larger) page count and calls memory.grow with it; while
  // it runs, memory.grow grows by exactly the pages the request needs instead.
  const growable = memory as unknown as { grow (pages: number): number }
  const realGrow = growable.grow.bind(memory)
  let exactPages: number | null = null
  growable.grow = (delta: number) => realGrow(exactPages ?? delta)
  const grow = (requested: number): boolean => {
    requested >>>= 0
    if (requested > control.cap) return false
    if (requested <= memory.buffer.byteLength) return true
    exactPages = Math.ceil(requested / PAGE) - memory.buffer.byteLength / PAGE
    try {
      return resize(requested)
    } finally {
      exactPages = null
    }
  }
  const control: HeapControl = { cap: Infinity, grow }
  controls.set(memory, control)
  env[names[0]] = grow
}

function controlOf (memory: WebAssembly.Memory): HeapControl {
  const control = controls.get(memory)
  if (control === undefined) throw new Error('this QuickJS instance was not made by instantiateQuickJS()')
  return control
}

/** Caps the heap at `bytes` (rounded down to a page): an allocation past it fails. */
export function capHeap (memory: WebAssembly.Memory, bytes: number): void {
  controlOf(memory).cap = Math.floor(bytes / PAGE) * PAGE
}

/** Grows the heap to hold `bytes`, as the allocator would have (for a restored checkpoint). */
export function growHeap (memory: WebAssembly.Memory, bytes: number): boolean {
  return controlOf(memory).grow(bytes)
}
