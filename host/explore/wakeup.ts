// A loop's alarm clock: wait(ms) sleeps until the time is up or someone calls poke() (a block arrived, the
// log grew, the explorer is closing). A poke while nobody waits is kept for the next wait.

export class Wakeup {
  private pending = false
  private wakeNow: (() => void) | null = null

  poke (): void {
    this.pending = true
    this.wakeNow?.()
  }

  /** Resolves after ms, or at once when poked since the last wait. */
  wait (ms: number): Promise<void> {
    if (this.pending) {
      this.pending = false
      return Promise.resolve()
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer)
        this.wakeNow = null
        this.pending = false
        resolve()
      }
      const timer = setTimeout(done, ms)
      this.wakeNow = done
    })
  }
}
