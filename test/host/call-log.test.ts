import { createHash } from 'node:crypto'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Corestore from 'corestore'
import {
  CallLog, decodeEntry, encodeEntry, logChanges, sameContent, toCallRecord,
  type CallEntry, type InitEntry, type LogEntry, type RestartEntry, type UpgradeEntry
} from '../../host/call-log.js'
import { HostError } from '../../host/errors.js'

interface Ctx { dir: string, store: Corestore }
const test = suite<Ctx>('call log', {} as Ctx)
const H = (c: string) => c.repeat(64)

test.before.each(async (ctx) => {
  ctx.dir = await mkdtemp(join(tmpdir(), 'nodevms-log-'))
  ctx.store = new Corestore(ctx.dir)
})

test.after.each(async (ctx) => {
  await ctx.store.close()
  await rm(ctx.dir, { recursive: true, force: true })
})

const runtime = {
  sourceHash: H('a'),
  engine: { name: 'nodevms-quickjs' as const, version: '0.1.0', wasmSha256: H('b') },
  mode: 'deterministic' as const,
  limits: { gas: 100000, memory: 64 * 1024 * 1024, timeoutMs: 5000 }
}
const init: InitEntry = { type: 'init', version: 1, filename: 'counter.js', source: 'exports.x = 1', ...runtime, filesKey: H('c') }
const call: CallEntry = {
  type: 'call', method: 'inc', args: [1, { a: 'b' }], caller: H('d'),
  auth: { pubkey: H('d'), counter: 7, signature: 'e'.repeat(128) },
  result: { n: 2 }, oracles: [{ value: 3 }, { error: { name: 'Error', message: 'no' } }], gas: 12,
  time: 1700000000000, seed: 's1', changes: [['/counter', 'Mg=='], ['/old', null]], filesVersion: 4, stateRoot: H('f')
}
const failed: CallEntry = {
  type: 'call', method: 'boom', args: [], caller: null, auth: { debug: true }, error: { name: 'GasExhaustedError', message: 'out of gas' },
  oracles: [], gas: 100000, deadlineGas: 99, rebuilt: true, changes: [], filesVersion: 4, stateRoot: H('f')
}
const restart: RestartEntry = { type: 'restart', ...runtime, filesVersion: 4, stateRoot: H('f') }
const upgrade: UpgradeEntry = { type: 'upgrade', filename: 'counter.js', source: 'exports.y = 2', ...runtime, mode: 'seeded', filesVersion: 4, stateRoot: H('f') }
const all: LogEntry[] = [init, call, failed, restart, upgrade]

function expectNotALog (fn: () => unknown, index: number, what: RegExp): void {
  try {
    fn()
  } catch (err) {
    assert.instance(err, HostError)
    assert.is((err as HostError).code, 'NOT_A_NODEVMS_LOG')
    assert.match((err as Error).message, `Block ${index} `, 'the message gives the index')
    assert.match((err as Error).message, 'not a nodevms call log')
    assert.match((err as Error).message, what)
    return
  }
  assert.unreachable('expected NOT_A_NODEVMS_LOG')
}

async function expectNotALogAsync (p: Promise<unknown>, index: number, what: RegExp): Promise<void> {
  let error: unknown = null
  try { await p } catch (err) { error = err }
  expectNotALog(() => { if (error) throw error }, index, what)
}

test('every entry type round-trips through a Hypercore on disk, and survives reopening the corestore', async (ctx) => {
  const log = new CallLog(ctx.store.get({ name: 'log' }))
  assert.is(await log.append(all), all.length)
  assert.is(log.length, all.length)
  for (let i = 0; i < all.length; i++) assert.equal(await log.get(i), all[i], `entry ${i} (${all[i].type})`)
  const key = log.key
  assert.match(key, /^[0-9a-f]{64}$/)
  await log.core.close()
  await ctx.store.close()

  ctx.store = new Corestore(ctx.dir)
  const reopened = new CallLog(ctx.store.get({ name: 'log' }))
  await reopened.core.ready()
  assert.is(reopened.key, key, 'same key after reopening')
  const read: LogEntry[] = []
  for await (const entry of reopened.read()) read.push(entry)
  assert.equal(read, all, 'read() streams every entry in order')
  const tail: LogEntry[] = []
  for await (const entry of reopened.read(3, 4)) tail.push(entry)
  assert.equal(tail, [restart], 'read(start, end) streams a range')
  await reopened.core.close()
})

test('a foreign core is NOT_A_NODEVMS_LOG with the index of what was found', async ({ store }) => {
  const foreign = store.get({ name: 'foreign' })
  await foreign.append([Buffer.from('hello world')])
  const log = new CallLog(foreign)
  await expectNotALogAsync(log.get(0), 0, /not JSON/)
  await expectNotALogAsync((async () => { for await (const _ of log.read()) { /* empty */ } })(), 0, /not JSON/)
  await foreign.close()

  const corrupt = store.get({ name: 'corrupt' })
  await corrupt.append([encodeEntry(init, 0), Buffer.from('{"type":"call","method":"x"}'), Buffer.from('{"type":"mystery"}')])
  const log2 = new CallLog(corrupt)
  assert.equal(await log2.get(0), init)
  await expectNotALogAsync(log2.get(1), 1, /'call' entry with a missing or malformed 'args'/)
  await expectNotALogAsync(log2.get(2), 2, /known entry type \(type: "mystery"\)/)
  await corrupt.close()
})

test('decode is strict about the position and shape of entries', () => {
  const enc = (v: unknown) => Buffer.from(JSON.stringify(v))
  expectNotALog(() => decodeEntry(enc(call), 0), 0, /'call' entry where an 'init' entry must come first/)
  expectNotALog(() => decodeEntry(enc(init), 5), 5, /'init' entry after block 0/)
  expectNotALog(() => decodeEntry(enc([1, 2]), 3), 3, /JSON array/)
  expectNotALog(() => decodeEntry(enc({ ...call, gas: -1 }), 1), 1, /'gas'/)
  expectNotALog(() => decodeEntry(enc({ ...call, stateRoot: 'ABC' }), 1), 1, /'stateRoot'/)
  expectNotALog(() => decodeEntry(enc({ ...call, changes: [['/a', 5]] }), 1), 1, /'changes'/)
  expectNotALog(() => decodeEntry(enc({ ...call, error: { name: 'E', message: 'm' } }), 1), 1, /both 'result' and 'error'/)
  expectNotALog(() => decodeEntry(enc({ ...init, engine: { name: 'other', version: '1', wasmSha256: H('0') } }), 0), 0, /'engine'/)
  expectNotALog(() => decodeEntry(new Uint8Array([0xff, 0xfe]), 9), 9, /not JSON/)
})

test('append refuses entries that decode would refuse, and writes nothing', async ({ store }) => {
  const log = new CallLog(store.get({ name: 'log' }))
  await expectNotALogAsync(log.append([call]), 0, /must come first/)
  assert.is(log.length, 0, 'nothing appended')
  await log.append([init])
  await expectNotALogAsync(log.append([call, init]), 2, /after block 0/)
  assert.is(log.length, 1, 'the group was refused as a whole')
  await log.core.close()
})

test('file changes are logged by content hash and size, and a call entry gives back its engine record', () => {
  const changes: Array<[string, Uint8Array | null]> = [['/bin', new Uint8Array([0, 255, 7])], ['/gone', null], ['/empty', new Uint8Array(0)]]
  const logged = logChanges(changes)
  assert.equal(logged, [
    ['/bin', { sha256: createHash('sha256').update(new Uint8Array([0, 255, 7])).digest('hex'), size: 3 }],
    ['/gone', null],
    ['/empty', { sha256: createHash('sha256').update('').digest('hex'), size: 0 }]
  ])
  for (let i = 0; i < changes.length; i++) assert.ok(sameContent(logged[i][1], changes[i][1]), `${changes[i][0]} is named by its logged form`)
  assert.not.ok(sameContent(logged[0][1], new Uint8Array([0, 255, 8])), 'other bytes of the same size are not')
  assert.not.ok(sameContent(logged[1][1], new Uint8Array(0)), 'a delete is not an empty file')
  assert.ok(sameContent('AP8H', new Uint8Array([0, 255, 7])), 'an older log\'s base64 content still compares')
  const entry = decodeEntry(encodeEntry({ ...call, changes: logged }, 1), 1)
  assert.equal((entry as typeof call).changes, logged, 'an entry with content references round-trips')
  const record = toCallRecord(call)
  assert.equal(Object.keys(record).sort(), ['args', 'caller', 'gas', 'method', 'oracles', 'result', 'seed', 'time'])
})

test('read() streams 50,000 entries in order without loading the log at once', async ({ store }) => {
  const log = new CallLog(store.get({ name: 'big' }))
  await log.append([init])
  const N = 50_000
  for (let i = 0; i < N; i += 5000) {
    await log.append(Array.from({ length: 5000 }, (_, k) => ({ ...failed, method: `m${i + k}`, auth: undefined })))
  }
  assert.is(log.length, N + 1)
  let n = 0
  for await (const entry of log.read(1)) {
    if (entry.type !== 'call' || entry.method !== `m${n}`) assert.unreachable(`entry ${n + 1} out of order`)
    n++
  }
  assert.is(n, N)
  await log.core.close()
})

test.run()
