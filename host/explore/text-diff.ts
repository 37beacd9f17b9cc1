// A line diff for the explorer's before/after view of a file a call changed: Myers' O(ND) algorithm on
// what is left after the common head and tail, folded into hunks with a few lines of context. Bounded:
// past `maxEdits` differences it shows the whole replacement, and the output stops at `maxLines`.

import type { DiffLine } from './page/wire.js'

export interface DiffOptions {
  /** Unchanged lines shown around each change (default 3). */
  context?: number
  /** Differences beyond which the diff is the whole replacement (default 2000). */
  maxEdits?: number
  /** Lines returned at most; a last '@' line counts what was left out (default 2000). */
  maxLines?: number
}

/** The diff of two texts, line by line, folded into hunks. */
export function diffText (before: string, after: string, opts: DiffOptions = {}): DiffLine[] {
  return fold(diffLines(splitLines(before), splitLines(after), opts.maxEdits ?? 2000), opts.context ?? 3, opts.maxLines ?? 2000)
}

/** Lines without their terminators; a text ending in a newline has no empty last line. */
export function splitLines (text: string): string[] {
  if (text === '') return []
  const lines = text.split(/\r?\n/)
  if (lines[lines.length - 1] === '') lines.pop()
  return lines
}

/** Every line of a and b as kept, removed or added, in order (unfolded). */
export function diffLines (a: readonly string[], b: readonly string[], maxEdits = 2000): DiffLine[] {
  let head = 0
  while (head < a.length && head < b.length && a[head] === b[head]) head++
  let endA = a.length
  let endB = b.length
  while (endA > head && endB > head && a[endA - 1] === b[endB - 1]) { endA--; endB-- }
  const midA = a.slice(head, endA)
  const midB = b.slice(head, endB)
  const middle = myers(midA, midB, maxEdits) ?? [...midA.map((l): DiffLine => ['-', l]), ...midB.map((l): DiffLine => ['+', l])]
  return [...a.slice(0, head).map((l): DiffLine => [' ', l]), ...middle, ...a.slice(endA).map((l): DiffLine => [' ', l])]
}

/** Myers' shortest edit script, or null when it needs more than maxEdits edits. */
function myers (a: readonly string[], b: readonly string[], maxEdits: number): DiffLine[] | null {
  const n = a.length
  const m = b.length
  const max = Math.min(n + m, maxEdits)
  const offset = max + 1
  const v = new Int32Array(2 * max + 3)
  // trace[d]: the furthest x on each diagonal k in [-d-1, d+1] before step d (index k + d + 1).
  const trace: Int32Array[] = []
  for (let d = 0; d <= max; d++) {
    trace.push(v.slice(offset - d - 1, offset + d + 2))
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[offset + k - 1] < v[offset + k + 1]) ? v[offset + k + 1] : v[offset + k - 1] + 1
      let y = x - k
      while (x < n && y < m && a[x] === b[y]) { x++; y++ }
      v[offset + k] = x
      if (x >= n && y >= m) return backtrack(trace, a, b)
    }
  }
  return null
}

function backtrack (trace: Int32Array[], a: readonly string[], b: readonly string[]): DiffLine[] {
  const out: DiffLine[] = []
  let x = a.length
  let y = b.length
  for (let d = trace.length - 1; d >= 0; d--) {
    const v = trace[d]
    const at = (k: number) => v[k + d + 1]
    const k = x - y
    const prevK = k === -d || (k !== d && at(k - 1) < at(k + 1)) ? k + 1 : k - 1
    const prevX = at(prevK)
    const prevY = prevX - prevK
    while (x > prevX && y > prevY) {
      x--
      y--
      out.push([' ', a[x]])
    }
    if (d > 0) {
      if (x === prevX) out.push(['+', b[y - 1]])
      else out.push(['-', a[x - 1]])
    }
    x = prevX
    y = prevY
  }
  return out.reverse()
}

/** Keeps `context` unchanged lines around each change, folds the rest, and stops at maxLines. */
function fold (lines: DiffLine[], context: number, maxLines: number): DiffLine[] {
  const near = new Uint8Array(lines.length)
  lines.forEach(([op], i) => {
    if (op === ' ') return
    for (let j = Math.max(0, i - context); j <= Math.min(lines.length - 1, i + context); j++) near[j] = 1
  })
  const out: DiffLine[] = []
  let skipped = 0
  const flush = () => {
    if (skipped > 0) out.push(['@', `${skipped} unchanged line${skipped === 1 ? '' : 's'}`])
    skipped = 0
  }
  for (let i = 0; i < lines.length; i++) {
    if (near[i] === 0) { skipped++; continue }
    flush()
    if (out.length >= maxLines) {
      out.push(['@', `${lines.length - i} more line${lines.length - i === 1 ? '' : 's'} not shown`])
      return out
    }
    out.push(lines[i])
  }
  flush()
  return out
}
