// kill -9 at random moments under concurrent calls, then restart on the same directory: every
// acknowledged call is in the log, the files equal a replay of the log, nothing changed outside the log,
// and the counter runs 1..N with no gap and no duplicate across all rounds.
// The host is a real `nodevms exec` child; the callers are nodevms/client connections.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { MemoryFiles, createEngine, type Engine } from '../../engine/index.js'
import { CallLog, DriveFiles, computeStateRoot, type CallEntry, type LogEntry } from '../../host/index.js'
import { toCallRecord } from '../../host/call-log.js'
import { verifyLog } from '../../host/verify/index.js'
import { connect, type Client } from '../../client/node.js'
import { spawnCli, stopAll, tempDir, type ServingCli } from '../cli/helpers.js'
import { LEDGER } from '../helpers.js'
import { openStore } from './stopped-store.js'

const ROUNDS = Number(process.env.CRASH_ROUNDS ?? 5)
const CLIENTS = 6


const test = suite('crash safety')
test.after(stopAll)

/** Calls add() back to back until the connection dies; returns the acknowledged results. */
async function hammer (port: number, id: number, onAck: () => void): Promise<number[]> {
  const acked: number[] = []
  let client: Client
  try {
    client = await connect(`127.0.0.1:${port}`, { timeout: 10_000 })
  } catch {
    return acked // killed before this client got in
  }
  try {
    for (;;) {
      acked.push(await client.add(id) as number)
      onAck()
    }
  } catch {
    return acked
  } finally {
    await client.close().catch(() => {})
  }
}

interface Replayed { files: MemoryFiles, calls: CallEntry[], lifecycles: number, last: LogEntry }

/** Replays the whole log in fresh engines (fresh at each lifecycle entry) over one MemoryFiles. */
async function replayLog (log: CallLog): Promise<Replayed> {
  const files = new MemoryFiles()
  const calls: CallEntry[] = []
  let engine: Engine | null = null
  let lifecycles = 0
  let last: LogEntry | null = null
  let source = ''
  for await (const entry of log.read()) {
    last = entry
    if (entry.type !== 'call') {
      // init and upgrade carry the source; a restart keeps it. Either way the script's memory starts fresh.
      lifecycles++
      if (entry.type !== 'restart') source = entry.source
      await engine?.close()
      engine = await createEngine(source, { files, seeded: entry.mode === 'seeded', gasLimit: entry.limits.gas, memoryLimit: entry.limits.memory })
      continue
    }
    const record = await engine!.call(entry.method, entry.args, { caller: entry.caller, replay: toCallRecord(entry) })
    assert.equal(record.result, entry.result, `entry ${calls.length}: the replayed result is the logged one`)
    calls.push(entry)
  }
  await engine?.close()
  return { files, calls, lifecycles, last: last! }
}

test(`${ROUNDS} rounds of SIGKILL under ${CLIENTS} concurrent clients lose no acknowledged call and leave the files equal to a replay`, async () => {
  const cwd = await tempDir('nodevms-crash-')
  const script = join(cwd, 'ledger.js')
  await writeFile(script, LEDGER)
  const dir = join(cwd, 'ledger')
  const args = ['exec', script, '--port', '0', '--dir', dir]
  const acked = new Set<number>()
  const report: string[] = []
  let keys: string[] | null = null

  for (let round = 1; round <= ROUNDS; round++) {
    const host: ServingCli = await spawnCli(args, { cwd })
    keys ??= [host.filesKey, host.logKey]
    assert.equal([host.filesKey, host.logKey], keys, `round ${round}: the keys survive the crash`)
    const delay = 50 + Math.floor(Math.random() * 450)
    // The clock starts at the first acknowledgement, so every kill lands while calls are flowing.
    let flowing: () => void = () => {}
    const firstAck = new Promise<void>((resolve) => { flowing = resolve })
    const clients = Array.from({ length: CLIENTS }, (_, id) => hammer(host.port, id, flowing))
    await Promise.race([firstAck, new Promise((resolve) => setTimeout(resolve, 10_000))])
    await new Promise((resolve) => setTimeout(resolve, delay))
    const exit = await host.stop('SIGKILL')
    assert.is(exit.signal, 'SIGKILL', `round ${round}: the host was killed`)
    const results = (await Promise.all(clients)).flat()
    for (const n of results) {
      assert.not.ok(acked.has(n), `counter value ${n} was acknowledged twice`)
      acked.add(n)
    }
    const recovered = /Recovered (\d+)/.exec(host.stderr())?.[1] ?? '0'
    const completed = /Completed the call log with (\d+)/.exec(host.stderr())?.[1] ?? '0'
    assert.not.match(host.stderr(), /outside the log/, `round ${round}: no change outside the log at start-up: ${host.stderr()}`)
    report.push(`round ${round}: killed after ${delay} ms, ${results.length} acknowledged, ${recovered} recovered and ${completed} completed from the journal at start`)
  }

  // One last start recovers whatever the last kill left, then a clean stop.
  const last = await spawnCli(args, { cwd })
  const recoveredLast = /Recovered (\d+)/.exec(last.stderr())?.[1] ?? '0'
  assert.not.match(last.stderr(), /outside the log/, `final start: no change outside the log: ${last.stderr()}`)
  const client = await connect(`127.0.0.1:${last.port}`)
  const next = await client.add(-1) as number
  await client.close()
  assert.ok(!acked.has(next) && next > Math.max(0, ...acked), `the restarted host serves on (${next})`)
  acked.add(next)
  assert.equal(await last.stop('SIGTERM'), { code: 0, signal: null }, 'the final host stops cleanly')

  const { log, drive, close } = await openStore(dir)
  try {
    const replayed = await replayLog(log)
    const values = replayed.calls.map((e) => e.result as number)
    assert.equal(values, Array.from({ length: values.length }, (_, i) => i + 1), 'the counter runs 1..N in log order: no gap, no duplicate')
    const missing = [...acked].filter((n) => n > values.length)
    assert.equal(missing, [], 'every acknowledged call is in the log')
    assert.is(replayed.lifecycles, ROUNDS + 1, 'one init and one restart entry per start')

    const expected = new Map<string, Uint8Array>()
    for (const path of await replayed.files.list('/')) expected.set(path, (await replayed.files.get(path))!)
    const actual = new DriveFiles(drive)
    const paths = await actual.list('/')
    assert.equal(paths, [...expected.keys()], 'the drive holds exactly the replayed files')
    for (const path of paths) {
      assert.ok(Buffer.from((await actual.get(path))!).equals(Buffer.from(expected.get(path)!)), `${path}: drive content equals the replay`)
    }
    const tail = replayed.last
    assert.ok(tail.type !== 'init', 'the log ends with a call or restart entry')
    assert.is(drive.version, tail.filesVersion, 'the drive is at the version the log ends with: no change outside the log')
    assert.is(tail.stateRoot, computeStateRoot(expected), 'the logged state root is the replayed files\' root')
    const verdict = await verifyLog(log, drive)
    assert.ok(verdict.ok, `nodevms verify passes: ${JSON.stringify(verdict.divergence)}`)
    assert.is(verdict.entries, log.length, 'verify checked every entry')
    const unacked = values.length - acked.size
    report.push(`final start: ${recoveredLast} recovered; log: ${values.length} calls, ${acked.size} acknowledged, ${unacked} logged but unacknowledged (in flight at a kill)`)
    process.stderr.write(report.map((line) => `  ${line}\n`).join(''))
  } finally {
    await close()
  }
})

test.run()
