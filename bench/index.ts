// Runs the registered benchmarks: node dist/bench/index.js [--quick] [--json] [filter]
// --quick runs each measure briefly; --json prints one object { results: [...] }; a filter runs only the
// measures whose name contains it. To add a benchmark, import it and add one line to BENCHES.
import { benchAuth } from './auth.js'
import { benchEngine } from './engine.js'
import { benchExplore } from './explore.js'
import { benchHost } from './host.js'
import { benchMemory } from './memory.js'
import { benchRpc } from './rpc.js'
import { benchSwarm } from './swarm.js'
import { benchVerify } from './verify.js'
import { formatJson, formatTable, type BenchResult } from './report.js'

const BENCHES: Array<{ prefix: string, run: (quick: boolean) => Promise<BenchResult[]> }> = [
  { prefix: 'engine.', run: benchEngine },
  { prefix: 'host.', run: benchHost },
  { prefix: 'host.', run: benchMemory },
  { prefix: 'rpc.', run: benchRpc },
  { prefix: 'verify.', run: benchVerify },
  { prefix: 'auth.', run: benchAuth },
  { prefix: 'swarm.', run: benchSwarm },
  { prefix: 'explore.', run: benchExplore }
]

const args = process.argv.slice(2)
const quick = args.includes('--quick')
const json = args.includes('--json')
const filter = args.find((a) => !a.startsWith('--')) ?? ''

// A filter naming a bench ('engine', 'engine.create') runs only that bench; any other filter runs
// them all and keeps the measures whose name contains it.
const named = BENCHES.filter((b) => b.prefix.startsWith(filter) || filter.startsWith(b.prefix))
const results: BenchResult[] = []
for (const bench of named.length > 0 ? named : BENCHES) {
  for (const r of await bench.run(quick)) if (r.name.includes(filter)) results.push(r)
}
process.stdout.write(json ? formatJson(results) : formatTable(results))
