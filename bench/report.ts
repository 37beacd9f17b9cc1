// What a benchmark reports, and the two ways it is printed: an aligned table, or one JSON object.

/** One measure. `ratio` is value / baseline; the baseline is measured in the same run (named by `baselineName`), or is the target. */
export interface BenchResult {
  name: string
  value: number
  unit: string
  baseline: number | null
  ratio: number | null
  /** What `baseline` is: another server or code path measured in the same run ('echo', 'unsigned', …). */
  baselineName?: string
  /** The target, in words ("≥ 25% of raw"), and whether this run met it. */
  target?: string
  met?: boolean
  /** The same value against further baselines from the same run. */
  against?: Comparison[]
  /** How many interleaved rounds the value and baseline are medians of (the ratio is the median of the rounds' ratios). */
  rounds?: number
}

/** The value of a BenchResult against one more baseline from the same run. */
export interface Comparison { baselineName: string, baseline: number, ratio: number, target?: string, met?: boolean }

export function round (value: number, digits: number): number {
  const f = 10 ** digits
  return Math.round(value * f) / f
}

/** The table `npm run bench` prints: one row per measure, and one more per extra baseline. */
export function formatTable (results: BenchResult[]): string {
  const rows = [['measure', 'value', 'unit', 'baseline', 'ratio', 'target', '']]
  const verdict = (met: boolean | undefined) => met === undefined ? '' : met ? 'ok' : 'MISSED'
  const named = (text: string, name: string | undefined) => name === undefined ? text : `${text} (${name})`
  for (const r of results) {
    rows.push([r.name, String(r.value), r.unit, r.baseline === null ? '-' : named(String(r.baseline), r.baselineName),
      r.ratio === null ? '-' : String(r.ratio), r.target ?? '', verdict(r.met)])
    for (const c of r.against ?? []) {
      rows.push([`  vs ${c.baselineName}`, '', '', String(c.baseline), String(c.ratio), c.target ?? '', verdict(c.met)])
    }
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)))
  const right = new Set([1, 3, 4])
  return rows.map((row) => row.map((cell, c) => (right.has(c) ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ').trimEnd()).join('\n') + '\n'
}

/** The --json output: one object. */
export function formatJson (results: BenchResult[]): string {
  return JSON.stringify({ results }) + '\n'
}
