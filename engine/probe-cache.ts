// The wasm probes (wasm-probe.ts) of the QuickJS build nodevms was built with, measured once by `npm run build`
// and kept next to this module, so that the first engine of a process does not probe a throwaway instance
// first (55–90 ms of its start, most of what `nodevms verify` spends before its first call). They are used only
// for the exact wasm they were measured on (its sha256, under the same engine version); any other build, or a
// missing or unreadable file, is probed as before.
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { compile, ENGINE_VERSION } from './wasm.js'
import { probeWasm, type WasmProbes } from './wasm-probe.js'

const CACHE = new URL('./wasm-probes.json', import.meta.url)

interface CacheFile { engine: string, wasmSha256: string, probes: WasmProbes }

const isAddress = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0

function isProbes (value: unknown): value is WasmProbes {
  const probes = value as WasmProbes | null
  return typeof probes === 'object' && probes !== null && isAddress(probes.counterOffset) && isAddress(probes.breakAddress) &&
    Array.isArray(probes.coldStack) && probes.coldStack.length === 2 && probes.coldStack.every(isAddress) && probes.coldStack[0] <= probes.coldStack[1]
}

/** The probes measured at build time for this very wasm, or null (then they are measured). */
export function cachedProbes (): WasmProbes | null {
  let file: CacheFile
  try {
    file = JSON.parse(readFileSync(CACHE, 'utf8')) as CacheFile
  } catch {
    return null
  }
  const fits = file?.engine === ENGINE_VERSION && file.wasmSha256 === compile().sha256 && isProbes(file.probes)
  return fits ? file.probes : null
}

/** Measures the probes and writes them for cachedProbes(). */
export async function writeProbeCache (): Promise<WasmProbes> {
  const probes = await probeWasm()
  const file: CacheFile = { engine: ENGINE_VERSION, wasmSha256: compile().sha256, probes }
  writeFileSync(CACHE, JSON.stringify(file) + '\n')
  return probes
}

// `node dist/engine/probe-cache.js`, a step of `npm run build`.
if (process.argv[1] === fileURLToPath(import.meta.url)) await writeProbeCache()
