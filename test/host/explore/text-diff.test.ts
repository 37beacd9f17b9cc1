// The explorer's line diff: the shortest edit, folded into hunks with context, bounded in edits and lines.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { diffLines, diffText, splitLines } from '../../../host/explore/text-diff.js'

test('lines split on \\n and \\r\\n, and a final newline adds no empty line', () => {
  assert.equal(splitLines(''), [])
  assert.equal(splitLines('a\nb\n'), ['a', 'b'])
  assert.equal(splitLines('a\r\nb'), ['a', 'b'])
  assert.equal(splitLines('a\n\n'), ['a', ''])
})

test('the diff is the shortest edit: kept, removed and added lines in order', () => {
  assert.equal(diffLines(['a', 'b', 'c'], ['a', 'b', 'c']), [[' ', 'a'], [' ', 'b'], [' ', 'c']])
  assert.equal(diffLines([], ['x']), [['+', 'x']])
  assert.equal(diffLines(['x'], []), [['-', 'x']])
  assert.equal(diffLines(['a', 'b', 'c', 'd'], ['a', 'c', 'd', 'e']), [[' ', 'a'], ['-', 'b'], [' ', 'c'], [' ', 'd'], ['+', 'e']])
  // Myers in the middle: x y z → y z x is one removal and one addition, not three replacements.
  assert.equal(diffLines(['x', 'y', 'z'], ['y', 'z', 'x']), [['-', 'x'], [' ', 'y'], [' ', 'z'], ['+', 'x']])
})

test('every diff rebuilds both sides (a random walk of edits)', () => {
  let seed = 7
  const random = (n: number) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n }
  for (let round = 0; round < 200; round++) {
    const a = Array.from({ length: random(12) }, () => 'abcde'[random(5)])
    const b = Array.from({ length: random(12) }, () => 'abcde'[random(5)])
    const diff = diffLines(a, b)
    assert.equal(diff.filter(([op]) => op !== '+').map(([, l]) => l), a, `before side of ${a} → ${b}`)
    assert.equal(diff.filter(([op]) => op !== '-').map(([, l]) => l), b, `after side of ${a} → ${b}`)
    const edits = diff.filter(([op]) => op !== ' ').length
    const lcs = lcsLength(a, b)
    assert.is(edits, a.length + b.length - 2 * lcs, `shortest: ${a} → ${b}`)
  }
})

function lcsLength (a: string[], b: string[]): number {
  const t = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0))
  for (let i = 1; i <= a.length; i++) for (let j = 1; j <= b.length; j++) t[i][j] = a[i - 1] === b[j - 1] ? t[i - 1][j - 1] + 1 : Math.max(t[i - 1][j], t[i][j - 1])
  return t[a.length][b.length]
}

test('unchanged runs fold to a count, keeping context lines around each change', () => {
  const before = Array.from({ length: 20 }, (_, i) => `line ${i}`).join('\n') + '\n'
  const after = before.replace('line 10\n', 'line ten\n')
  assert.equal(diffText(before, after, { context: 2 }), [
    ['@', '8 unchanged lines'], [' ', 'line 8'], [' ', 'line 9'], ['-', 'line 10'], ['+', 'line ten'],
    [' ', 'line 11'], [' ', 'line 12'], ['@', '7 unchanged lines']
  ])
})

test('past maxEdits the diff is the whole replacement; past maxLines it stops and says how many are left', () => {
  assert.equal(diffLines(['a', 'b'], ['c', 'd'], 1), [['-', 'a'], ['-', 'b'], ['+', 'c'], ['+', 'd']])
  const many = Array.from({ length: 50 }, (_, i) => `n${i}`).join('\n')
  const cut = diffText('', many, { maxLines: 10 })
  assert.is(cut.length, 11)
  assert.equal(cut[10], ['@', '40 more lines not shown'])
})

test.run()
