// No single call can stop the host (issue 11 §3), through `nodevms exec` (a real child process): a call whose
// log entry would not fit in one Hypercore block fails alone with EntryTooLargeError and has no effect on
// the files; an oracle value past its limit is refused inside the script; a file larger than a block is
// fine, since the log names file content by hash; a reply larger than the slow-reader cap is delivered;
// and a batch whose replies would grow too large has its later calls refused before they run.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { WebSocket } from 'ws'
import { connect } from '../../client/node.js'
import { RpcError } from '../../client/errors.js'
import { runCli, spawnCli, stopAll, tempDir, type ServingCli } from './helpers.js'

// Sync methods for the big results: see the report (an async method resolving to a string of more than
// about 3.5 MiB makes QuickJS abort when its engine is disposed, a separate engine defect).
const SCRIPT = `
exports.bigResult = (mib) => 'x'.repeat(mib * 1048576)
exports.bigError = (mib) => { throw new Error('z'.repeat(mib * 1048576)) }
exports.bigOracle = async (mib) => {
  try { await System.oracle(() => 'y'.repeat(mib * 1048576)); return 'recorded' } catch (e) { return e.name + ': ' + e.message }
}
exports.writeThenBig = async (mib) => { await System.files.writeFile('/partial', 'written before the big result'); return 'x'.repeat(mib * 1048576) }
exports.grow = async (mib) => {
  let s = ''
  try { s = await System.files.readFile('/big') } catch (e) {}
  s += 'a'.repeat(mib * 1048576)
  await System.files.writeFile('/big', s)
  return s.length
}
exports.increment = async () => {
  let i = 0
  try { i = await System.files.readFile('/counter', 'json') } catch (e) {}
  await System.files.writeFile('/counter', ++i)
  return i
}
`

interface Ctx { host: ServingCli | null, dir: string, url: string, script: string, calls: number, increments: number }
const test = suite<Ctx>('oversized calls', { host: null, dir: '', url: '', script: '', calls: 0, increments: 0 })

// One host serves every story below, in order; the last ones stop it, verify its directory and restart it.
test.before(async (ctx) => {
  const root = await tempDir('nodevms-oversized-')
  ctx.script = join(root, 'big.js')
  writeFileSync(ctx.script, SCRIPT)
  ctx.dir = join(root, 'host')
  ctx.host = await spawnCli(['exec', ctx.script, '--dir', ctx.dir, '--port', '0', '--memory', '512', '--timeout', '60'], { timeoutMs: 30_000 })
  ctx.url = `localhost:${ctx.host.port}`
})
test.after(stopAll)

/** The script error a call ended with (its name is the JSON-RPC message, CONTRACT §5). */
async function scriptError (call: () => Promise<unknown>, what: string): Promise<RpcError> {
  try {
    await call()
  } catch (err) {
    assert.instance(err, RpcError, `${what}: an answer from the host, not a dropped connection: ${String(err)}`)
    return err as RpcError
  }
  assert.unreachable(`${what} did not fail`)
  throw new Error('unreachable')
}

test('a result, or an error, too large for a log entry fails that call alone, with no file changes; every socket keeps working', async (ctx) => {
  const a = await connect(ctx.url, { timeout: 60_000 })
  const b = await connect(ctx.url, { timeout: 60_000 })
  assert.is(await a.increment(), ++ctx.increments)
  for (const [method, part] of [['bigResult', 'result'], ['bigError', 'error'], ['writeThenBig', 'result']] as const) {
    const err = await scriptError(() => a[method](16), method)
    assert.is(err.code, -32000, `${method}: a script-level error of this call`)
    assert.is(err.name, 'EntryTooLargeError', `${method}: named EntryTooLargeError`)
    assert.match(err.message, new RegExp(`would take 16\\.\\d\\d MiB, more than the 15\\.00 MiB one entry may hold \\(${part} 16\\.00 MiB`), `${method}: says what was too big and the limit`)
    assert.is(await a.increment(), ++ctx.increments, `${method}: the same socket keeps working`)
  }
  assert.is(await b.increment(), ++ctx.increments, 'another socket too')
  for (const method of ['bigResult', 'bigError', 'writeThenBig']) {
    assert.match(ctx.host!.stderr(), new RegExp(`^limit: call #\\d+ ${method}\\(\\) by anonymous made a log entry too large to keep \\(EntryTooLargeError\\); it had no effect on the files$`, 'm'),
      `${method}: the host announces the limit on stderr`)
  }
  ctx.calls += 1 + 3 * 2 + 1
  await a.close()
  await b.close()
  const c = await connect(ctx.url)
  await c.close()
  assert.is(c.info!.callLogLength, 1 + ctx.calls, 'every call, the refused ones included, is one entry')
  // writeThenBig wrote /partial before its result was too big: that write left no trace.
  assert.is(c.info!.filesVersion, 1 + ctx.increments, 'only the increments changed the files')
})

test('an oracle value past the limit is refused inside the script, and the call goes on', async (ctx) => {
  const a = await connect(ctx.url, { timeout: 60_000 })
  const answer = await a.bigOracle(5) as string
  assert.match(answer, /^OracleValueTooLargeError: System\.oracle: this value takes 5242892 bytes of JSON, and one call's oracle values may take 4194304/)
  assert.is(await a.bigOracle(1), 'recorded', 'a value within the limit is recorded')
  ctx.calls += 2
  await a.close()
})

test('a file that grows past the largest log block is fine: the log names its content by hash', async (ctx) => {
  const a = await connect(ctx.url, { timeout: 60_000 })
  for (let i = 1; i <= 2; i++) assert.is(await a.grow(8), i * 8 * 1048576, `the file is ${i * 8} MiB`)
  ctx.calls += 2
  await a.close()
})

test('a 9 MiB result reaches its caller: the slow-reader cap (8 MiB) does not cut a client that reads', async (ctx) => {
  const a = await connect(ctx.url, { timeout: 60_000 })
  assert.is((await a.bigResult(9) as string).length, 9 * 1048576)
  assert.is(await a.increment(), ++ctx.increments, 'and the connection stays usable')
  ctx.calls += 2
  await a.close()
})

test('a batch whose replies would pass 32 MiB: its later calls are refused before they run (-32012), the others answered', async (ctx) => {
  const ws = new WebSocket(`ws://127.0.0.1:${ctx.host!.port}/`)
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject) })
  const reply = new Promise<Array<{ id: number, result?: unknown, error?: { code: number, message: string, data?: string } }>>((resolve) => ws.once('message', (data) => resolve(JSON.parse(String(data)))))
  const items = [1, 2, 3, 4].map((id) => ({ jsonrpc: '2.0', id, method: 'bigResult', params: [9] }))
  ws.send(JSON.stringify([...items, { jsonrpc: '2.0', id: 5, method: 'increment', params: [] }]))
  const replies = (await reply).sort((x, y) => x.id - y.id)
  assert.is(replies.length, 5, 'one reply per call, in one message')
  for (const r of replies.slice(0, 4)) assert.is((r.result as string).length, 9 * 1048576, `call ${r.id} answered`)
  assert.is(replies[4].error?.code, -32012, 'the call past the budget is refused')
  assert.match(replies[4].error?.data ?? '', /this call was not run/)
  ctx.calls += 4
  ws.close()
  const a = await connect(ctx.url)
  assert.is(await a.increment(), ++ctx.increments, 'the refused increment never ran')
  ctx.calls += 1
  await a.close()
})

test('verify --dir agrees with every entry, the oversized ones included; a restarted host serves on', async (ctx) => {
  assert.is((await ctx.host!.stop()).code, 0, `the host stops cleanly:\n${ctx.host!.stderr()}`)
  const verified = await runCli(['verify', '--dir', ctx.dir], { timeoutMs: 120_000 })
  assert.is(verified.code, 0, `verify --dir passes:\n${verified.stdout}${verified.stderr}`)
  assert.match(verified.stdout, new RegExp(`Verified ${1 + ctx.calls} entries`))
  const again = await spawnCli(['exec', ctx.script, '--dir', ctx.dir, '--port', '0'])
  const a = await connect(`localhost:${again.port}`)
  assert.is(await a.increment(), ++ctx.increments)
  await a.close()
  assert.is((await again.stop()).code, 0)
})

test.run()
