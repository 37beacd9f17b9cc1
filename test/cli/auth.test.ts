// Signed calls end to end (CONTRACT §5) against real `nodevms exec` children: secure-counter.js with two
// identities, every bad input of issue 6 refused before it is queued (never run, never logged), --no-anonymous,
// and `nodevms id`. Until the CLI wiring is in (exec --no-anonymous, the id command), the hosts run in
// process behind the same RpcServer and CallAuthenticator, and the CLI-only tests are skipped.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { chmod, readFile, stat, writeFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import Corestore from 'corestore'
import { WebSocket } from 'ws'
import { connect, createIdentity, identityId, loadIdentity, RpcError, signCall, type Client, type Identity } from '../../client/node.js'
import { CallLog, type CallEntry, type LogEntry } from '../../host/call-log.js'
import { Host, LOG_CORE_NAME } from '../../host/host.js'
import { CallAuthenticator, hostService, RpcServer, type Service } from '../../host/rpc/index.js'
import { AuthChecker } from '../../host/verify/auth.js'
import { CLI_PATH, FIXTURES, runCli, runNode, spawnCli, stopAll, tempDir } from './helpers.js'

interface Backend { port: number, dir: string, logKey: string, stop (): Promise<void> }

/** `nodevms exec <script> --port 0 ...flags`, resolved once it has printed its four lines. */
async function spawnExec (script: string, dir: string, flags: string[]): Promise<Backend> {
  const host = await spawnCli(['exec', join(FIXTURES, script), '--port', '0', '--dir', dir, ...flags])
  return { port: host.port, dir, logKey: host.logKey, stop: async () => { await host.stop() } }
}

/** The same host in this process, admitting calls as the wired Host.asService does. */
async function inProcess (script: string, dir: string, flags: string[]): Promise<Backend> {
  const host = new Host({ source: await readFile(join(FIXTURES, script), 'utf8'), filename: script, dir, warn: () => {} })
  await host.ready()
  const gate = await CallAuthenticator.fromLog(host.log, { allowAnonymous: !flags.includes('--no-anonymous') })
  const base = hostService(host)
  const service: Service = {
    ...base,
    call: async (method, params, ctx) => {
      const entry = await host.call(method, params, gate.admit(method, params, ctx))
      return entry.error !== undefined ? { error: entry.error } : { result: entry.result ?? null }
    }
  }
  const server = new RpcServer({ service, port: 0, debug: flags.includes('--debug') })
  await server.open()
  return { port: server.port, dir, logKey: host.callLogKey, stop: async () => { await server.close(); await host.close() } }
}

let tmp = ''
let wired = false
let secure: Backend      // secure-counter.js
let debugHost: Backend   // counter.js --debug
let strict: Backend      // counter.js --no-anonymous
let owner: Identity
let other: Identity
const url = (b: Backend) => `127.0.0.1:${b.port}`
const clients: Client[] = []

async function client (b: Backend, opts: { identity?: Identity, user?: string } = {}): Promise<Client> {
  const c = await connect(url(b), opts)
  clients.push(c)
  return c
}

/** The host's log length, from a fresh handshake. */
async function logLength (b: Backend): Promise<number> {
  const c = await connect(url(b))
  try {
    return c.info!.callLogLength as number
  } finally {
    await c.close()
  }
}

interface RawReply { id: unknown, result?: unknown, error?: { code: number, message: string, data?: unknown } }

/** Sends raw JSON-RPC requests on one fresh socket (all at once) and returns the replies by id. */
async function raw (b: Backend, ...requests: Array<Record<string, unknown>>): Promise<RawReply[]> {
  const ws = new WebSocket(`ws://127.0.0.1:${b.port}/`)
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject) })
  try {
    const replies = new Map<unknown, RawReply>()
    const done = new Promise<void>((resolve) => ws.on('message', (data) => {
      const reply = JSON.parse(String(data)) as RawReply
      replies.set(reply.id, reply)
      if (replies.size === requests.length) resolve()
    }))
    for (const r of requests) ws.send(JSON.stringify({ jsonrpc: '2.0', ...r }))
    await done
    return requests.map((r) => replies.get(r.id)!)
  } finally {
    ws.close()
  }
}

/** A signed raw request to a backend. */
function signed (b: Backend, who: Identity, id: number, method: string, params: unknown[], counter = Date.now() * 1000 + id): Record<string, unknown> {
  return { id, method, params, auth: signCall(who, b.logKey, method, params, counter) }
}

function assertRefused (reply: RawReply, code: number, message: RegExp): void {
  assert.ok(reply.error, `refused, got ${JSON.stringify(reply)}`)
  assert.is(reply.error!.code, code, `code ${code}: ${JSON.stringify(reply.error)}`)
  assert.match(reply.error!.message, message, 'the message says what is wrong')
}

async function readLog (dir: string): Promise<LogEntry[]> {
  const store = new Corestore(dir)
  try {
    const log = new CallLog(store.get({ name: LOG_CORE_NAME }))
    const entries: LogEntry[] = []
    for await (const entry of log.read()) entries.push(entry)
    return entries
  } finally {
    await store.close()
  }
}

test.before(async () => {
  tmp = await tempDir('nodevms-cli-auth-')
  const help = await runCli(['exec', '--help'])
  wired = help.stdout.includes('--no-anonymous')
  if (!wired) process.stderr.write('(exec --no-anonymous is not wired yet: hosts run in process; CLI-only tests are skipped)\n')
  const start = wired ? spawnExec : inProcess
  ;[secure, debugHost, strict] = await Promise.all([
    start('secure-counter.js', join(tmp, 'secure'), []),
    start('counter.js', join(tmp, 'debug'), ['--debug']),
    start('counter.js', join(tmp, 'strict'), ['--no-anonymous'])
  ])
  owner = await createIdentity(join(tmp, 'owner.id'))
  other = await createIdentity(join(tmp, 'other.id'))
})

test.after(async () => {
  await Promise.all(clients.map((c) => c.close()))
  await Promise.all([secure?.stop(), debugHost?.stop(), strict?.stop()])
  await stopAll()
})

test('secure-counter: only the owner (the first signed init) can increment', async () => {
  const mine = await client(secure, { identity: owner })
  const theirs = await client(secure, { identity: other })
  const anonymous = await client(secure)
  assert.is(mine.pubkey, identityId(owner))
  await mine.init()
  assert.is(await mine.increment(), 0)
  assert.is(await mine.increment(), 1)
  for (const c of [theirs, anonymous]) {
    try {
      await c.increment()
      assert.unreachable('a non-owner incremented')
    } catch (err) {
      assert.instance(err, RpcError)
      assert.is((err as RpcError).code, -32000)
      assert.is((err as RpcError).message, 'You are not my owner!')
    }
  }
  assert.is(await mine.increment(), 2, 'the others changed nothing')
})

test('a third party cannot impersonate the owner: its signature under the owner\'s key is -32001, never logged', async () => {
  const before = await logLength(secure)
  const forged = signed(secure, other, 1, 'increment', [])
  ;(forged.auth as { pubkey: string }).pubkey = identityId(owner)
  const [reply] = await raw(secure, forged)
  assertRefused(reply, -32001, new RegExp(`signature of ${identityId(owner)} does not cover`))
  assert.is(await logLength(secure), before, 'the log did not grow')
})

test('bad input is -32001 naming the problem, and is never run or logged', async () => {
  const before = await logLength(secure)
  const base = signed(secure, owner, 1, 'increment', [])
  const auth = base.auth as { pubkey: string, counter: number, signature: string }
  const replies = await raw(secure,
    { ...base, id: 1, auth: { ...auth, signature: auth.signature.slice(0, 120) } },
    { ...base, id: 2, auth: { ...auth, pubkey: auth.pubkey + 'ab' } },
    { ...base, id: 3, auth: { ...auth, pubkey: 'x'.repeat(64) } },
    { ...base, id: 4, params: [7] },                                                  // signed over different args
    { ...signed(debugHost, owner, 5, 'increment', []), method: 'increment' },        // signed for another backend's log
    { ...base, id: 6, auth: null }
  )
  assertRefused(replies[0], -32001, /"signature" must be 128 hex characters \(64 bytes\), got 120/)
  assertRefused(replies[1], -32001, /"pubkey" must be 64 hex characters \(32 bytes\), got 66/)
  assertRefused(replies[2], -32001, /"pubkey" must be lowercase hex/)
  assertRefused(replies[3], -32001, /does not cover increment\(\) with these arguments/)
  assertRefused(replies[4], -32001, new RegExp(`on call log ${secure.logKey}`))
  assertRefused(replies[5], -32001, /"auth" must be an object/)
  assert.is(await logLength(secure), before, 'nothing was logged')
  const mine = await client(secure, { identity: owner })
  assert.is(await mine.increment(), 3, 'nothing ran: the counter moved by the owner\'s calls only')
})

test('the same signed message sent twice is -32002 with data.last; it runs once', async () => {
  const before = await logLength(secure)
  const message = signed(secure, owner, 1, 'increment', [])
  const counter = (message.auth as { counter: number }).counter
  const [first] = await raw(secure, message)
  assert.is(first.result, 4)
  const [second] = await raw(secure, message)
  assertRefused(second, -32002, /not above/)
  assert.equal(second.error!.data, { last: counter })
  assert.is(await logLength(secure), before + 1, 'logged once')
})

test('two sockets racing the same signed message: exactly one runs', async () => {
  const before = await logLength(secure)
  const message = signed(secure, owner, 9, 'increment', [])
  const replies = (await Promise.all([raw(secure, message), raw(secure, message), raw(secure, message)])).flat()
  assert.is(replies.filter((r) => r.result !== undefined).length, 1, JSON.stringify(replies))
  for (const r of replies.filter((r) => r.error)) assert.is(r.error!.code, -32002)
  assert.is(await logLength(secure), before + 1)
})

test('the client re-signs a call refused for a stale counter (its clock went back), and it runs once', async () => {
  const future = signed(secure, owner, 1, 'increment', [], Date.now() * 1000 + 60_000_000) // a minute ahead
  const [ran] = await raw(secure, future)
  assert.is(ran.result, 6)
  const mine = await client(secure, { identity: owner })
  assert.is(await mine.increment(), 7, 'refused once with data.last, then signed above it')
})

test('debug mode: a name is logged as unauthenticated; a signature on a debug connection wins', async () => {
  const bob = await client(debugHost, { user: 'bob' })
  const signedBob = await client(debugHost, { user: 'bob', identity: other })
  assert.is(await bob.increment(), 1)
  assert.is(await signedBob.increment(), 2)
})

test('--no-anonymous refuses unsigned calls with -32003 but allows handshake and signed calls', async () => {
  const before = await logLength(strict)
  const [hello, unsigned] = await raw(strict, { id: 1, method: 'handshake', params: [] }, { id: 2, method: 'increment', params: [] })
  assert.ok(Array.isArray((hello.result as { methods: string[] }).methods), 'handshake needs no signature')
  assertRefused(unsigned, -32003, /--no-anonymous/)
  assert.is(await logLength(strict), before, 'nothing logged')
  const anonymous = await client(strict)
  try {
    await anonymous.increment()
    assert.unreachable('an unsigned call ran')
  } catch (err) {
    assert.is((err as RpcError).code, -32003)
  }
  const mine = await client(strict, { identity: owner })
  assert.is(await mine.increment(), 1)
  assert.is(await logLength(strict), before + 1)
})

test('nodevms call --identity signs; the default ~/.nodevms/identity is used when it exists', async () => {
  if (!wired) return
  const home = join(tmp, 'home')
  const env = { HOME: home, USERPROFILE: home }
  const id = await runCli(['id'], { env })
  assert.is(id.code, 0, id.stderr)
  const fromFile = await runCli(['call', url(strict), 'increment', '--identity', join(tmp, 'owner.id')], { env })
  assert.is(fromFile.code, 0, fromFile.stderr)
  assert.is(fromFile.stdout, '2\n')
  const byDefault = await runCli(['call', url(strict), 'increment'], { env })
  assert.is(byDefault.code, 0, byDefault.stderr)
  assert.is(byDefault.stdout, '3\n')
  const replied = await runCli(['repl', url(strict), '--exec', 'client.increment()'], { env })
  assert.is(replied.code, 0, replied.stderr)
  assert.is(replied.stdout, '4\n')
  const noHome = await runCli(['call', url(strict), 'increment'], { env: { HOME: join(tmp, 'nobody'), USERPROFILE: join(tmp, 'nobody') } })
  assert.is(noHome.code, 1)
  assert.match(noHome.stderr, /--no-anonymous/)
})

test('nodevms id creates ~/.nodevms/identity with mode 0600 and prints the same key twice', async () => {
  const home = join(tmp, 'id-home')
  const env = { HOME: home, USERPROFILE: home }
  const idArgs = wired ? [CLI_PATH, 'id'] : ['--input-type=module', '-e',
    `const { runId } = await import(${JSON.stringify(new URL('../../cli/id.js', import.meta.url).href)}); process.exitCode = await runId({})`]
  const first = await runNode(idArgs, { env })
  assert.is(first.code, 0, first.stderr)
  assert.match(first.stdout, /^[0-9a-f]{64}\n$/, 'the public key hex on stdout')
  assert.match(first.stderr, /Created a new identity/, 'the creation notice on stderr')
  const file = join(home, '.nodevms', 'identity')
  assert.is((await stat(file)).mode & 0o777, 0o600)
  assert.is((await stat(join(home, '.nodevms'))).mode & 0o777, 0o700)
  const second = await runNode(idArgs, { env })
  assert.is(second.stdout, first.stdout, 'the same key')
  assert.is(second.stderr, '', 'no notice the second time')
  assert.is(identityId(await loadIdentity(file)), first.stdout.trim())

  await chmod(file, 0o644)
  const loose = await runNode(idArgs, { env })
  assert.is(loose.code, 1)
  assert.match(loose.stderr, /readable by other users \(mode 644\)[\s\S]*chmod 600/, 'refused with how to fix it')

  if (wired) {
    const custom = join(tmp, 'custom', 'me.id')
    const made = await runCli(['id', '--identity', custom], { env })
    assert.is(made.code, 0, made.stderr)
    assert.is((await stat(custom)).mode & 0o777, 0o600)
    await writeFile(join(tmp, 'broken.id'), '{"publicKey":"00"}', { mode: 0o600 })
    const broken = await runCli(['id', '--identity', join(tmp, 'broken.id')], { env })
    assert.is(broken.code, 1)
    assert.match(broken.stderr, /not a nodevms identity/)
  }
})

test('the log records pubkey, counter and signature for signed calls, { debug: true } for names, and verify accepts it', async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()))
  await Promise.all([secure.stop(), debugHost.stop(), strict.stop()])
  for (const b of [secure, debugHost, strict]) {
    const entries = await readLog(b.dir)
    const checker = new AuthChecker(b.logKey)
    for (const [i, e] of entries.entries()) {
      if (e.type === 'call') assert.is(checker.check(e), null, `${basename(b.dir)} entry ${i} passes verify's signature check`)
    }
    const calls = entries.filter((e): e is CallEntry => e.type === 'call')
    for (const e of calls) {
      if (e.auth !== undefined && 'pubkey' in e.auth) {
        assert.is(e.caller, e.auth.pubkey, 'System.caller.id is the signer')
        assert.equal(Object.keys(e.auth).sort(), ['counter', 'pubkey', 'signature'])
      } else if (e.caller !== null) {
        assert.equal(e.auth, { debug: true }, 'a debug name is marked unauthenticated')
      } else {
        assert.is(e.auth, undefined)
      }
    }
    if (b === debugHost) {
      assert.equal(calls.map((e) => e.caller), ['bob', identityId(other)], 'the signature won over ?user=bob')
    }
    if (b === secure) {
      const owners = calls.filter((e) => e.caller === identityId(owner))
      assert.ok(owners.length >= 8, 'the owner\'s signed calls are logged')
      const counters = owners.map((e) => (e.auth as { counter: number }).counter)
      assert.equal(counters, [...counters].sort((a, b) => a - b), 'counters strictly increase')
      assert.is(new Set(counters).size, counters.length)
    }
  }
  // The raw keys do not leak into the log.
  const text = JSON.stringify(await readLog(secure.dir))
  assert.not.ok(text.includes(Buffer.from(owner.secretKey).toString('hex')), 'no secret key in the log')
})

test.run()
