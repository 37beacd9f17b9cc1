// Read-ahead for the verifier: storage and network reads overlap the replay instead of waiting on it.

/**
 * Yields map(item) for each item of source, in order, while keeping up to `depth` items read and
 * mapped ahead of the consumer. Memory is bounded by depth, never by the source's length.
 */
export async function * prefetch<T, U> (source: AsyncIterable<T>, map: (item: T) => Promise<U> | U, depth: number): AsyncGenerator<U> {
  const iterator = source[Symbol.asyncIterator]()
  const ahead: Array<Promise<IteratorResult<U>>> = []
  let done = false
  let pulling: Promise<unknown> = Promise.resolve()
  // Pulls are chained so the source sees one next() at a time; maps run concurrently.
  const pull = (): Promise<IteratorResult<U>> => {
    const raw = pulling.then(async (): Promise<IteratorResult<T>> => {
      if (done) return { done: true, value: undefined }
      const next = await iterator.next()
      if (next.done === true) done = true
      return next
    })
    pulling = raw.catch(() => { done = true })
    const mapped = raw.then(async (next): Promise<IteratorResult<U>> => next.done === true ? { done: true, value: undefined } : { done: false, value: await map(next.value) })
    mapped.catch(() => {}) // handled when the consumer reaches it; never an unhandled rejection before
    return mapped
  }
  try {
    for (let i = 0; i < depth; i++) ahead.push(pull())
    while (true) {
      const next = await ahead.shift()!
      if (next.done === true) return
      ahead.push(pull())
      yield next.value
    }
  } finally {
    done = true
    await Promise.allSettled(ahead)
    await iterator.return?.()
  }
}
