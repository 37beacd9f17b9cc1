// Engine.call's `files` and `ended` options: a caller that makes calls back to back, without awaiting them, gives
// each its own Files and acts on each record in order as it comes (the host does so, host/host.ts). A call's
// file requests go to its own Files, and are served only once every earlier call's `ended` has run.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createEngine, type CallRecord, type Files } from '../../engine/index.js'

const SCRIPT = `exports.bump = async (k) => {
  const n = Number(await System.files.readFile('/n', 'utf8').catch(() => '0')) + k
  await System.files.writeFile('/n', String(n))
  return n
}
exports.pure = (k) => k * 2
`

/** What a call wrote, kept apart until its caller applies it to `shared`. */
class CallOverlay implements Files {
  readonly writes = new Map<string, Uint8Array | null>()
  constructor (private readonly shared: Map<string, Uint8Array>) {}
  async get (path: string) { return this.writes.has(path) ? this.writes.get(path) ?? null : this.shared.get(path) ?? null }
  async put (path: string, data: Uint8Array) { this.writes.set(path, data.slice()) }
  async del (path: string) { this.writes.set(path, null) }
  async list (dir: string) { return [...this.shared.keys()].filter((p) => p.startsWith(dir === '/' ? '/' : dir + '/')) }
  applyTo (shared: Map<string, Uint8Array>) { for (const [path, data] of this.writes) { if (data === null) shared.delete(path); else shared.set(path, data) } }
}

test('calls made back to back each use their own Files, and each sees what the ended hooks before it applied', async () => {
  const engine = await createEngine(SCRIPT, { log: () => {} })
  try {
    const shared = new Map<string, Uint8Array>()
    const order: number[] = []
    const resolvedBeforeEnded: number[] = []
    const resolved = new Set<number>()
    const strayWrites: string[] = []
    const calls = Array.from({ length: 60 }, (_, i) => {
      const k = i + 1
      const overlay = new CallOverlay(shared)
      const method = k % 4 === 0 ? 'pure' : 'bump'
      const ended = (record: CallRecord) => {
        order.push(k)
        if (resolved.has(k)) resolvedBeforeEnded.push(k)
        assert.is(record.method, method)
        // Its own Files hold its own write, and nothing a later call wrote.
        const wrote = overlay.writes.get('/n')
        const own = method === 'bump' ? String(record.result) : undefined
        if ((wrote === undefined ? undefined : new TextDecoder().decode(wrote ?? new Uint8Array())) !== own) strayWrites.push(`call ${k}`)
        overlay.applyTo(shared)
      }
      return engine.call(method, [k], { files: overlay, ended }).then((record) => { resolved.add(k); return record.result })
    })
    const results = await Promise.all(calls)
    let n = 0
    const expected = Array.from({ length: 60 }, (_, i) => { const k = i + 1; if (k % 4 === 0) return k * 2; n += k; return n })
    assert.equal(results, expected, 'each call read the counter the calls before it wrote')
    assert.equal(order, Array.from({ length: 60 }, (_, i) => i + 1), 'ended ran once per call, in call order')
    assert.equal(resolvedBeforeEnded, [], 'ended ran before the call resolved')
    assert.equal(strayWrites, [], 'each call wrote to its own Files only')
    assert.is(new TextDecoder().decode(shared.get('/n')), String(n), 'only the ended hooks wrote the shared files')
  } finally {
    await engine.close()
  }
})

test('a call without its own Files uses the engine\'s; an ended hook that throws fails its call only', async () => {
  const engine = await createEngine(SCRIPT, { log: () => {} })
  try {
    const [first, second, third] = await Promise.allSettled([
      engine.call('bump', [1]),
      engine.call('pure', [2], { ended: () => { throw new Error('refused by the caller') } }),
      engine.call('bump', [3])
    ])
    assert.equal(first.status === 'fulfilled' && first.value.result, 1)
    assert.is(second.status === 'rejected' && (second.reason as Error).message, 'refused by the caller')
    assert.equal(third.status === 'fulfilled' && third.value.result, 4, 'the engine\'s own files kept the first call\'s write')
  } finally {
    await engine.close()
  }
})

test.run()
