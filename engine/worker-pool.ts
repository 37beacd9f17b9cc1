// Spare engine workers. Starting a worker thread and preparing its QuickJS instance takes a few hundred
// milliseconds in a new process, tens after that, so a closed engine's worker prepares a fresh instance and is
// kept as a spare; warmEngine() starts one ahead of need. Taking the last spare does not start another: most
// processes run one engine (a host, a verifier), and a spare nobody takes would compete for the cores with the
// engine that was just created. Spares never keep the process alive. A worker's new instance goes through the
// same steps as any other, so which worker runs an engine changes nothing the script can see.
import { EngineWorker } from './engine-worker.js'
import { EngineError } from './errors.js'

/** Workers kept ready (or getting ready) for the next engines: enough that engines created and closed back to back never wait. */
const MAX_SPARES = 4

interface Spare { worker: EngineWorker, ready: Promise<boolean>, isReady: boolean, failure: Error | null }

const spares: Spare[] = []

function readying (worker: EngineWorker): Spare {
  const spare: Spare = { worker, ready: Promise.resolve(false), isReady: false, failure: null }
  spare.ready = worker.receive(false).then(({ message }) => {
    spare.isReady = message.t === 'ready'
    return spare.isReady
  }, (err: Error) => {
    spare.failure = err
    return false
  })
  spare.ready.then((ok) => {
    if (ok) return
    const i = spares.indexOf(spare)
    if (i !== -1) spares.splice(i, 1)
    worker.terminate().catch(() => {})
  }, () => {})
  return spare
}

/**
 * A worker with a prepared instance, ready for a 'load': a ready spare, else the first spare to get
 * ready, else a new worker. A spare that failed is passed over; a new worker that fails to start is
 * an error (another would fail too).
 */
export async function takeWorker (): Promise<EngineWorker> {
  for (;;) {
    const i = spares.findIndex((s) => s.isReady)
    if (i !== -1) return spares.splice(i, 1)[0].worker
    if (spares.length === 0) {
      const spare = readying(new EngineWorker())
      spares.push(spare)
      await waitFor([spare])
      if (spare.failure !== null || !spare.isReady) throw spare.failure ?? EngineError.WORKER_DIED('it could not prepare a QuickJS instance')
      continue
    }
    await waitFor(spares.slice())
  }
}

/** Until one of these spares is ready or failed, keeping the process alive meanwhile. */
async function waitFor (waiting: Spare[]): Promise<void> {
  for (const s of waiting) s.worker.hold()
  try {
    await Promise.race(waiting.map((s) => s.ready))
  } finally {
    for (const s of waiting) s.worker.release()
  }
}

/** Starts readying a spare when none is ready or on its way, so that the next takeWorker() finds one started. */
export function warmUp (): void {
  if (spares.length > 0) return
  try {
    spares.push(readying(new EngineWorker()))
  } catch {} // the next takeWorker() starts one and reports why it cannot
}

/** Takes back the worker of a closed engine (or one whose load failed): it becomes a spare, or ends. */
export async function returnWorker (worker: EngineWorker): Promise<void> {
  worker.patient = false
  if (!worker.alive || spares.length >= MAX_SPARES) {
    await worker.terminate()
    return
  }
  worker.send({ t: 'recycle' })
  spares.push(readying(worker))
}
