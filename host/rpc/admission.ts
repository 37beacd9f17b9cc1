// Admitting calls in arrival order while their signatures are checked off the main thread (signature-pool.ts).
// CONTRACT §5: a signed call's signature and counter are checked before it is queued; a refused call is never
// run and never logged. Each signed call's check starts when it arrives; the decisions (signature, then
// counter) are taken strictly in arrival order, at the head of this queue, and an admitted call is handed to
// the host, which queues it, in that same order. The outcome is therefore exactly what checking every call on
// arrival, one after the other, gives: of two calls with one counter in flight, the first to arrive with a good
// signature is taken and the other is stale, whichever check finishes first; a forged call takes no counter.
import { DEFAULT_QUEUE_LIMIT, HostError } from '../index.js'
import { parseAuth, type Admitted, type CallAuthenticator } from './call-authenticator.js'
import type { CallContext } from './dispatch.js'
import type { SignaturePool } from './signature-pool.js'

interface Waiting {
  /** Whether the call's signature check has finished (always, for an unsigned call). */
  checked: boolean
  /** The decision, taken at the head of the queue: who runs the call, or a thrown refusal. */
  decide (): Admitted
  /** Hands the admitted call on. */
  run (admitted: Admitted): void
  refuse (err: unknown): void
}

export class AdmissionQueue {
  private readonly waiting: Waiting[] = []

  constructor (private readonly gate: CallAuthenticator, private readonly pool: SignaturePool, private readonly limit = DEFAULT_QUEUE_LIMIT) {}

  /** Calls arrived and not yet decided. */
  get length (): number { return this.waiting.length }

  /**
   * Admits a call in arrival order and hands it to `run`, which must queue it at once (as Host.call does);
   * resolves to what run resolves to. A refused call rejects with its HostError and never reaches run.
   */
  admit<T> (method: string, params: unknown[], ctx: CallContext, run: (admitted: Admitted) => Promise<T>): Promise<T> {
    if (ctx.auth === undefined) {
      const decide = () => this.gate.admitUnsigned(method, ctx.caller ?? null)
      if (this.waiting.length === 0) { // nothing ahead of it: decide and queue now
        try { return run(decide()) } catch (err) { return Promise.reject(err) }
      }
      return this.enqueue(decide, null, run)
    }
    const auth = parseAuth(ctx.auth) // malformed: refused at once, which changes nothing for any other call
    let covers = false
    const checked = this.pool.check(method, params, auth).then((ok) => { covers = ok })
    return this.enqueue(() => this.gate.admitChecked(method, auth, covers), checked, run)
  }

  private enqueue<T> (decide: () => Admitted, checked: Promise<void> | null, run: (admitted: Admitted) => Promise<T>): Promise<T> {
    if (this.waiting.length >= this.limit) return Promise.reject(HostError.QUEUE_FULL(this.limit))
    return new Promise<T>((resolve, reject) => {
      const entry: Waiting = { checked: checked === null, decide, run: (admitted) => resolve(run(admitted)), refuse: reject }
      this.waiting.push(entry)
      checked?.then(() => { entry.checked = true; this.pump() })
      this.pump()
    })
  }

  /** Decides every call at the head whose check is done, in order, and hands the admitted ones on. */
  private pump (): void {
    while (this.waiting.length > 0 && this.waiting[0].checked) {
      const next = this.waiting.shift()!
      let admitted: Admitted
      try {
        admitted = next.decide()
      } catch (err) {
        next.refuse(err)
        continue
      }
      try {
        next.run(admitted)
      } catch (err) {
        next.refuse(err)
      }
    }
  }
}
