// Calls that come together go to the engine together (host/call-dispatcher.ts): the host sends each call as it
// comes, without waiting for the record of the one before, and the engine runs what waits as one batch. Nothing
// a caller sees may depend on that: a burst of calls gives the very entries the same calls give one at a time
// (results, gas, file changes, files versions, state roots), whatever happens inside the burst: file reads and
// writes that depend on the call before, limit hits, a call whose entry is too large for the log (the calls after
// it ran on its effects and run again), and checkpoints taken while calls keep coming.
import * as assert from 'uvu/assert'
import { unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { CheckpointFiles } from '../../host/checkpoint-files.js'
import { Host, type HostOptions } from '../../host/host.js'
import type { CallEntry } from '../../host/call-log.js'
import { verifyLog } from '../../host/verify/index.js'
import { hostsSuite, type HostsCtx } from './hosts-suite.js'

// Each call reads what the calls before it wrote: a call that saw stale files, or files of a call that had no
// effect, changes every later result and state root.
const SCRIPT = `let total = 0
exports.step = async (k) => {
  total += k
  const last = await System.files.readFile('/last', 'utf8').catch(() => 'none')
  if (k % 3 === 0) await System.files.writeFile('/last', String(k) + '<' + last)
  if (k % 4 === 0) await System.files.writeFile('/d/' + (k % 5), String(total))
  if (k % 10 === 7) { await System.files.writeFile('/last', 'lost ' + k); for (;;) {} }
  if (k % 13 === 0) return (await System.files.readdir('/d')).join(',')
  return [total, last.length]
}
exports.count = () => total
exports.big = (mib) => { total += 1000000; return 'x'.repeat(mib * 1048576) }
`

const test = hostsSuite('call dispatch', 'dispatch')

async function open (ctx: HostsCtx, name: string, more: Partial<HostOptions> = {}): Promise<Host> {
  const host = new Host({ source: SCRIPT, filename: 'steps.js', dir: join(ctx.root, name), gasLimit: 50, memoryLimit: 256 * 1048576, syncWrites: false, audit: false, warn: () => {}, log: () => {}, ...more })
  ctx.hosts.push(host)
  await host.ready()
  return host
}

function observable (entry: CallEntry): unknown {
  return { method: entry.method, result: entry.result, error: entry.error?.name, gas: entry.gas, changes: entry.changes, filesVersion: entry.filesVersion, stateRoot: entry.stateRoot }
}

type Call = [string, unknown[]]
const steps = (from: number, to: number): Call[] => Array.from({ length: to - from }, (_, i) => ['step', [from + i]])

async function oneByOne (host: Host, calls: Call[]): Promise<unknown[]> {
  const out: unknown[] = []
  for (const [method, args] of calls) out.push(observable(await host.call(method, args)))
  return out
}

/** All at once, in this order; also checks that the log holds them in this order. */
async function burst (host: Host, calls: Call[]): Promise<unknown[]> {
  const first = host.log.length
  const entries = await Promise.all(calls.map(([method, args]) => host.call(method, args)))
  for (let i = 0; i < calls.length; i++) {
    const logged = await host.log.get(first + i) as CallEntry
    assert.equal([logged.method, logged.args], calls[i], `log entry ${first + i} is call ${i} of the burst`)
  }
  return entries.map(observable)
}

test('a burst of calls that read and write what the calls before them wrote, with limit hits among them, logs what one call at a time logs', async (ctx) => {
  const calls = steps(1, 301)
  const [single, together] = [await open(ctx, 'single'), await open(ctx, 'together')]
  const expected = await oneByOne(single, calls)
  const got = await burst(together, calls)
  assert.equal(got, expected, 'the same entries, call by call')
  assert.ok(got.filter((e) => (e as { error?: string }).error === 'GasExhaustedError').length >= 30, 'limit hits were among them')
  const verdict = await verifyLog(together.log, together.drive)
  assert.ok(verdict.ok, `the log of the burst verifies: ${JSON.stringify(verdict.divergence)}`)
})

test('a call too large for the log inside a burst: the calls after it run again on the memory and files without it, in their order', async (ctx) => {
  const calls: Call[] = [...steps(1, 20), ['big', [16]], ...steps(20, 40), ['big', [16]], ['count', []], ...steps(40, 60), ['count', []]]
  const [single, together] = [await open(ctx, 'single'), await open(ctx, 'together')]
  const expected = await oneByOne(single, calls)
  const got = await burst(together, calls)
  assert.is((got[19] as { error?: string }).error, 'EntryTooLargeError', 'the big call was refused')
  assert.equal(got, expected, 'the same entries, call by call: the calls after it saw nothing of it')
  assert.is(together.log.length, single.log.length, 'each call was logged once')
  const verdict = await verifyLog(together.log, together.drive)
  assert.ok(verdict.ok, `the log verifies: ${JSON.stringify(verdict.divergence)}`)
})

test('closing the host in the middle of a burst with a call too large for the log: every call sent is logged once, and the log verifies', async (ctx) => {
  const host = await open(ctx, 'closing')
  const calls: Call[] = [...steps(1, 30), ['big', [16]], ...steps(30, 60)]
  const outcomes = calls.map(([method, args]) => host.call(method, args))
  const closed = host.close()
  const settled = await Promise.allSettled(outcomes)
  await closed
  ctx.hosts.splice(ctx.hosts.indexOf(host), 1)
  const failed = settled.filter((s) => s.status === 'rejected')
  assert.equal(failed, [], 'calls made before close() all ran')
  const again = await open(ctx, 'closing')
  assert.is(again.log.length, 1 + calls.length + 1, 'init, each call once, and the restart')
  const verdict = await verifyLog(again.log, again.drive)
  assert.ok(verdict.ok, `the log verifies: ${JSON.stringify(verdict.divergence)}`)
  assert.is((await again.call('count')).result, 59 * 60 / 2 - [7, 17, 27, 37, 47, 57].reduce((a, b) => a + b, 0), 'the memory restored: the big call and the limit hits left no trace')
})

test('checkpoints taken while bursts keep coming cover exactly the calls logged before them: a restore from one matches a replay', async (ctx) => {
  const dir = 'checkpointed'
  const host = await open(ctx, dir, { checkpoints: { everyCalls: 25, everyMs: 60_000, idleMs: 60_000 } })
  const control = await open(ctx, 'control', { checkpoints: false })
  for (let from = 1; from < 400; from += 57) {
    const calls = steps(from, from + 57)
    assert.equal(await burst(host, calls), await burst(control, calls), `calls ${from}… agree with a host that takes no checkpoints`)
  }
  const length = host.log.length
  await host.close()
  ctx.hosts.splice(ctx.hosts.indexOf(host), 1)
  // The host also writes one as it closes; that one is taken with nothing in flight. Keep only those taken
  // while calls kept coming.
  const disk = new CheckpointFiles(join(ctx.root, dir))
  const taken: number[] = []
  for (const name of await disk.names()) {
    const covers = (await disk.read(name)).header.length
    if (covers === length) await unlink(join(disk.dir, name))
    else taken.push(covers)
  }
  assert.ok(taken.length > 0, 'checkpoints were taken between bursts')
  const again = await open(ctx, dir, { checkpoints: { everyCalls: 25, everyMs: 60_000, idleMs: 60_000 } })
  assert.is(again.report.restored?.checkpoint, Math.max(...taken), `the restart started from the newest of them: ${JSON.stringify(again.report.restored)}`)
  const next = steps(400, 460)
  assert.equal(await burst(again, next), await burst(control, next), 'the restored memory is what the log made it')
})

test.run()
