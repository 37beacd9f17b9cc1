// Interleaved rounds: a subject and its baselines measured in turn, round after round, so that drift (other
// engineers' load on this shared machine, heat, a growing log) hits all of them alike. The ratio reported is
// the median of the rounds' own ratios, which one slow round cannot move.
import { round, type BenchResult, type Comparison } from './report.js'

/** What every benchmark is given: --quick, and --before DIR (a built checkout of the code to compare with). */
export interface BenchOptions { quick: boolean, before: string | null }

export const median = (xs: number[]): number => {
  const sorted = xs.slice().sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** Runs each measure once per round, in the order given, for `rounds` rounds; returns each one's values by round. */
export async function interleave<K extends string> (rounds: number, measures: Array<[K, () => Promise<number>]>): Promise<Record<K, number[]>> {
  const out = Object.fromEntries(measures.map(([name]) => [name, [] as number[]])) as Record<K, number[]>
  for (let r = 0; r < rounds; r++) {
    for (const [name, measure] of measures) out[name].push(await measure())
  }
  return out
}

/** The median of the per-round ratios value[r] / baseline[r]. */
export function medianRatio (values: number[], baselines: number[]): number {
  return median(values.map((v, r) => v / baselines[r]))
}

export interface Target { text: string, met: (ratio: number, value: number) => boolean }

/** A result from interleaved rounds: medians of the value and of the baseline, and the median ratio. */
export function fromRounds (name: string, unit: string, digits: number, values: number[], baselineName: string, baselines: number[], target?: Target): BenchResult {
  const ratio = medianRatio(values, baselines)
  const value = median(values)
  const r: BenchResult = {
    name, value: round(value, digits), unit, baseline: round(median(baselines), digits), baselineName, ratio: round(ratio, 3), rounds: values.length
  }
  if (target !== undefined) { r.target = target.text; r.met = target.met(ratio, value) }
  return r
}

/** Adds the same value against one more baseline measured in the same rounds. */
export function against (result: BenchResult, values: number[], baselineName: string, baselines: number[], digits: number, target?: Target): BenchResult {
  const ratio = medianRatio(values, baselines)
  const c: Comparison = { baselineName, baseline: round(median(baselines), digits), ratio: round(ratio, 3) }
  if (target !== undefined) { c.target = target.text; c.met = target.met(ratio, median(values)) }
  result.against = [...(result.against ?? []), c]
  return result
}
