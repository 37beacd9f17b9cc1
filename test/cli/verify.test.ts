import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRequire } from 'node:module'
import type { CallEntry } from '../../host/call-log.js'
import { Host } from '../../host/host.js'
import { hostService, RpcServer } from '../../host/rpc/index.js'
import { runVerify, type VerifyCliOptions } from '../../cli/verify.js'
import { PERSISTENT_COUNTER as PERSISTENT } from '../helpers.js'

const require = createRequire(import.meta.url)
const idEncoding = require('hypercore-id-encoding') as { encode (key: Buffer): string }

const ROLL = 'exports.roll = async () => await System.oracle(() => Math.random())\n'

interface Ctx { tmp: string[], host: Host | null, server: RpcServer | null }
const test = suite<Ctx>('nodevms verify', { tmp: [], host: null, server: null })

test.before.each((ctx) => { ctx.tmp = []; ctx.host = null; ctx.server = null })
test.after.each(async (ctx) => {
  await stop(ctx)
  for (const dir of ctx.tmp) await rm(dir, { recursive: true, force: true })
})

async function tempDir (ctx: Ctx): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'nodevms-cli-verify-'))
  ctx.tmp.push(dir)
  return dir
}

/** A real host on dir, served on a free port. */
async function start (ctx: Ctx, dir: string, source = PERSISTENT): Promise<string> {
  ctx.host = new Host({ source, filename: 'script.js', dir, warn: () => {}, log: () => {} })
  await ctx.host.ready()
  ctx.server = new RpcServer({ service: hostService(ctx.host), port: 0 })
  await ctx.server.open()
  return `localhost:${ctx.server.port}`
}

async function stop (ctx: Ctx): Promise<void> {
  await ctx.server?.close()
  await ctx.host?.close()
  ctx.server = null
  ctx.host = null
}

/** runVerify with stdout and stderr captured. */
async function verify (target: string | undefined, opts: VerifyCliOptions): Promise<{ code: number, out: string, err: string }> {
  let out = ''
  let err = ''
  const writeOut = process.stdout.write.bind(process.stdout)
  const writeErr = process.stderr.write.bind(process.stderr)
  process.stdout.write = ((chunk: string) => { out += chunk; return true }) as typeof process.stdout.write
  process.stderr.write = ((chunk: string) => { err += chunk; return true }) as typeof process.stderr.write
  try {
    const code = await runVerify(target, opts)
    return { code, out, err }
  } finally {
    process.stdout.write = writeOut
    process.stderr.write = writeErr
  }
}

test('an honest host verifies from its URL: exit 0, and --json prints one object', async (ctx) => {
  const url = await start(ctx, await tempDir(ctx))
  for (let n = 0; n < 3; n++) await ctx.host!.call('increment')
  const human = await verify(url, {})
  assert.is(human.code, 0, human.out + human.err)
  assert.match(human.out, /^Verified 4 entries: 3 calls/)
  assert.match(human.out, `Call log:   dat://${ctx.host!.callLogKey}`)
  const { code, out } = await verify(url, { json: true })
  assert.is(code, 0)
  const report = JSON.parse(out)
  assert.is(report.ok, true)
  assert.is(report.entries, 4)
  assert.is(report.calls, 3)
  assert.is(out.trim().split('\n').length, 1, 'exactly one line of JSON')
})

test('--log and --files accept dat://, hyper:// z32 and bare hex; another key fails naming both (exit 1)', async (ctx) => {
  const url = await start(ctx, await tempDir(ctx))
  await ctx.host!.call('increment')
  const log = ctx.host!.callLogKey
  const files = ctx.host!.filesKey
  assert.is((await verify(url, { log: `dat://${log}`, files })).code, 0, 'dat:// and bare hex')
  assert.is((await verify(url, { log: `hyper://${idEncoding.encode(Buffer.from(log, 'hex'))}` })).code, 0, 'hyper:// z32')
  const other = 'ab'.repeat(32)
  const wrong = await verify(url, { log: `dat://${other}`, json: true })
  assert.is(wrong.code, 1)
  const report = JSON.parse(wrong.out)
  assert.is(report.ok, false)
  assert.is(report.divergence.field, 'log.key')
  assert.match(report.error.message, other)
  assert.match(report.error.message, log)
  const bad = await verify(url, { files: 'dat://nope' })
  assert.is(bad.code, 2, 'a malformed key is a usage error')
})

test('a host that rewrites history after a --store verifier saw it is caught on the next run', async (ctx) => {
  const dir = await tempDir(ctx)
  const store = await tempDir(ctx)
  const url = await start(ctx, dir, ROLL)
  for (let n = 0; n < 3; n++) await ctx.host!.call('roll')
  assert.is((await verify(url, { store })).code, 0, 'the first run verifies and remembers')
  assert.is((await verify(url, { store })).code, 0, 'an unchanged log verifies again from the same store')
  // The host forks its own log: drop the last two entries and log a different story in their place.
  const log = ctx.host!.log
  const third = await log.get(3) as CallEntry
  await log.core.truncate(2)
  await log.append([{ ...third, oracles: [{ value: 0.25 }], result: 0.25 }, third, third])
  const { code, out } = await verify(url, { store, json: true })
  assert.is(code, 1, out)
  const report = JSON.parse(out)
  assert.is(report.divergence.field, 'log.history')
  assert.match(report.error.message, 'rewrote the history')
})

test('verify --dir checks a stopped host offline, and refuses a directory a running host holds (exit 2)', async (ctx) => {
  const dir = await tempDir(ctx)
  await start(ctx, dir)
  await ctx.host!.call('increment')
  const busy = await verify(undefined, { dir })
  assert.is(busy.code, 2)
  assert.match(busy.err, 'running nodevms host holds')
  await stop(ctx)
  await start(ctx, dir) // a restart entry
  await ctx.host!.call('increment')
  await stop(ctx)
  const offline = await verify(undefined, { dir, json: true })
  assert.is(offline.code, 0, offline.out)
  const report = JSON.parse(offline.out)
  assert.is(report.entries, 4)
  assert.is(report.restarts, 1)
  const missing = await verify(undefined, { dir: join(dir, 'nope') })
  assert.is(missing.code, 2)
})

test('files changed by the host outside the log fail verify with the paths named (exit 1)', async (ctx) => {
  const dir = await tempDir(ctx)
  const url = await start(ctx, dir)
  await ctx.host!.call('increment')
  await ctx.host!.drive.put('/backdoor', Buffer.from('x'))
  const { code, out } = await verify(url, {})
  assert.is(code, 1)
  assert.match(out, 'MISMATCH')
  assert.match(out, '/backdoor')
  assert.match(out, 'not in the log')
})

test('an unreachable host and a server that is no nodevms host exit 2', async (ctx) => {
  const down = await verify('localhost:1', { json: true })
  assert.is(down.code, 2)
  assert.is(JSON.parse(down.out).error.code, 'CONNECTION_FAILED')
  ctx.server = new RpcServer({ service: { methods: [], handshakeInfo: () => ({ methods: [] }), call: async () => ({ result: null }) }, port: 0 })
  await ctx.server.open()
  const foreign = await verify(`localhost:${ctx.server.port}`, {})
  assert.is(foreign.code, 2)
  assert.match(foreign.err, 'not a nodevms host')
  assert.is((await verify(undefined, {})).code, 2, 'no target is a usage error')
})

test.run()
