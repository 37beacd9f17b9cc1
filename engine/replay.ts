// replay(): re-executes recorded calls in a fresh engine and reports the first field that differs.
import { canonicalJson } from './canonical-json.js'
import { QuickJSEngine, type InternalEngineOptions } from './engine.js'
import type { CallRecord, Divergence, ReplayResult } from './types.js'

/** The fields of a record that a replay must reproduce, in the order they are reported. */
const COMPARED = ['result', 'error', 'oracles', 'gas', 'deadlineGas', 'rebuilt'] as const

/** The first field in which `actual` differs from `expected`, or null. */
export function compareRecords (expected: CallRecord, actual: CallRecord): { field: string, expected: unknown, actual: unknown } | null {
  for (const field of COMPARED) {
    const a = expected[field]
    const b = actual[field]
    if (field === 'oracles') {
      const ea = (a as unknown[]).length
      const eb = (b as unknown[]).length
      if (ea !== eb) return { field: 'oracles.length', expected: ea, actual: eb }
    }
    if ((a === undefined) !== (b === undefined) || (a !== undefined && canonicalJson(a) !== canonicalJson(b))) {
      return { field, expected: a, actual: b }
    }
  }
  return null
}

export async function replay (source: string, records: CallRecord[], options: InternalEngineOptions = {}): Promise<ReplayResult> {
  const engine = await QuickJSEngine.create(source, { log: () => {}, ...options })
  try {
    for (let index = 0; index < records.length; index++) {
      const expected = records[index]
      let actual: CallRecord
      try {
        actual = await engine.call(expected.method, expected.args, { caller: expected.caller, replay: expected })
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
