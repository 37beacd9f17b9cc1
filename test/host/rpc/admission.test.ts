// Signed calls checked off the main thread (host/rpc/signature-pool.ts) and admitted in arrival order
// (host/rpc/admission.ts): a call queues behind the calls that arrived before it even when their checks finish
// later; the per-key counter rule decides exactly as checking each call on arrival, one after another, would;
// a refused call is never run or logged; a signature worker that dies still answers every check.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import crypto from 'hypercore-crypto'
import { connect, signCall, type SignedAuth } from '../../../client/node.js'
import { Host, HostError, type CallEntry } from '../../../host/index.js'
import { AdmissionQueue } from '../../../host/rpc/admission.js'
import { CallAuthenticator } from '../../../host/rpc/call-authenticator.js'
import { hostService, RpcServer } from '../../../host/rpc/index.js'
import { SignaturePool } from '../../../host/rpc/signature-pool.js'
import { prng } from '../../helpers.js'

const SCRIPT = 'let n = 0\nexports.take = (label) => { n++; return { n, label } }\n'
const ALICE = crypto.keyPair(Buffer.alloc(32, 1))
const BOB = crypto.keyPair(Buffer.alloc(32, 2))
const hex = (key: Buffer) => key.toString('hex')

/**
 * The real pool, with the answer to chosen checks held back: a check that finishes after later calls' checks.
 * Every signature is still checked for real, in the worker.
 */
class HeldPool extends SignaturePool {
  delays: number[] = []
  override check (method: string, params: unknown[], auth: SignedAuth): Promise<boolean> {
    const delay = this.delays.shift() ?? 0
    const answer = super.check(method, params, auth)
    return delay === 0 ? answer : answer.then((ok) => new Promise<boolean>((resolve) => setTimeout(() => resolve(ok), delay)))
  }
}

interface Ctx { dir: string, host: Host, pool: HeldPool, gate: CallAuthenticator, queue: AdmissionQueue }
const test = suite<Ctx>('admission')
test.before.each(async (ctx) => {
  ctx.dir = await mkdtemp(join(tmpdir(), 'nodevms-admission-'))
  ctx.host = new Host({ source: SCRIPT, filename: 'take.js', dir: join(ctx.dir, 'host'), warn: () => {}, log: () => {} })
  await ctx.host.ready()
  ctx.pool = new HeldPool(ctx.host.callLogKey, 1)
  ctx.gate = new CallAuthenticator(ctx.host.callLogKey)
  ctx.queue = new AdmissionQueue(ctx.gate, ctx.pool)
})
test.after.each(async (ctx) => {
  await ctx.pool.close()
  await ctx.host.close()
  await rm(ctx.dir, { recursive: true, force: true })
})

type Outcome = { n: number, label: string } | { refused: string, last?: unknown }

/** Sends one call through the admission queue into the host; its outcome, or its refusal's code. */
function send (ctx: Ctx, label: string, auth?: { identity: { publicKey: Buffer, secretKey: Buffer }, counter: number, forge?: boolean }): Promise<Outcome> {
  const params = [label]
  let signed = auth === undefined ? undefined : signCall(auth.identity, ctx.host.callLogKey, 'take', params, auth.counter)
  if (signed !== undefined && auth?.forge === true) signed = { ...signed, signature: hex(crypto.sign(Buffer.from('something else'), auth.identity.secretKey)) }
  return ctx.queue.admit('take', params, { caller: null, auth: signed }, (admitted) => ctx.host.call('take', params, admitted))
    .then((entry: CallEntry) => entry.result as { n: number, label: string })
    .catch((err: HostError) => ({ refused: err.code, ...(err.data !== undefined ? { last: (err.data as { last: unknown }).last } : {}) }))
}

async function logged (host: Host): Promise<Array<{ label: unknown, caller: string | null }>> {
  const out: Array<{ label: unknown, caller: string | null }> = []
  await host.settled() // the service answers once calls are durable; the log holds them right after
  for await (const entry of host.log.read(1)) if (entry.type === 'call') out.push({ label: entry.args[0], caller: entry.caller })
  return out
}

test('a signed call whose check finishes last still queues before the calls that arrived after it', async (ctx) => {
  ctx.pool.delays = [300, 0] // alice's check is held; bob's comes back at once
  const outcomes = await Promise.all([
    send(ctx, 'alice', { identity: ALICE, counter: 1 }),
    send(ctx, 'anonymous'),
    send(ctx, 'bob', { identity: BOB, counter: 1 })
  ])
  assert.equal(outcomes, [{ n: 1, label: 'alice' }, { n: 2, label: 'anonymous' }, { n: 3, label: 'bob' }], 'run in arrival order')
  assert.equal(await logged(ctx.host), [{ label: 'alice', caller: hex(ALICE.publicKey) }, { label: 'anonymous', caller: null }, { label: 'bob', caller: hex(BOB.publicKey) }], 'logged in arrival order')
})

test('two calls with one counter in flight: the first to arrive is taken, the second is stale, whichever check ends first', async (ctx) => {
  ctx.pool.delays = [300, 0]
  const outcomes = await Promise.all([send(ctx, 'first', { identity: ALICE, counter: 7 }), send(ctx, 'second', { identity: ALICE, counter: 7 })])
  assert.equal(outcomes, [{ n: 1, label: 'first' }, { refused: 'STALE_COUNTER', last: 7 }])
  assert.equal((await logged(ctx.host)).map((e) => e.label), ['first'], 'the stale call was not logged')
})

test('a forged call takes no counter: the genuine call behind it with the same counter passes', async (ctx) => {
  ctx.pool.delays = [300, 0]
  const outcomes = await Promise.all([send(ctx, 'forged', { identity: ALICE, counter: 7, forge: true }), send(ctx, 'genuine', { identity: ALICE, counter: 7 })])
  assert.equal(outcomes, [{ refused: 'BAD_SIGNATURE' }, { n: 1, label: 'genuine' }])
  assert.equal((await logged(ctx.host)).map((e) => e.label), ['genuine'], 'the forged call was not logged')
})

test('a lower counter behind a higher one in flight is stale, though its check ends first', async (ctx) => {
  ctx.pool.delays = [300, 0]
  const outcomes = await Promise.all([send(ctx, 'five', { identity: ALICE, counter: 5 }), send(ctx, 'three', { identity: ALICE, counter: 3 })])
  assert.equal(outcomes, [{ n: 1, label: 'five' }, { refused: 'STALE_COUNTER', last: 5 }])
})

test('many calls from several keys with checks that end in any order decide exactly as one-by-one checking on arrival', async (ctx) => {
  const random = prng(13)
  const keys = [ALICE, BOB, crypto.keyPair(Buffer.alloc(32, 3))]
  const calls = Array.from({ length: 60 }, (_, i) => {
    const identity = keys[Math.floor(random() * keys.length)]
    const kind = random()
    return kind < 0.15
      ? { label: `c${i}` }
      : { label: `c${i}`, auth: { identity, counter: 1 + Math.floor(random() * 12), forge: kind > 0.9 } }
  })
  ctx.pool.delays = calls.filter((c) => c.auth !== undefined).map(() => Math.floor(random() * 40))
  const outcomes = await Promise.all(calls.map((c) => send(ctx, c.label, c.auth)))

  // The reference: the synchronous gate (CallAuthenticator.admit) on each call in arrival order.
  const reference = new CallAuthenticator(ctx.host.callLogKey)
  let n = 0
  const expected: Outcome[] = calls.map((c) => {
    const params = [c.label]
    let auth = c.auth === undefined ? undefined : signCall(c.auth.identity, ctx.host.callLogKey, 'take', params, c.auth.counter)
    if (auth !== undefined && c.auth?.forge === true) auth = { ...auth, signature: hex(crypto.sign(Buffer.from('something else'), c.auth.identity.secretKey)) }
    try {
      reference.admit('take', params, { caller: null, auth })
      return { n: ++n, label: c.label }
    } catch (err) {
      const e = err as HostError
      return { refused: e.code, ...(e.data !== undefined ? { last: (e.data as { last: unknown }).last } : {}) }
    }
  })
  assert.equal(outcomes, expected)
  assert.ok(expected.some((o) => 'refused' in o && o.refused === 'STALE_COUNTER') && expected.some((o) => 'refused' in o && o.refused === 'BAD_SIGNATURE'), 'the workload has both kinds of refusal')
  assert.equal((await logged(ctx.host)).map((e) => e.label), expected.filter((o): o is { n: number, label: string } => 'n' in o).map((o) => o.label), 'exactly the admitted calls, in arrival order')
})

test('over ws: one connection\'s signed calls, sent without waiting, run and are logged in the order sent', async (ctx) => {
  const server = new RpcServer({ service: hostService(ctx.host), host: '127.0.0.1', port: 0, onError: () => {} })
  await server.open()
  const client = await connect(`127.0.0.1:${server.port}`, { identity: { publicKey: ALICE.publicKey, secretKey: ALICE.secretKey } })
  try {
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => client.take(`w${i}`) as Promise<{ n: number, label: string }>))
    assert.equal(results.map((r) => r.label), Array.from({ length: 50 }, (_, i) => `w${i}`))
    assert.equal(results.map((r) => r.n), Array.from({ length: 50 }, (_, i) => i + 1))
    assert.equal((await logged(ctx.host)).map((e) => e.label), results.map((r) => r.label))
  } finally {
    await client.close()
    await server.close()
  }
})

test('the pool answers every check, right or wrong, and still does when its worker dies mid-batch', async (ctx) => {
  const key = ctx.host.callLogKey
  const good = signCall(ALICE, key, 'take', ['x'], 1)
  const checks = (auth: SignedAuth, params: unknown[] = ['x']) => ctx.pool.check('take', params, auth)
  assert.equal(await Promise.all([
    checks(good), checks(good, ['y']), checks({ ...good, counter: 2 }), checks({ ...good, pubkey: hex(BOB.publicKey) }), checks(signCall(ALICE, '0'.repeat(64), 'take', ['x'], 1))
  ]), [true, false, false, false, false], 'a good signature; other params, counter, signer or log')
  assert.ok(ctx.pool.stats.batches >= 1 && ctx.pool.stats.inThread === 0, 'checked in the worker')
  const answers = Array.from({ length: 20 }, (_, i) => checks(good, i % 2 === 0 ? ['x'] : ['other']))
  // The worker crashes on a message it cannot read, queued just ahead of the batch (posted on the next turn):
  // it dies with the batch out, as a worker that fails mid-batch does. (Not terminate(): its answer could
  // still arrive first, and the pool then unrefs a worker that terminate() had ref'd until its exit.)
  const threads = (ctx.pool as unknown as { threads: Array<{ worker: { postMessage (message: unknown): void } }> }).threads
  threads[0].worker.postMessage({ id: 0, logKey: key, calls: 'not JSON' })
  assert.equal(await Promise.all(answers), Array.from({ length: 20 }, (_, i) => i % 2 === 0))
  assert.equal(ctx.pool.stats.inThread, 20, 'the lost batch was checked on this thread')
  const batches = ctx.pool.stats.batches
  assert.equal(await checks(good), true, 'a new worker takes later checks')
  assert.equal(ctx.pool.stats.batches, batches + 1, 'in a worker')
})

test.run()
