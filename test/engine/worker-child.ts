// Child processes for worker.test.ts: how engine workers affect the life of the process that made them.
//   node worker-child.js unclosed   an engine is used and never closed: the process must still exit
//   node worker-child.js closed     an engine is closed: the process must exit
//   node worker-child.js waiting    the only thing left is a slow call in flight: it must complete first
import { createEngine } from 'nodevms/engine'

const SCRIPT = 'let n = 0; exports.next = () => ++n; exports.slow = (k) => { let s = 0; for (let i = 0; i < k; i++) s += i % 7; return s }'
const mode = process.argv[2]
const engine = await createEngine(SCRIPT, { gasLimit: 1e9, timeoutMs: 60_000 })
if (mode === 'unclosed') {
  await engine.call('next')
  process.stdout.write('called\n')
} else if (mode === 'closed') {
  await engine.call('next')
  await engine.close()
  process.stdout.write('closed\n')
} else if (mode === 'waiting') {
  // No timer, no socket: only the call in flight keeps the event loop alive.
  engine.call('slow', [3_000_000]).then((r) => process.stdout.write(`slow=${String(r.result)}\n`), (e: Error) => process.stdout.write(`failed ${e.message}\n`))
} else {
  process.stderr.write('usage: worker-child.js unclosed | closed | waiting\n')
  process.exitCode = 2
}
