// The WebAssembly globals nodevms uses. TypeScript declares them only in lib.dom, which a Node
// project should not pull in.
declare namespace WebAssembly {
  class Module {
    constructor (bytes: ArrayBufferView | ArrayBuffer)
  }
  class Instance {
    readonly exports: Record<string, unknown>
  }
  class Memory {
    readonly buffer: ArrayBuffer
  }
  type Imports = Record<string, Record<string, unknown>>
  function instantiate (module: Module, imports?: Imports): Promise<Instance>
}
