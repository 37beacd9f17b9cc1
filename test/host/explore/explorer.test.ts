// The Explorer and its JSON API, in process, over a real host (a corestore on disk, served on loopback):
// the verdict as the log grows, rows in bounded pages, an entry with its changes before and after, the
// archive at any version, the chart with restarts and upgrades, and a forged entry found and named.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Explorer } from '../../../host/explore/index.js'
import { openHostDir, openRemote } from '../../../host/verify/index.js'
import type { CallEntry } from '../../../host/index.js'
import { ServedHost } from '../../browser/explore-fixture.js'

const SCRIPT = `const fs = System.files
exports.write = async (path, text) => { await fs.writeFile(path, text); return text.length }
exports.bytes = async (path, b64) => { await fs.writeFile(path, b64, 'base64') }
exports.remove = async (path) => { await fs.unlink(path) }
exports.echo = (value) => value
exports['${'m'.repeat(5000)}'] = () => 'a long name'
`
const UPGRADED = SCRIPT + 'exports.version = () => 2\n'

interface Ctx { dir: string, served: ServedHost | null, explorer: Explorer | null }
const test = suite<Ctx>('the explorer and its API', { dir: '', served: null, explorer: null })

test.before.each(async (ctx) => { ctx.dir = await mkdtemp(join(tmpdir(), 'nodevms-explorer-')) })
test.after.each(async (ctx) => {
  await ctx.explorer?.close()
  await ctx.served?.close()
  ctx.explorer = null
  ctx.served = null
  await rm(ctx.dir, { recursive: true, force: true })
})

async function api<T = any> (explorer: Explorer, path: string): Promise<{ status: number, body: T }> {
  const res = await fetch(new URL(path, explorer.url))
  return { status: res.status, body: await res.json() as T }
}

async function until (explorer: Explorer, ok: (s: any) => boolean, what: string): Promise<any> {
  const deadline = Date.now() + 20_000
  for (;;) {
    const { body } = await api(explorer, '/api/status')
    if (ok(body)) return body
    if (Date.now() > deadline) throw new Error(`${what}: ${JSON.stringify(body).slice(0, 600)}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** An explorer following the served host over its port. */
async function explore (ctx: Ctx): Promise<Explorer> {
  ctx.explorer = new Explorer({ target: ctx.served!.address, verify: { confirmMs: 300, pollMs: 200 } })
  await ctx.explorer.listen()
  ctx.explorer.follow(await openRemote(ctx.served!.address, { fetch: 'replicate' })) // the explorer follows by replication, as explore does
  return ctx.explorer
}

test('the verdict is ok once every entry and the archive are checked, and follows the log as it grows', async (ctx) => {
  ctx.served = await ServedHost.start(join(ctx.dir, 'host'), SCRIPT)
  await ctx.served.host.call('write', ['/a.txt', 'one\ntwo\n'])
  const explorer = await explore(ctx)
  const first = await until(explorer, (s) => s.verdict === 'ok', 'verified')
  assert.is(first.length, 2)
  assert.is(first.verified, 2)
  assert.is(first.script.filename, 'script.js')
  assert.is(first.logKey, ctx.served.host.callLogKey)
  assert.is(first.filesKey, ctx.served.host.filesKey)
  await ctx.served.host.call('write', ['/a.txt', 'one\n2\nthree\n'])
  const next = await until(explorer, (s) => s.verified === 3 && s.verdict === 'ok', 'the new entry verified')
  assert.is(next.counts.calls, 2)
  assert.is(next.filesVersion, 3)
})

test('rows come in bounded pages with their status; bad paging is refused with a reason', async (ctx) => {
  ctx.served = await ServedHost.start(join(ctx.dir, 'host'), SCRIPT)
  for (let i = 0; i < 20; i++) await ctx.served.host.call('echo', [{ i, text: 'x'.repeat(500) }])
  await ctx.served.host.call('remove', ['/missing']).catch(() => {})
  await ctx.served.host.call('m'.repeat(5000))
  const explorer = await explore(ctx)
  await until(explorer, (s) => s.verdict === 'ok', 'verified')
  const page = await api(explorer, '/api/entries?from=5&count=10')
  assert.is(page.body.rows.length, 10)
  assert.equal(page.body.rows.map((r: { index: number }) => r.index), [5, 6, 7, 8, 9, 10, 11, 12, 13, 14])
  const row = page.body.rows[0]
  assert.equal([row.kind, row.method, row.status, row.caller], ['call', 'echo', 'ok', { kind: 'anonymous', id: null }])
  assert.ok(row.outcome.text.length <= 120, 'a long result is cut to one line')
  const last = (await api(explorer, '/api/entries?from=21&count=500')).body.rows[0]
  assert.is(last.outcome.ok, false, 'a failed call')
  assert.match(last.outcome.text, /^NotFoundError: /)
  const long = (await api(explorer, '/api/entries?from=22&count=1')).body.rows[0]
  assert.is(long.method.length, 200, 'a script-chosen name is cut in a row')
  assert.is((await api(explorer, '/api/entry?index=22')).body.call.method.length, 4096, 'and in a detail')
  assert.is((await api(explorer, '/api/entries?from=0&count=501')).status, 400, 'at most 500 rows')
  assert.is((await api(explorer, '/api/entries?from=24')).status, 400, 'not past the end')
  const bad = await api(explorer, '/api/entries?from=-1')
  assert.is(bad.status, 400)
  assert.match(bad.body.error, 'from must be an integer from 0 to 23')
  assert.is((await api(explorer, '/api/entry?index=23')).status, 400)
  assert.is((await api(explorer, '/api/nothing')).status, 404)
})

test('an entry shows each change against the archive before the call: a text diff, or sizes and hashes', async (ctx) => {
  ctx.served = await ServedHost.start(join(ctx.dir, 'host'), SCRIPT)
  const host = ctx.served.host
  await host.call('write', ['/notes.txt', 'a\nb\nc\n'])
  await host.call('bytes', ['/img.bin', Buffer.from([0, 1, 2, 3]).toString('base64')])
  await host.call('write', ['/notes.txt', 'a\nB\nc\nd\n'])
  await host.call('bytes', ['/img.bin', Buffer.from([9, 9]).toString('base64')])
  await host.call('remove', ['/notes.txt'])
  const explorer = await explore(ctx)
  await until(explorer, (s) => s.verdict === 'ok', 'verified')
  const text = (await api(explorer, '/api/entry?index=3')).body
  assert.is(text.call.method, 'write')
  assert.equal(JSON.parse(text.call.args.json), ['/notes.txt', 'a\nB\nc\nd\n'])
  assert.is(text.call.result.json, '8')
  assert.is(text.stateRoot, (await host.log.get(3) as CallEntry).stateRoot)
  assert.equal(text.changes.shown[0].diff, [[' ', 'a'], ['-', 'b'], ['+', 'B'], [' ', 'c'], ['+', 'd']])
  assert.is(text.changes.shown[0].before.size, 6)
  assert.is(text.changes.shown[0].after.size, 8)
  const binary = (await api(explorer, '/api/entry?index=4')).body.changes.shown[0]
  assert.is(binary.diff, null, 'binary: no diff')
  assert.equal([binary.before.size, binary.after.size], [4, 2])
  assert.match(binary.after.sha256, /^[0-9a-f]{64}$/)
  const removed = (await api(explorer, '/api/entry?index=5')).body.changes.shown[0]
  assert.is(removed.after, null)
  assert.equal(removed.diff, [['-', 'a'], ['-', 'B'], ['-', 'c'], ['-', 'd']])
  const init = (await api(explorer, '/api/entry?index=0')).body
  assert.is(init.script.filename, 'script.js')
  assert.is(JSON.parse(init.script.source.json), SCRIPT)
})

test('the archive browses at any version: folders first, a file as text or a hex head', async (ctx) => {
  ctx.served = await ServedHost.start(join(ctx.dir, 'host'), SCRIPT)
  await ctx.served.host.call('write', ['/docs/readme.md', '# v1\n'])
  await ctx.served.host.call('bytes', ['/z.bin', Buffer.from([0, 255, 1]).toString('base64')])
  await ctx.served.host.call('write', ['/docs/readme.md', '# v2\n'])
  const explorer = await explore(ctx)
  await until(explorer, (s) => s.verdict === 'ok', 'verified')
  const root = (await api(explorer, '/api/files?version=4&path=/')).body
  assert.equal(root.items.map((i: { name: string, type: string }) => [i.name, i.type]), [['docs', 'folder'], ['z.bin', 'file']])
  assert.is((await api(explorer, '/api/file?version=2&path=/docs/readme.md')).body.text, '# v1\n', 'as it was at version 2')
  assert.is((await api(explorer, '/api/file?path=/docs/readme.md')).body.text, '# v2\n', 'and now')
  const bin = (await api(explorer, '/api/file?path=/z.bin')).body
  assert.equal([bin.text, bin.hex, bin.size], [undefined, '00ff01', 3])
  assert.is((await api(explorer, '/api/file?version=2&path=/z.bin')).status, 404, 'not there yet at version 2')
  assert.is((await api(explorer, '/api/files?path=../etc')).status, 400)
  assert.is((await api(explorer, '/api/files?version=99')).status, 400)
})

test('the chart buckets calls and gas, and marks restarts and upgrades', async (ctx) => {
  const dir = join(ctx.dir, 'host')
  ctx.served = await ServedHost.start(dir, SCRIPT)
  for (let i = 0; i < 4; i++) await ctx.served.host.call('echo', [i])
  await ctx.served.close()
  ctx.served = await ServedHost.start(dir, SCRIPT) // restart: entry 5
  await ctx.served.host.call('echo', [5])
  await ctx.served.close()
  ctx.served = await ServedHost.start(dir, UPGRADED, 'script.js', { upgrade: true }) // upgrade: entry 7
  await ctx.served.host.call('version', [])
  await ctx.served.close()
  ctx.served = null
  ctx.explorer = new Explorer({ target: dir })
  await ctx.explorer.listen()
  ctx.explorer.follow(await openHostDir(dir))
  const status = await until(ctx.explorer, (s) => s.verdict === 'ok', 'verified')
  assert.equal(status.counts, { calls: 6, oracles: 0, restarts: 1, upgrades: 1 })
  assert.is(status.script.sourceHash.length, 64)
  const chart = (await api(ctx.explorer, '/api/chart?width=3')).body
  assert.is(chart.length, 9)
  assert.is(chart.bucket, 3)
  assert.equal(chart.calls, [2, 2, 2])
  assert.equal(chart.markers, [[5, 'restart'], [7, 'upgrade']])
})

test('a forged result is the mismatch: its entry, the field, expected and found; later entries stay pending', async (ctx) => {
  ctx.served = await ServedHost.start(join(ctx.dir, 'host'), SCRIPT)
  const host = ctx.served.host
  await host.call('echo', ['honest'])
  const real = await host.log.get(1) as CallEntry
  await host.log.append([{ ...real, result: 'forged' }, real])
  const explorer = await explore(ctx)
  const status = await until(explorer, (s) => s.verdict === 'mismatch', 'the mismatch')
  assert.equal([status.divergence.index, status.divergence.field, status.divergence.expected, status.divergence.actual], [2, 'result', 'honest', 'forged'])
  assert.is(status.verified, 2)
  const rows = (await api(explorer, '/api/entries?from=0&count=4')).body.rows
  assert.equal(rows.map((r: { status: string }) => r.status), ['ok', 'ok', 'mismatch', 'pending'])
  const detail = (await api(explorer, '/api/entry?index=2')).body
  assert.is(detail.status, 'mismatch')
  assert.is(detail.divergence.field, 'result')
  assert.is((await api(explorer, '/api/entry?index=3')).body.divergence, null, 'only that entry carries it')
})

test('a host that truncates the log it served is a mismatch at once (log.history)', async (ctx) => {
  ctx.served = await ServedHost.start(join(ctx.dir, 'host'), SCRIPT)
  const host = ctx.served.host
  for (let i = 0; i < 3; i++) await host.call('echo', [i])
  const explorer = await explore(ctx)
  await until(explorer, (s) => s.verdict === 'ok', 'verified')
  const third = await host.log.get(3) as CallEntry
  await host.log.core.truncate(2)
  await host.log.append([{ ...third, args: ['rewritten'], result: 'rewritten' }])
  const status = await until(explorer, (s) => s.verdict === 'mismatch', 'the rewrite found')
  assert.is(status.divergence.field, 'log.history')
  assert.match(status.divergence.message, 'truncated it to 2 entries')
  assert.ok(status.indexed <= 3, 'the entries after the truncation are forgotten')
})

test('close() ends the explorer while it replays, and the page stops answering', async (ctx) => {
  ctx.served = await ServedHost.start(join(ctx.dir, 'host'), SCRIPT)
  let made = 0
  await Promise.all(Array.from({ length: 64 }, async () => { while (made < 1500) await ctx.served!.host.call('echo', [made++]) }))
  const explorer = await explore(ctx)
  await until(explorer, (s) => s.verified > 0, 'the replay started')
  const url = explorer.url
  let timer: NodeJS.Timeout | undefined
  const closed = await Promise.race([
    explorer.close().then(() => 'closed'),
    new Promise((resolve) => { timer = setTimeout(() => resolve('still closing after 20 s'), 20_000) })
  ])
  clearTimeout(timer)
  assert.is(closed, 'closed')
  await fetch(url).then(() => assert.unreachable('the page still answers'), () => {})
})

test.run()
