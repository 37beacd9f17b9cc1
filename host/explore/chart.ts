// The chart of the whole log, folded into at most `width` buckets of consecutive entries: per bucket the
// calls, the most gas one of them used and the failed ones; beside them, where the restarts and upgrades are.
import type { LogIndex } from './log-index.js'
import type { Chart } from './page/wire.js'

const MAX_WIDTH = 4000
const MAX_MARKERS = 500

export function chartData (index: LogIndex, width: number): Chart {
  const length = index.length
  const bucket = Math.max(1, Math.ceil(length / Math.max(1, Math.min(MAX_WIDTH, width))))
  const buckets = Math.ceil(length / bucket)
  const calls = new Array<number>(buckets).fill(0)
  const maxGas = new Array<number>(buckets).fill(0)
  const failed = new Array<number>(buckets).fill(0)
  for (let i = 0; i < length; i++) {
    if (index.kindAt(i) !== 'call') continue
    const b = Math.floor(i / bucket)
    calls[b]++
    maxGas[b] = Math.max(maxGas[b], index.gasAt(i))
    if (index.failedAt(i)) failed[b]++
  }
  const all = index.restartsAndUpgrades
  const step = Math.max(1, Math.ceil(all.length / MAX_MARKERS))
  const markers: Chart['markers'] = []
  for (let m = 0; m < all.length; m += step) markers.push([all[m], index.kindAt(all[m]) as 'restart' | 'upgrade'])
  return { length, bucket, calls, maxGas, failed, markers }
}
