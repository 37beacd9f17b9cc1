// The byte-identity workload, run as a child process by byte-identity.test.ts:
//   node workload.js live <out.json>             runs the workload and writes its records and files
//   node workload.js replay <in.json> <out.json>  replays those records and writes what it got
// The live and replay runs use different TZ values; their outputs must be identical byte for byte.
import { readFileSync, writeFileSync } from 'node:fs'
import { createEngine, MemoryFiles } from 'nodevms/engine'
import type { CallRecord } from 'nodevms/engine'
import { fixture } from './fixture.js'
import { workload, type Call } from './mixed-calls.js'

const LIMITS = { gasLimit: 400, memoryLimit: 32 * 1024 * 1024, timeoutMs: 60_000 }
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
