// Runs the registered benchmarks: node dist/bench/index.js [--quick] [--json] [--before DIR] [filter]
// --quick runs each measure briefly; --json prints one object { results: [...] }; --before DIR also measures a
// built checkout of other code (e.g. main) in the same run, interleaved (rows named `…@main`, or `vs main`);
// a filter runs only the measures whose name contains it (several: comma-separated, `rpc,verify,auth`).
// To add a benchmark, import it and add one line to BENCHES.
import { benchAuth } from './auth.js'
import { benchEngine } from './engine.js'
import { benchExplore } from './explore.js'
import { benchHost } from './host.js'
import { benchMemory } from './memory.js'
import { benchRpc } from './rpc.js'
import { benchSwarm } from './swarm.js'
import { benchVerify } from './verify.js'
import { formatJson, formatTable, type BenchResult } from './report.js'
import type { BenchOptions } from './rounds.js'

const BENCHES: Array<{ prefix: string, run: (options: BenchOptions) => Promise<BenchResult[]> }> = [
  { prefix: 'engine.', run: benchEngine },
  { prefix: 'host.', run: ({ quick }) => benchHost(quick) },
  { prefix: 'host.', run: ({ quick }) => benchMemory(quick) },
  { prefix: 'rpc.', run: benchRpc },
  { prefix: 'verify.', run: benchVerify },
  { prefix: 'auth.', run: benchAuth },
  { prefix: 'swarm.', run: ({ quick }) => benchSwarm(quick) },
  { prefix: 'explore.', run: ({ quick }) => benchExplore(quick) }
]

const args = process.argv.slice(2)
const at = args.indexOf('--before')
const before = at === -1 ? null : args[at + 1] ?? null
if (at !== -1 && before === null) throw new Error('--before needs a directory: a built checkout (npm run build) of the code to compare with')
const options: BenchOptions = { quick: args.includes('--quick'), before }
const json = args.includes('--json')
const filters = (args.find((a, i) => !a.startsWith('--') && (at === -1 || i !== at + 1)) ?? '').split(',')

// A filter naming a bench ('engine', 'engine.create') runs only that bench; any other filter runs
// them all and keeps the measures whose name contains it.
const names = (b: { prefix: string }, filter: string) => b.prefix.startsWith(filter) || filter.startsWith(b.prefix)
const named = BENCHES.filter((b) => filters.some((f) => names(b, f)))
const results: BenchResult[] = []
for (const bench of filters.every((f) => BENCHES.some((b) => names(b, f))) ? named : BENCHES) {
  for (const r of await bench.run(options)) if (filters.some((f) => r.name.includes(f))) results.push(r)
}
process.stdout.write(json ? formatJson(results) : formatTable(results))
