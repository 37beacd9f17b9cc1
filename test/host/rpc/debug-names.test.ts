// A debug name is the host's word; a signed caller is a public key. The two must never be confused:
// a debug name shaped like a public key is refused at the upgrade (400), and verify names every call whose
// caller is the host's word, per name with its first entry indexes, in a bounded report.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ClientError, connect, generateIdentity, identityId } from '../../../client/node.js'
import { Host } from '../../../host/index.js'
import { RpcServer, type Service } from '../../../host/rpc/index.js'
import { verifyLog } from '../../../host/verify/index.js'
import { UnsignedCallers } from '../../../host/verify/unsigned-callers.js'
import { runCli, spawnCli, stopAll, tempDir } from '../../cli/helpers.js'

const ALICE = identityId(generateIdentity(new Uint8Array(32).fill(7)))
const WHOAMI = 'exports.whoami = function () { return System.caller.id }\n'

const service: Service = {
  methods: ['whoami'],
  handshakeInfo: () => ({ methods: ['whoami'], callLogUrl: 'dat://' + 'c'.repeat(64) }),
  call: async (_method, _params, ctx) => ({ result: ctx.caller })
}

test.after(stopAll)

test('--debug: a name with 64 hex digits in a row (any case, by ?user= or Basic) is refused with 400; others work', async () => {
  const server = new RpcServer({ service, host: '127.0.0.1', port: 0, debug: true })
  await server.open()
  try {
    const shaped = [ALICE, ALICE.toUpperCase(), ALICE.slice(0, 32) + ALICE.slice(32).toUpperCase(), `0x${ALICE}`, ` ${ALICE}`, `alice-${ALICE}`, ALICE + ALICE]
    for (const name of shaped) {
      for (const how of ['query', 'basic'] as const) {
        const opts = how === 'query' ? { user: name } : { headers: { Authorization: 'Basic ' + Buffer.from(`${name}:x`).toString('base64') } }
        try {
          await connect(`127.0.0.1:${server.port}`, opts)
          assert.unreachable(`${JSON.stringify(name)} by ${how} should be refused`)
        } catch (err) {
          assert.instance(err, ClientError, String(err))
          assert.match((err as Error).message, 'HTTP 400', `${JSON.stringify(name)} by ${how}: 400`)
          assert.match((err as Error).message, 'the shape of a public key', 'says why')
          assert.match((err as Error).message, 'sign the calls with that identity', 'and what to do')
        }
      }
    }
    for (const name of ['alice', ALICE.slice(0, 63), 'ab'.repeat(31) + '-' + 'cd'.repeat(10)]) {
      const client = await connect(`127.0.0.1:${server.port}`, { user: name })
      assert.is(await client.whoami(), name, `${name} is a debug name`)
      await client.close()
    }
  } finally {
    await server.close()
  }
})

test('verify names each call whose caller is the host\'s word, with counts and first indexes, in --json and the warning', async () => {
  const dir = await tempDir('nodevms-debug-names-')
  await writeFile(join(dir, 'whoami.js'), WHOAMI)
  const host = await spawnCli(['exec', join(dir, 'whoami.js'), '--port', '0', '--dir', join(dir, 'host'), '--debug'])
  const url = `127.0.0.1:${host.port}`
  const as = async (opts: Parameters<typeof connect>[1], times = 1) => {
    const client = await connect(url, opts)
    for (let i = 0; i < times; i++) await client.whoami()
    await client.close()
  }
  await as({ user: 'bob' }, 3)                                // entries 1, 2, 3
  await as({ identity: generateIdentity() })                  // 4: signed, proven
  await as({ user: 'carol' })                                 // 5
  await as({})                                                // 6: anonymous
  await as({ user: 'bob' })                                   // 7
  const json = await runCli(['verify', url, '--json'], { timeoutMs: 60_000 })
  assert.is(json.code, 0, `verify passes: ${json.stdout} ${json.stderr}`)
  const report = JSON.parse(json.stdout) as { unsignedCallers: unknown, warnings: string[] }
  assert.equal(report.unsignedCallers, {
    calls: 5,
    callers: [
      { caller: 'bob', calls: 4, first: [1, 2, 3, 7], looksLikeKey: false },
      { caller: 'carol', calls: 1, first: [5], looksLikeKey: false }
    ],
    otherCalls: 0
  })
  const human = await runCli(['verify', url], { timeoutMs: 60_000 })
  assert.is(human.code, 0)
  assert.match(human.stderr, '5 call(s) name a caller without a signature')
  assert.match(human.stderr, '"bob" 4× (entries 1, 2, 3, 7)')
  assert.match(human.stderr, '"carol" 1× (entry 5)')
  await host.stop()
})

test('a host that logs a debug call "from" a public key: verify passes the replay but flags that caller', async () => {
  const dir = await tempDir('nodevms-debug-names-')
  const host = new Host({ source: WHOAMI, filename: 'whoami.js', dir })
  await host.ready()
  try {
    // The RPC server refuses such a name; a lying (or older) host writes it into its log anyway.
    await host.call('whoami', [], { caller: ALICE, auth: { debug: true } })
    await host.call('whoami', [], { caller: 'bob', auth: { debug: true } })
    const report = await verifyLog(host.log, host.drive)
    assert.ok(report.ok, 'the replay matches: the host\'s word is not a mismatch')
    assert.equal(report.unsignedCallers.callers.map((c) => [c.caller, c.looksLikeKey, c.first]), [[ALICE, true, [1]], ['bob', false, [2]]])
    const warning = report.warnings.find((w) => w.includes('without a signature')) ?? ''
    assert.match(warning, `"${ALICE}" 1× (entry 1) — looks like a public key, but no signature proves it`)
  } finally {
    await host.close()
  }
})

test('the report stays bounded: 20 names of each kind, 5 indexes each, the rest counted', () => {
  const callers = new UnsignedCallers()
  let index = 0
  for (let round = 0; round < 10; round++) {
    for (let n = 0; n < 100; n++) callers.record(`user${n}`, ++index)
    for (let n = 0; n < 30; n++) callers.record(n.toString(16).padStart(64, 'f'), ++index)
  }
  const report = callers.report()
  assert.is(report.calls, 1300)
  assert.is(report.callers.length, 40, 'at most 20 plain names and 20 key-shaped ones')
  assert.is(report.callers.filter((c) => c.looksLikeKey).length, 20, 'key-shaped names are listed even after many plain ones')
  assert.ok(report.callers.every((c) => c.first.length === 5 && c.calls === 10), 'each listed name: its count and first 5 indexes')
  assert.is(report.otherCalls, 1300 - 40 * 10, 'calls by unlisted names are counted')
  assert.equal(report.callers[0].first, [1, 131, 261, 391, 521])
  const warning = callers.warning()!
  assert.ok(warning.length < 10_000, `the warning is bounded (${warning.length} chars)`)
  assert.match(warning, 'and 900 call(s) by other names')
  assert.match(warning, '"user0" 10× (entries 1, 131, 261, 391, 521, …)')
  assert.is(new UnsignedCallers().warning(), null, 'no warning when every caller is proven')
})

test.run()
