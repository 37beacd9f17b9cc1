// The host's memory checkpoints (host/checkpoint-files.ts, host/script-memory.ts) are a cache only: a host that
// starts from one behaves byte for byte like a host that replays its log, and a checkpoint it cannot trust (torn,
// altered, or refused by the engine) is ignored with a warning and the log is replayed instead.
import * as assert from 'uvu/assert'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { CheckpointFiles } from '../../host/checkpoint-files.js'
import { Host, type HostOptions } from '../../host/host.js'
import type { CallEntry } from '../../host/call-log.js'
import { hostsSuite, type HostsCtx } from './hosts-suite.js'

const SCRIPT = `let state = { n: 0, list: [], map: {} }
exports.step = async (k) => {
  state.n += k
  state.list.push(k * 7 % 13)
  if (state.list.length > 50) state.list.splice(0, 10)
  state.map['k' + (k % 17)] = (state.map['k' + (k % 17)] || 0) + k
  if (k % 5 === 0) await System.files.writeFile('/f' + (k % 7), state.map)
  if (k % 11 === 0) { try { return await System.files.readFile('/f' + (k % 7), 'json') } catch (e) { return e.name } }
  if (k % 23 === 0) { let x = 0; for (let i = 0; i < k * 50; i++) x += i % 7; return x }
  if (k % 29 === 0) throw new TypeError('step ' + k + ' of ' + state.n)
  return [state.n, state.list.join(','), Object.keys(state.map).length]
}
exports.spin = async (k) => { state.n = -1; await System.files.writeFile('/spun', k); for (;;) {} }
`

const test = hostsSuite('memory checkpoints', 'checkpoint')

async function open (ctx: HostsCtx, name: string, warnings: string[] = [], more: Partial<HostOptions> = {}): Promise<Host> {
  const host = new Host({ source: SCRIPT, filename: 'mixed.js', dir: join(ctx.root, name), gasLimit: 2000, syncWrites: false, audit: false, warn: (m) => warnings.push(m), log: () => {}, ...more })
  ctx.hosts.push(host)
  await host.ready()
  return host
}

async function close (ctx: HostsCtx, host: Host): Promise<void> {
  ctx.hosts.splice(ctx.hosts.indexOf(host), 1)
  await host.close()
}

/** What must be identical between two hosts' entries: everything but keys-dependent nothing (there is none). */
function observable (entry: CallEntry): unknown {
  return { result: entry.result, error: entry.error, gas: entry.gas, changes: entry.changes, filesVersion: entry.filesVersion, stateRoot: entry.stateRoot }
}

/** Calls k = from..to-1 on host: a step each, and a spin (a limit hit) every 37th. */
async function run (host: Host, from: number, to: number): Promise<unknown[]> {
  const out: unknown[] = []
  for (let k = from; k < to; k++) {
    out.push(observable(await host.call('step', [k])))
    if (k % 37 === 0) out.push(observable(await host.call('spin', [k])))
  }
  return out
}

test('a host started from its checkpoint behaves byte for byte like one that replays its log, for the next 1,000 calls', async (ctx) => {
  // Two logs of the same calls; one host keeps checkpoints, the other never writes one.
  const kept = await open(ctx, 'kept')
  const replayed = await open(ctx, 'replayed', [], { checkpoints: false })
  const [a, b] = await Promise.all([run(kept, 1, 101), run(replayed, 1, 101)])
  assert.equal(a, b, 'the two hosts agree before the restart')
  await close(ctx, kept)
  await close(ctx, replayed)
  assert.ok((await new CheckpointFiles(join(ctx.root, 'kept')).names()).length > 0, 'the host wrote a checkpoint when it closed')
  assert.equal(await new CheckpointFiles(join(ctx.root, 'replayed')).names(), [], 'the other wrote none')

  const fromCheckpoint = await open(ctx, 'kept', [], { checkpoints: false })
  const fromLog = await open(ctx, 'replayed', [], { checkpoints: false })
  assert.ok(fromCheckpoint.report.restored?.checkpoint != null, 'one started from its checkpoint')
  assert.is(fromCheckpoint.report.restored?.replayed, 0, 'and replayed nothing')
  assert.is(fromLog.report.restored?.checkpoint, null, 'the other replayed its log')
  assert.ok(fromLog.report.restored!.replayed >= 100, `all of it (${fromLog.report.restored!.replayed} calls)`)
  const [c, d] = await Promise.all([run(fromCheckpoint, 101, 1101), run(fromLog, 101, 1101)])
  assert.is(c.length, 1027, '1,000 steps and 27 limit hits')
  for (let i = 0; i < c.length; i++) assert.equal(c[i], d[i], `call ${i} after the restart: result, error, gas, changes and state root agree`)
})

test('a torn or altered checkpoint, or one the engine refuses, is ignored with a warning and the log is replayed', async (ctx) => {
  const first = await open(ctx, 'host')
  const control = await open(ctx, 'control', [], { checkpoints: false })
  await Promise.all([run(first, 1, 101), run(control, 1, 101)])
  await close(ctx, first)
  const disk = new CheckpointFiles(join(ctx.root, 'host'))
  const [newest, ...older] = await disk.names()
  for (const name of older) await rm(join(disk.dir, name))
  const path = join(disk.dir, newest)
  const good = await readFile(path)

  // Torn: the file ends early. Altered: one byte of the engine's memory flipped.
  const altered = Buffer.from(good)
  altered[Math.floor(altered.byteLength / 2)] ^= 0xff
  for (const [what, bytes] of [['torn', good.subarray(0, good.byteLength - 1000)], ['altered', altered]] as const) {
    await writeFile(path, bytes)
    const warnings: string[] = []
    const host = await open(ctx, 'host', warnings, { checkpoints: false })
    assert.is(host.report.restored?.checkpoint, null, `${what}: the checkpoint was not used`)
    assert.ok(warnings.some((w) => w.includes(`Ignored the memory checkpoint ${path}`) && w.includes('checksum')), `${what}: a warning names the file and why: ${warnings.join(' | ')}`)
    await close(ctx, host)
  }

  // Refused by the engine: a well-formed file for this log (right checksum, key and tree hash) holding another script's engine.
  await rm(path)
  const other = new Host({ source: 'exports.f = () => 1', filename: 'other.js', dir: join(ctx.root, 'other'), syncWrites: false, audit: false, warn: () => {} })
  await other.ready()
  await other.call('f')
  await other.close()
  const otherDisk = new CheckpointFiles(join(ctx.root, 'other'))
  const foreign = await otherDisk.read((await otherDisk.names())[0])
  const peek = await open(ctx, 'host', [], { checkpoints: false })
  const header = { logKey: peek.callLogKey, length: peek.log.length, treeHash: (await peek.log.core.treeHash(peek.log.length)).toString('hex') }
  await close(ctx, peek)
  await disk.write(header, foreign.engine)
  const warnings: string[] = []
  const refused = await open(ctx, 'host', warnings, { checkpoints: false })
  assert.ok(warnings.some((w) => w.includes(`Ignored the memory checkpoint ${disk.dir}/`)), `the engine refused it, and the host said so: ${warnings.join(' | ')}`)
  assert.is(refused.report.restored?.checkpoint, null, 'the refused checkpoint was not used')
  const [after, expected] = await Promise.all([run(refused, 101, 161), run(control, 101, 161)])
  assert.equal(after, expected, 'the memory is what the log made it: the next calls agree with a host that never had a checkpoint')
})

test('a call too large for a log entry leaves the memory as it was: the host rolls the engine back, from a checkpoint or from the log', async (ctx) => {
  const source = 'let n = 0\nexports.next = () => ++n\nexports.big = (mib) => { n += 1000; return "x".repeat(mib * 1048576) }\n'
  for (const checkpoints of [true, false]) {
    const dir = join(ctx.root, `big-${checkpoints}`)
    const options = { source, filename: 'big.js', dir, memoryLimit: 256 * 1048576, syncWrites: false, audit: false, warn: () => {}, ...(checkpoints ? {} : { checkpoints: false as const }) }
    const host = new Host(options)
    ctx.hosts.push(host)
    await host.ready()
    assert.is((await host.call('next')).result, 1)
    // With checkpoints, one is taken once the host has been idle for a second: the rollback starts from it.
    if (checkpoints) await new Promise((resolve) => setTimeout(resolve, 1500))
    const big = await host.call('big', [16])
    assert.is(big.error?.name, 'EntryTooLargeError', `checkpoints ${checkpoints}: the call was too large for the log`)
    assert.is((await host.call('next')).result, 2, `checkpoints ${checkpoints}: its effect on the memory was undone`)
    await close(ctx, host)
    const again = new Host(options)
    ctx.hosts.push(again)
    await again.ready()
    assert.is((await again.call('next')).result, 3, `checkpoints ${checkpoints}: and a restore skips it`)
    await close(ctx, again)
  }
})

test.run()
