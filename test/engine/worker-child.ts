// Child processes for worker.test.ts: how engine workers affect the life of the process that made them.
//   node worker-child.js unclosed   an engine is used and never closed: the process must still exit
//   node worker-child.js closed     an engine is closed: the process must exit
//   node worker-child.js waiting    the only thing left is a slow call in flight: it must complete first
//   node worker-child.js terminating  the engine's worker is killed: the kill must settle before the process exits
//   node worker-child.js warm       warmEngine(), an engine on the worker it readied, warmEngine() again: the process must exit
import { createEngine, warmEngine } from 'nodevms/engine'
import type { EngineWorker } from '../../engine/engine-worker.js'

const SCRIPT = 'let n = 0; exports.next = () => ++n; exports.slow = (k) => { let s = 0; for (let i = 0; i < k; i++) s += i % 7; return s }'
const mode = process.argv[2]
// warm: a worker getting ready, and nothing else, must not keep the process alive.
if (mode === 'warm') warmEngine()
const engine = await createEngine(SCRIPT, { gasLimit: 1e9, timeoutMs: 60_000 })
if (mode === 'warm') {
  process.stdout.write(`next=${String((await engine.call('next')).result)}\n`)
  warmEngine()
} else if (mode === 'unclosed') {
  await engine.call('next')
  process.stdout.write('called\n')
} else if (mode === 'closed') {
  await engine.call('next')
  await engine.close()
  process.stdout.write('closed\n')
} else if (mode === 'waiting') {
  // No timer, no socket: only the call in flight keeps the event loop alive.
  engine.call('slow', [3_000_000]).then((r) => process.stdout.write(`slow=${String(r.result)}\n`), (e: Error) => process.stdout.write(`failed ${e.message}\n`))
} else if (mode === 'terminating') {
  // A caller's wait that ends after the kill began (its answer was already on the way) releases the worker
  // before its 'exit' arrives: terminate() must still settle, not leave the process to end without it.
  const worker = (engine as unknown as { worker: EngineWorker }).worker
  worker.hold()
  const stopped = worker.terminate()
  worker.release()
  await stopped
  process.stdout.write('terminated\n')
} else {
  process.stderr.write('usage: worker-child.js unclosed | closed | waiting | terminating | warm\n')
  process.exitCode = 2
}
