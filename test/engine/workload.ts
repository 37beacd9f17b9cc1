// The byte-identity workload, run as a child process by byte-identity.test.ts:
//   node workload.js live <out.json>             runs the workload and writes its records and files
//   node workload.js replay <in.json> <out.json>  replays those records and writes what it got
// The live and replay runs use different TZ values; their outputs must be identical byte for byte.
import { readFileSync, writeFileSync } from 'node:fs'
import { createEngine, MemoryFiles } from 'nodevms/engine'
import type { CallRecord } from 'nodevms/engine'
import { fixture } from './fixture.js'
import { prng } from '../helpers.js'

const LIMITS = { gasLimit: 400, memoryLimit: 32 * 1024 * 1024, timeoutMs: 60_000 }
const WORDS = ['alpha', 'Beta', 'gamma', 'délta', 'epsilon', 'zeta', 'ÉTA', 'theta', 'iota', 'kappa', 'lambda', 'mu', '2021-05-06', 'naïve', '😀']

type Call = [string, unknown[], string | null]

function workload (count: number, seeded: boolean): Call[] {
  const rand = prng(seeded ? 2 : 1)
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)]
  const words = (n: number) => Array.from({ length: n }, () => pick(WORDS)).join(' ')
  const id = () => `n${String(1 + Math.floor(rand() * 40)).padStart(4, '0')}`
  const calls: Call[] = []
  for (let i = 0; i < count; i++) {
    const caller = pick([null, 'alice', 'bob'])
    const r = rand()
    if (r < 0.25) calls.push(['add', [words(2), words(12), [pick(WORDS), pick(WORDS)]], caller])
    else if (r < 0.32) calls.push(['get', [id()], caller])
    else if (r < 0.38) calls.push(['search', [pick(['a', '^[A-Z]', 'ta\\b', '\\d+', '[', 'é'])], caller])
    else if (r < 0.42) calls.push(['tagged', [pick(WORDS)], caller])
    else if (r < 0.46) calls.push(['histogram', [1 + Math.floor(rand() * 6)], caller])
    else if (r < 0.52) calls.push(['stats', [Array.from({ length: 3 + Math.floor(rand() * 20) }, () => rand() * 1000 - 300)], caller])
    else if (r < 0.57) calls.push(['primes', [rand() < 0.1 ? 1_000_000 : 10 + Math.floor(rand() * 400)], caller])
    else if (r < 0.62) calls.push(['blob', [pick(['a', 'b', 'c']), Math.floor(rand() * 5000), Math.floor(rand() * 1e9)], caller])
    else if (r < 0.67) calls.push(['text', [words(6)], caller])
    else if (r < 0.72) calls.push(['dates', [Math.floor(rand() * 4e12) - 1e12], caller])
    else if (r < 0.75) calls.push(['tree', [], caller])
    else if (r < 0.80) calls.push(['prune', [id()], caller])
    else if (r < 0.92) calls.push(['stamp', [`s${i % 17}`], caller])
    else calls.push([seeded ? 'seeded' : 'add', seeded ? [] : [123, 'not a title'], caller])
  }
  return calls
}

interface Run { records: CallRecord[], files: Array<[string, string]> }

async function run (calls: Call[], seeded: boolean, replaying: CallRecord[] | null): Promise<Run> {
  const files = new MemoryFiles()
  const engine = await createEngine(fixture('rich.js'), { ...LIMITS, seeded, files, log: () => {} })
  const records: CallRecord[] = []
  for (let i = 0; i < calls.length; i++) {
    const [method, args, caller] = replaying === null ? calls[i] : [replaying[i].method, replaying[i].args, replaying[i].caller]
    records.push(await engine.call(method, args, { caller, replay: replaying?.[i] }))
  }
  await engine.close()
  return { records, files: files.entries().map(([path, data]) => [path, Buffer.from(data).toString('base64')]) }
}

const [mode, first, second] = process.argv.slice(2)
const PLAIN = workload(300, false)
const SEEDED = workload(120, true)
if (mode === 'live') {
  const out = { plain: await run(PLAIN, false, null), seeded: await run(SEEDED, true, null), hostOffset: new Date(0).getTimezoneOffset() }
  writeFileSync(first, JSON.stringify(out))
} else if (mode === 'replay') {
  const input = JSON.parse(readFileSync(first, 'utf8')) as { plain: Run, seeded: Run }
  const out = { plain: await run(PLAIN, false, input.plain.records), seeded: await run(SEEDED, true, input.seeded.records), hostOffset: new Date(0).getTimezoneOffset() }
  writeFileSync(second, JSON.stringify(out))
} else {
  process.stderr.write('usage: workload.js live <out.json> | replay <in.json> <out.json>\n')
  process.exitCode = 2
}
