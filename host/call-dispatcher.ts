// Calls go to the engine in arrival order as they come, without waiting for the calls before them: calls
// waiting together run in the engine's worker as one batch, and the host takes each record as it comes, in
// order (Host.ended). The cost of crossing to the worker is paid once per batch, not once per call.
// Some work needs the engine to itself, between two calls (a checkpoint, a rollback, a reopen, close):
// alone() holds new calls back, waits until every call sent has ended, runs the work, then sends the held
// calls, in order. A call that must know how every call before it ended before it may run (one of a
// JSON-RPC batch, whose replies are counted as it runs) is sent when the engine has nothing else.
// undo(): after a call whose effects the engine kept but the log says it had none (its entry was too large
// for the log), the calls sent after it ran on those effects. Their records are not taken: once the work
// has put the memory back, they run again, in order, before any call held meanwhile.
import type { CallEntry } from './call-log.js'
import type { CallContext } from './host.js'

/** A call's entry, submitted to the group commit: `durable` resolves once it is on stable storage. */
export interface Executed { entry: CallEntry, durable: Promise<void>, index: number }

export interface DispatchedCall {
  method: string
  args: unknown[]
  context: CallContext
  resolve (executed: Executed): void
  reject (err: Error): void
}

export class CallDispatcher {
  /** Calls sent to the engine that have not ended. */
  private inEngine = 0
  private held: DispatchedCall[] = []
  /** Work waiting for the engine or running with it: calls are held meanwhile. */
  private exclusive = 0
  private chain: Promise<unknown> = Promise.resolve()
  private idleWaiters: Array<() => void> = []
  /** Set while a call's effects are being undone: the calls that ended since, to run again. */
  private redo: DispatchedCall[] | null = null
  private undoing: Promise<void> | null = null
  /** Calls whose beforeRun passed: a call run again is not checked again. */
  private readonly admitted = new WeakSet<DispatchedCall>()

  /** `send` hands a call to the engine; the host then tells ended() or failed() exactly once. */
  constructor (private readonly send: (call: DispatchedCall) => void) {}

  dispatch (call: DispatchedCall): void {
    if (this.exclusive > 0) {
      this.held.push(call)
    } else if (call.context.afterRun !== undefined && this.inEngine > 0) {
      this.held.push(call)
      void this.alone(async () => {})
    } else {
      this.start(call)
    }
  }

  /** A sent call's record came. False when it is not to be taken: it ran on effects being undone, and runs again. */
  ended (call: DispatchedCall): boolean {
    this.left()
    if (this.redo === null) return true
    this.redo.push(call)
    return false
  }

  /** A sent call failed in the engine (it has no record). */
  failed (call: DispatchedCall, err: Error): void {
    this.left()
    call.reject(err)
  }

  /**
   * Runs `work` with the engine to itself: once every call sent has ended and no undo is pending (the engine's
   * memory is then exactly what the log says), before any call that comes meanwhile.
   */
  alone<T> (work: () => Promise<T>): Promise<T> {
    this.exclusive++
    const done = this.chain.then(async () => {
      await this.clean()
      try {
        return await work()
      } finally {
        this.release()
      }
    })
    this.chain = done.catch(() => {})
    return done
  }

  /**
   * Call it in the ended() turn of a call whose effects must be undone: `work` undoes them once every call sent
   * has ended, ahead of any work waiting in alone(); those calls then run again. When the work fails, they fail
   * with its error.
   */
  undo (work: () => Promise<void>): void {
    this.redo ??= []
    this.exclusive++
    const undoing = (this.undoing ?? Promise.resolve()).then(async () => {
      await this.idle()
      const again = this.redo ?? []
      this.redo = null
      try {
        await work()
      } catch (err) {
        for (const call of again) call.reject(err as Error)
        return
      }
      for (const call of again) this.start(call)
    })
    this.undoing = undoing
    void undoing.finally(() => {
      if (this.undoing === undoing) this.undoing = null
      this.release()
    })
  }

  /** Resolves once no call is held, waiting or in the engine. */
  async settled (): Promise<void> {
    do await this.alone(async () => {})
    while (this.inEngine > 0 || this.held.length > 0)
  }

  private start (call: DispatchedCall): void {
    if (!this.admitted.has(call)) {
      try {
        call.context.beforeRun?.()
      } catch (err) {
        return call.reject(err as Error)
      }
      this.admitted.add(call)
    }
    this.inEngine++
    this.send(call)
  }

  private left (): void {
    if (--this.inEngine === 0) for (const wake of this.idleWaiters.splice(0)) wake()
  }

  private idle (): Promise<void> {
    if (this.inEngine === 0) return Promise.resolve()
    return new Promise((resolve) => this.idleWaiters.push(resolve))
  }

  /** Until no call is in the engine and no undo is pending. */
  private async clean (): Promise<void> {
    await this.idle()
    while (this.undoing !== null) {
      await this.undoing
      await this.idle()
    }
  }

  /** One exclusive piece of work ended: the held calls go once none is left. */
  private release (): void {
    if (--this.exclusive > 0) return
    for (const call of this.held.splice(0)) this.dispatch(call)
  }
}
