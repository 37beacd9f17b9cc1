// replay(): re-executes recorded calls in a fresh engine and reports the first field that differs.
import { QuickJSEngine, type InternalEngineOptions } from './engine.js'
import type { CallRecord, Divergence, ReplayResult } from './types.js'

/** The fields of a record that a replay must reproduce, after the oracle count, in the order they are reported. */
const COMPARED = ['result', 'error', 'oracles', 'gas', 'deadlineGas', 'rebuilt'] as const

const same = (a: unknown, b: unknown) => (a === undefined) === (b === undefined) && (a === undefined || sameJson(a, b))

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const definedKeys = (o: Record<string, unknown>) => Object.keys(o).filter((k) => o[k] !== undefined)

/** The same JSON value: as JSON.stringify writes them, but with object keys in any order. */
function sameJson (a: unknown, b: unknown): boolean {
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => sameJson(v, b[i]))
  }
  if (isObject(a) || isObject(b)) {
    if (!isObject(a) || !isObject(b)) return false
    const keys = definedKeys(a)
    return keys.length === definedKeys(b).length && keys.every((k) => Object.hasOwn(b, k) && b[k] !== undefined && sameJson(a[k], b[k]))
  }
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null)
}

/**
 * The first field in which `actual` differs from `expected`, or null. A different oracle count comes
 * first, since it explains every other difference; a different oracle is named by its index.
 */
export function compareRecords (expected: CallRecord, actual: CallRecord): { field: string, expected: unknown, actual: unknown } | null {
  const want = expected.oracles ?? []
  const got = actual.oracles ?? []
  if (want.length !== got.length) return { field: 'oracles.length', expected: want.length, actual: got.length }
  for (const field of COMPARED) {
    if (field === 'oracles') {
      const i = want.findIndex((o, k) => !same(o, got[k]))
      if (i !== -1) return { field: `oracles[${i}]`, expected: want[i], actual: got[i] }
      continue
    }
    if (!same(expected[field], actual[field])) return { field, expected: expected[field], actual: actual[field] }
  }
  return null
}

/** Calls queued ahead of the one being compared: they go to the engine's worker in batches. */
const WINDOW = 256

export async function replay (source: string, records: CallRecord[], options: InternalEngineOptions = {}): Promise<ReplayResult> {
  const engine = await QuickJSEngine.create(source, { log: () => {}, ...options })
  const queued: Array<Promise<CallRecord>> = []
  const queue = (index: number) => {
    const r = records[index]
    const call = engine.call(r.method, r.args, { caller: r.caller, replay: r })
    call.catch(() => {}) // read in order below; one left unread after a divergence must not be unhandled
    queued.push(call)
  }
  try {
    for (let index = 0; index < records.length; index++) {
      const expected = records[index]
      while (queued.length < index + WINDOW && queued.length < records.length) queue(queued.length)
      let actual: CallRecord
      try {
        actual = await queued[index]
      } catch (err) {
        return { ok: false, divergence: { index, field: 'error', expected: expected.error ?? null, actual: { name: (err as Error).name, message: (err as Error).message } } }
      }
      const diff = compareRecords(expected, actual)
      if (diff !== null) return { ok: false, divergence: { index, ...diff } satisfies Divergence }
    }
    return { ok: true }
  } finally {
    await engine.close()
  }
}
