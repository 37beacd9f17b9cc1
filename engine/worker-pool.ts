// Spare engine workers. Starting a worker thread takes tens of milliseconds, so a spare, with a fresh
// QuickJS instance already prepared, is kept ready; a closed engine's worker prepares a fresh instance
// and becomes a spare too. Spares never keep the process alive. A worker's new instance goes through
// the same steps as any other, so which worker runs an engine changes nothing the script can see.
import { EngineWorker } from './engine-worker.js'

/** Workers kept ready (or getting ready) for the next engines. */
const MAX_SPARES = 2

interface Spare { worker: EngineWorker, ready: Promise<boolean>, isReady: boolean }

const spares: Spare[] = []

function readying (worker: EngineWorker): Spare {
  const spare: Spare = { worker, ready: Promise.resolve(false), isReady: false }
  spare.ready = worker.receive(false).then(({ message }) => {
    spare.isReady = message.t === 'ready'
    return spare.isReady
  }, () => false)
  spare.ready.then((ok) => {
    if (ok) return
    const i = spares.indexOf(spare)
    if (i !== -1) spares.splice(i, 1)
    worker.terminate().catch(() => {})
  }, () => {})
  return spare
}

/** A worker with a prepared instance, ready for a 'load'. */
export async function takeWorker (): Promise<EngineWorker> {
  for (;;) {
    const i = spares.findIndex((s) => s.isReady)
    let spare: Spare
    if (i !== -1) {
      spare = spares.splice(i, 1)[0]
    } else {
      spare = spares.shift() ?? readying(new EngineWorker())
      spare.worker.hold()
      const ok = await spare.ready.finally(() => spare.worker.release())
      if (!ok) continue
    }
    if (spares.length === 0) spares.push(readying(new EngineWorker()))
    return spare.worker
  }
}

/** Takes back the worker of a closed engine (or one whose load failed): it becomes a spare, or ends. */
export async function returnWorker (worker: EngineWorker): Promise<void> {
  if (!worker.alive || spares.length >= MAX_SPARES) {
    await worker.terminate()
    return
  }
  worker.send({ t: 'recycle' })
  spares.push(readying(worker))
}
