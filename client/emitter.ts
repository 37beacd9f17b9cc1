// The client's events (open, close, error), the few EventEmitter methods nodevms-client users call,
// without node:events, so the client runs in browsers too.

type Listener = (...args: unknown[]) => void

export class Emitter {
  readonly #listeners = new Map<string, Listener[]>()

  /** Calls `fn` on every `event`. */
  on (event: string, fn: Listener): this {
    this.#listeners.set(event, [...(this.#listeners.get(event) ?? []), fn])
    return this
  }

  /** Calls `fn` on the next `event` only. */
  once (event: string, fn: Listener): this {
    const wrapper: Listener = (...args) => { this.off(event, wrapper); fn(...args) }
    ;(wrapper as { listener?: Listener }).listener = fn
    return this.on(event, wrapper)
  }

  /** Removes `fn` (added by on or once). */
  off (event: string, fn: Listener): this {
    const list = this.#listeners.get(event) ?? []
    const at = list.findIndex((l) => l === fn || (l as { listener?: Listener }).listener === fn)
    if (at !== -1) this.#listeners.set(event, list.filter((_, i) => i !== at))
    return this
  }

  /** Calls the listeners of `event` in the order they were added; true when there were any. */
  emit (event: string, ...args: unknown[]): boolean {
    const list = this.#listeners.get(event) ?? []
    for (const fn of list) fn(...args)
    return list.length > 0
  }

  listenerCount (event: string): number {
    return this.#listeners.get(event)?.length ?? 0
  }
}
