// What a benchmark reports, and the two ways it is printed: an aligned table, or one JSON object.

/** One measure. `ratio` is value / baseline; the baseline is a raw loop measured in the same run, or the target. */
export interface BenchResult {
  name: string
  value: number
  unit: string
  baseline: number | null
  ratio: number | null
  /** The target, in words ("≥ 25% of raw"), and whether this run met it. */
  target?: string
  met?: boolean
}

export function round (value: number, digits: number): number {
  const f = 10 ** digits
  return Math.round(value * f) / f
}

/** The table `npm run bench` prints: one row per measure. */
export function formatTable (results: BenchResult[]): string {
  const rows = [['measure', 'value', 'unit', 'baseline', 'ratio', 'target', '']]
  for (const r of results) {
    rows.push([r.name, String(r.value), r.unit, r.baseline === null ? '-' : String(r.baseline), r.ratio === null ? '-' : String(r.ratio),
      r.target ?? '', r.met === undefined ? '' : r.met ? 'ok' : 'MISSED'])
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)))
  const right = new Set([1, 3, 4])
  return rows.map((row) => row.map((cell, c) => (right.has(c) ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ').trimEnd()).join('\n') + '\n'
}

/** The --json output: one object. */
export function formatJson (results: BenchResult[]): string {
  return JSON.stringify({ results }) + '\n'
}
