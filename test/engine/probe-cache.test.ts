// The wasm probes kept by `npm run build` (engine/probe-cache.ts) are what a worker measures afresh: an engine
// that starts from the cache lays out and checks its memory exactly as one that probed.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Worker } from 'node:worker_threads'
import { cachedProbes } from '../../engine/probe-cache.js'
import type { WasmProbes } from '../../engine/wasm-probe.js'

/** The probes measured in a new worker thread with an engine's native stack, as the first engine of a process without the cache does. */
function probeInWorker (): Promise<WasmProbes> {
  const probe = new URL('../../engine/wasm-probe.js', import.meta.url).href
  const code = `import(${JSON.stringify(probe)}).then(async (m) => require('node:worker_threads').parentPort.postMessage(await m.probeWasm()))`
  return new Promise((resolve, reject) => {
    const worker = new Worker(code, { eval: true, resourceLimits: { stackSizeMb: 64 } })
    worker.once('message', (probes: WasmProbes) => { resolve(probes); void worker.terminate() })
    worker.once('error', reject)
  })
}

test('the build keeps the probes of this wasm, and they are what a worker measures', async () => {
  const cached = cachedProbes()
  assert.ok(cached !== null, 'npm run build wrote dist/engine/wasm-probes.json for this wasm')
  assert.equal(cached, await probeInWorker())
})

test.run()
