// Signed calls (CONTRACT §5): the canonical payload, signatures from a fixed key, the strict "auth" shape,
// the host's gate (signature, counter, anonymous), counters rebuilt from a real log, and verify's AuthChecker
// over entries a malicious host crafted.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createPrivateKey, sign as nodeSign } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import crypto from 'hypercore-crypto'
import { signCall } from '../../../client/node.js'
import { AUTH_RPC_CODES, CALL_SIGNATURE_DOMAIN, logKeyFromUrl, signedPayload, type SignedAuth } from '../../../client/wire.js'
import { Host, HostError, signatureCovers, type CallEntry } from '../../../host/index.js'
import { CallAuthenticator, parseAuth } from '../../../host/rpc/index.js'
import { AuthChecker, unsignedCaller } from '../../../host/verify/auth.js'

// A fixed test key: ed25519 is deterministic, so its public key and signatures are fixed too.
const SEED = Buffer.alloc(32, 7)
const ALICE = crypto.keyPair(SEED)
const ALICE_HEX = 'ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c'
const MALLORY = crypto.keyPair(Buffer.alloc(32, 9))
const LOG = '0123456789abcdef'.repeat(4)
const OTHER_LOG = 'fedcba9876543210'.repeat(4)
const COUNTER = 1_700_000_000_000_000

/** The refusal fn throws: a HostError with this JSON-RPC code, whose message matches. */
function refused (fn: () => unknown, rpcCode: number, message: RegExp): HostError {
  try {
    fn()
  } catch (err) {
    assert.instance(err, HostError, `a HostError, got ${String(err)}`)
    const e = err as HostError
    assert.is(e.rpcCode, rpcCode, `rpcCode ${rpcCode}, got ${e.rpcCode}: ${e.message}`)
    assert.match(e.message, message, 'the message says what is wrong')
    return e
  }
  assert.unreachable(`expected a ${rpcCode} refusal`)
  throw new Error('unreachable')
}

// ---- the canonical payload ----

test('the payload is the canonical JSON of [domain, log key, method, params, counter]', () => {
  const text = Buffer.from(signedPayload(LOG, 'increment', [], COUNTER)).toString('utf8')
  assert.is(text, `["nodevms-call/1","${LOG}","increment",[],1700000000000000]`)
  assert.is(CALL_SIGNATURE_DOMAIN, 'nodevms-call/1')
})

test('object keys are sorted by code unit, at every depth, whatever order they came in', () => {
  const params = [{ b: 1, a: { z: true, y: null }, A: 3, 'é': 4, aa: 5, _: 6 }]
  assert.is(Buffer.from(signedPayload(LOG, 'm', params, 1)).toString('utf8'),
    `["nodevms-call/1","${LOG}","m",[{"A":3,"_":6,"a":{"y":null,"z":true},"aa":5,"b":1,"é":4}],1]`)
  const reordered = [{ 'é': 4, _: 6, aa: 5, A: 3, a: { y: null, z: true }, b: 1 }]
  assert.equal(signedPayload(LOG, 'm', reordered, 1), signedPayload(LOG, 'm', params, 1), 'key order on the wire does not matter')
})

test('numbers are written as JavaScript writes them', () => {
  const params = [1, -0, 0.1, 1e21, 1.5e-7, -2.5, 9007199254740991, 100, 1e-6]
  assert.is(Buffer.from(signedPayload(LOG, 'm', params, 0)).toString('utf8'),
    `["nodevms-call/1","${LOG}","m",[1,0,0.1,1e+21,1.5e-7,-2.5,9007199254740991,100,0.000001],0]`)
})

test('strings are JSON.stringify output: non-ASCII raw UTF-8, controls and lone surrogates escaped', () => {
  const params = ['ünïcødé ✓ 😀', 'quote " back \\ slash', 'tab\tnew\nline\u0001', '\ud800', '</script>']
  const payload = Buffer.from(signedPayload(LOG, 'm', params, 0))
  assert.is(payload.toString('utf8'),
    `["nodevms-call/1","${LOG}","m",["ünïcødé ✓ 😀","quote \\" back \\\\ slash","tab\\tnew\\nline\\u0001","\\ud800","</script>"],0]`)
  assert.is(payload.subarray(payload.indexOf('ü') - 0, payload.indexOf('ü') + 2).toString('hex'), 'c3bc', 'ü is UTF-8 bytes, not \\u00fc')
})

test('nested arrays and empty containers keep their shape; undefined in an array is null', () => {
  const params = [[1, [2, [3, []]]], {}, [], [null, undefined, { k: undefined }], true, false]
  assert.is(Buffer.from(signedPayload(LOG, 'm', params, 5)).toString('utf8'),
    `["nodevms-call/1","${LOG}","m",[[1,[2,[3,[]]]],{},[],[null,null,{}],true,false],5]`)
})

test('the host and verify check the bytes the client signs (one payload definition, client/wire)', () => {
  const params = [{ b: [1, 'x'], a: 'ü' }]
  const auth = signCall(ALICE, LOG, 'set', params, 42)
  assert.ok(signatureCovers(LOG, 'set', [{ a: 'ü', b: [1, 'x'] }], auth), 'the same call, keys in another order')
  assert.not.ok(signatureCovers(LOG, 'set', [{ a: 'ü', b: [1, 'y'] }], auth), 'other params')
  assert.not.ok(signatureCovers(LOG, 'set', params, { ...auth, counter: 43 }), 'another counter')
})

// ---- signatures from a fixed key ----

test('a fixed seed gives a fixed key and a fixed, plain ed25519 signature', () => {
  assert.is(ALICE.publicKey.toString('hex'), ALICE_HEX)
  const auth = signCall(ALICE, LOG, 'increment', [], COUNTER)
  assert.equal(Object.keys(auth), ['pubkey', 'counter', 'signature'], 'exactly the three wire members')
  assert.is(auth.pubkey, ALICE_HEX)
  assert.is(auth.counter, COUNTER)
  assert.match(auth.signature, /^[0-9a-f]{128}$/)
  assert.equal(signCall(ALICE, LOG, 'increment', [], COUNTER), auth, 'deterministic')
  // Node's own ed25519 agrees: any language's ed25519 can make these signatures.
  const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), SEED])
  const key = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' })
  assert.is(nodeSign(null, signedPayload(LOG, 'increment', [], COUNTER), key).toString('hex'), auth.signature)
})

test('logKeyFromUrl reads the handshake callLogUrl', () => {
  assert.is(logKeyFromUrl(`dat://${LOG}`), LOG)
  assert.is(logKeyFromUrl(LOG.toUpperCase()), LOG)
  assert.is(logKeyFromUrl('dat://abc'), null)
  assert.is(logKeyFromUrl(undefined), null)
})

// ---- the "auth" member, strictly ----

const good = (): SignedAuth => signCall(ALICE, LOG, 'increment', [], COUNTER)

test('parseAuth accepts exactly {pubkey, counter, signature}', () => {
  assert.equal(parseAuth(good()), good())
})

test('parseAuth: a truncated signature, a wrong-length key, a non-hex key are -32001 naming the problem', () => {
  const bad = (patch: Record<string, unknown>) => ({ ...good(), ...patch })
  refused(() => parseAuth(bad({ signature: good().signature.slice(0, 100) })), -32001, /"signature" must be 128 hex characters \(64 bytes\), got 100/)
  refused(() => parseAuth(bad({ pubkey: ALICE_HEX.slice(0, 62) })), -32001, /"pubkey" must be 64 hex characters \(32 bytes\), got 62/)
  refused(() => parseAuth(bad({ pubkey: 'z'.repeat(64) })), -32001, /"pubkey" must be lowercase hex/)
  refused(() => parseAuth(bad({ pubkey: ALICE_HEX.toUpperCase() })), -32001, /"pubkey" must be lowercase hex/)
  refused(() => parseAuth(bad({ signature: 'g'.repeat(128) })), -32001, /"signature" must be lowercase hex/)
  refused(() => parseAuth(bad({ pubkey: 12 })), -32001, /"pubkey" must be a string/)
  refused(() => parseAuth(bad({ counter: -1 })), -32001, /"counter" must be a non-negative safe integer, got -1/)
  refused(() => parseAuth(bad({ counter: 1.5 })), -32001, /"counter" must be/)
  refused(() => parseAuth(bad({ counter: '5' })), -32001, /"counter" must be/)
  refused(() => parseAuth(bad({ counter: 2 ** 53 })), -32001, /"counter" must be/)
  refused(() => parseAuth(bad({ extra: 1 })), -32001, /unknown member\(s\) "extra"/)
  refused(() => parseAuth(null), -32001, /"auth" must be an object/)
  refused(() => parseAuth('sig'), -32001, /"auth" must be an object/)
  refused(() => parseAuth([]), -32001, /not an array/)
})

// ---- the host's gate ----

test('verify returns the signer; other args, another log or another signer are -32001', () => {
  const gate = new CallAuthenticator(LOG)
  assert.is(gate.verify('increment', [], good()), ALICE_HEX)
  refused(() => gate.verify('increment', [1], good()), -32001, /does not cover increment\(\) with these arguments/)
  refused(() => gate.verify('reset', [], good()), -32001, /does not cover reset\(\)/)
  refused(() => new CallAuthenticator(OTHER_LOG).verify('increment', [], good()), -32001, new RegExp(`on call log ${OTHER_LOG}`))
  const forged = { ...signCall(MALLORY, LOG, 'increment', [], COUNTER), pubkey: ALICE_HEX } // Mallory claims Alice's key
  refused(() => gate.verify('increment', [], forged), -32001, new RegExp(`signature of ${ALICE_HEX} does not cover`))
  refused(() => gate.verify('increment', [], { ...good(), counter: COUNTER + 1 }), -32001, /counter 1700000000000001/)
  assert.is(gate.lastCounter(ALICE_HEX), undefined, 'verify alone accepts nothing')
})

test('admit takes the counter: the same signed call twice is -32002 with data.last, a greater counter passes', () => {
  const gate = new CallAuthenticator(LOG)
  const first = gate.admit('increment', [], { caller: null, auth: good() })
  assert.equal(first, { caller: ALICE_HEX, auth: good() }, 'the entry records pubkey, counter and signature')
  const err = refused(() => gate.admit('increment', [], { caller: null, auth: good() }), -32002, /not above 1700000000000000/)
  assert.equal(err.data, { last: COUNTER })
  const older = signCall(ALICE, LOG, 'increment', [], COUNTER - 5)
  assert.equal(refused(() => gate.admit('increment', [], { caller: null, auth: older }), -32002, /counter 1699999999999995/).data, { last: COUNTER })
  const later = signCall(ALICE, LOG, 'increment', [], COUNTER + 1000) // gaps are fine
  assert.is(gate.admit('increment', [], { caller: null, auth: later }).caller, ALICE_HEX)
  assert.is(gate.lastCounter(ALICE_HEX), COUNTER + 1000)
  assert.is(gate.admit('increment', [], { caller: null, auth: signCall(MALLORY, LOG, 'increment', [], 0) }).caller,
    MALLORY.publicKey.toString('hex'), 'counters are per key')
})

test('a bad signature never moves the counter', () => {
  const gate = new CallAuthenticator(LOG)
  refused(() => gate.admit('increment', [2], { caller: null, auth: good() }), -32001, /does not cover/)
  assert.is(gate.lastCounter(ALICE_HEX), undefined)
  assert.is(gate.admit('increment', [], { caller: null, auth: good() }).caller, ALICE_HEX, 'the real call still passes')
})

test('admit: anonymous, a debug name (logged as unauthenticated), and a signature winning over a debug name', () => {
  const gate = new CallAuthenticator(LOG)
  assert.equal(gate.admit('increment', [], { caller: null }), { caller: null })
  assert.equal(gate.admit('increment', [], { caller: 'bob' }), { caller: 'bob', auth: { debug: true } })
  assert.equal(gate.admit('increment', [], { caller: 'bob', auth: good() }), { caller: ALICE_HEX, auth: good() })
})

test('without allowAnonymous, an unsigned call is -32003 and a signed one passes', () => {
  const gate = new CallAuthenticator(LOG, { allowAnonymous: false })
  refused(() => gate.admit('increment', [], { caller: null }), -32003, /--no-anonymous/)
  refused(() => gate.admit('increment', [], { caller: 'bob' }), -32003, /only signed calls/)
  assert.is(gate.admit('increment', [], { caller: null, auth: good() }).caller, ALICE_HEX)
  assert.equal(AUTH_RPC_CODES, { BAD_SIGNATURE: -32001, STALE_COUNTER: -32002, ANONYMOUS_REFUSED: -32003 })
})

// ---- counters from a real log, and verify's view of crafted entries ----

const COUNTER_JS = 'var i = 0\nexports.increment = function (n) { i += n || 1; return i }\n'

async function withHost<T> (fn: (host: Host, dir: string) => Promise<T>, dir?: string): Promise<T> {
  const root = dir ?? await mkdtemp(join(tmpdir(), 'nodevms-signed-call-'))
  const host = new Host({ source: COUNTER_JS, filename: 'counter.js', dir: join(root, 'host'), warn: () => {} })
  try {
    await host.ready()
    return await fn(host, root)
  } finally {
    await host.close()
    if (dir === undefined) await rm(root, { recursive: true, force: true })
  }
}

/** Runs one signed call through the gate and the host, as the RPC service does. */
async function signedCall (host: Host, gate: CallAuthenticator, keys: typeof ALICE, counter: number, args: unknown[] = []): Promise<CallEntry> {
  return await host.call('increment', args, gate.admit('increment', args, { caller: null, auth: signCall(keys, host.callLogKey, 'increment', args, counter) }))
}

test('fromLog rebuilds the last counter of every key, so a replay after a restart is still refused', async () => {
  const root = await mkdtemp(join(tmpdir(), 'nodevms-signed-call-'))
  try {
    let logKey = ''
    await withHost(async (host) => {
      logKey = host.callLogKey
      const gate = await CallAuthenticator.fromLog(host.log)
      const entry = await signedCall(host, gate, ALICE, 10)
      assert.is(entry.caller, ALICE_HEX, 'System.caller.id is the public key')
      assert.equal(entry.auth, { pubkey: ALICE_HEX, counter: 10, signature: signCall(ALICE, logKey, 'increment', [], 10).signature })
      await signedCall(host, gate, ALICE, 20)
      await signedCall(host, gate, MALLORY, 7)
      await host.call('increment', [], gate.admit('increment', [], { caller: 'bob' }))
    }, root)
    await withHost(async (host) => {
      assert.is(host.callLogKey, logKey)
      const gate = await CallAuthenticator.fromLog(host.log)
      assert.is(gate.lastCounter(ALICE_HEX), 20)
      assert.is(gate.lastCounter(MALLORY.publicKey.toString('hex')), 7)
      const before = host.log.length
      const err = refused(() => gate.admit('increment', [], { caller: null, auth: signCall(ALICE, logKey, 'increment', [], 20) }), -32002, /not above 20/)
      assert.equal(err.data, { last: 20 })
      assert.is(host.log.length, before, 'nothing logged')
      assert.is((await signedCall(host, gate, ALICE, 21)).caller, ALICE_HEX)
    }, root)
  } finally {
    await rm(root, { recursive: true, force: true })
  }
})

test('verify (AuthChecker) passes an honest log and names a forged caller and a duplicated signed call', async () => {
  await withHost(async (host) => {
    const gate = await CallAuthenticator.fromLog(host.log)
    const honest = [await signedCall(host, gate, ALICE, 1, [5]), await signedCall(host, gate, MALLORY, 1), await signedCall(host, gate, ALICE, 2)]
    const debug = await host.call('increment', [], gate.admit('increment', [], { caller: 'bob' }))
    const checker = new AuthChecker(host.callLogKey)
    for (const entry of [...honest, debug]) assert.is(checker.check(entry), null, 'an honest entry passes')
    assert.equal([...honest, debug].map(unsignedCaller), [null, null, null, 'bob'], 'only the debug name is the host\'s word')

    // A malicious host invents a call "from" Alice, signed with its own key.
    const hostKeys = crypto.keyPair()
    const invented: CallEntry = { ...honest[0], auth: { ...signCall(hostKeys, host.callLogKey, 'increment', [5], 3), pubkey: ALICE_HEX } }
    const forged = new AuthChecker(host.callLogKey).check(invented)
    assert.ok(forged !== null, 'a forged signature fails verify')
    assert.match(forged!.message, new RegExp(`signature of ${ALICE_HEX}`), 'and names the identity')
    // Or alters Alice's args and keeps her signature.
    assert.ok(new AuthChecker(host.callLogKey).check({ ...honest[0], args: [6] }) !== null, 'altered args fail verify')
    // Or claims a caller other than the signer.
    assert.ok(new AuthChecker(host.callLogKey).check({ ...honest[0], caller: 'bob' }) !== null, 'a caller that did not sign fails verify')

    // A malicious host runs Alice's signed call twice.
    const replay = new AuthChecker(host.callLogKey)
    assert.is(replay.check(honest[0]), null)
    const dup = replay.check(honest[0])
    assert.ok(dup !== null, 'a duplicated signed call fails verify')
    assert.match(dup!.message, new RegExp(`counter of ${ALICE_HEX} did not increase`))
  })
})

test.run()
