// Memory that survives (CONTRACT §7), through `nodevms exec` as real child processes: the seed's in-memory
// counter goes 1, 2, restart, 3; a host killed mid-burst carries on from the last logged result; --fresh
// starts empty; calls that hit a limit leave files and memory as they were; a changed script is refused
// unless --upgrade; and verify --dir passes on every directory these leave behind.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createHash } from 'node:crypto'
import { copyFile, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { connect, type Client } from '../../client/node.js'
import { RpcError } from '../../client/errors.js'
import { FIXTURES, runCli, spawnCli, stopAll, tempDir, type ServingCli } from './helpers.js'
import { LIMITED } from '../helpers.js'

const test = suite('memory that survives')
test.after.each(stopAll)

async function withClient<T> (host: ServingCli, use: (client: Client) => Promise<T>): Promise<T> {
  const client = await connect(`127.0.0.1:${host.port}`)
  try {
    return await use(client)
  } finally {
    await client.close()
  }
}

/** Waits for a line on the host's stderr (lifecycle lines follow the four stdout lines). */
async function stderrLine (host: ServingCli, pattern: RegExp): Promise<void> {
  const until = Date.now() + 10_000
  while (!pattern.test(host.stderr())) {
    if (Date.now() > until) throw new Error(`no ${pattern} on stderr:\n${host.stderr()}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** verify --dir --json on a stopped host's directory. */
async function verifyDir (dir: string): Promise<{ ok: boolean, calls: number, limitHits: number, restarts: number, upgrades: number }> {
  const r = await runCli(['verify', '--dir', dir, '--json'])
  assert.is(r.code, 0, `verify --dir passes:\n${r.stdout}${r.stderr}`)
  return JSON.parse(r.stdout)
}

/** fixtures/counter.js copied into a new temp dir, and the exec arguments that serve it from DIR `counter` there. */
async function counterCopy (): Promise<{ cwd: string, script: string, dir: string, args: string[] }> {
  const cwd = await tempDir()
  const script = join(cwd, 'counter.js')
  await copyFile(join(FIXTURES, 'counter.js'), script)
  const dir = join(cwd, 'counter')
  return { cwd, script, dir, args: ['exec', script, '--port', '0', '--dir', dir] }
}

async function counterRestarts (): Promise<void> {
  const { cwd, dir, args } = await counterCopy()
  const first = await spawnCli(args, { cwd })
  await withClient(first, async (c) => {
    assert.is(await c.increment(), 1)
    assert.is(await c.increment(), 2)
  })
  assert.equal(await first.stop('SIGTERM'), { code: 0, signal: null })

  const second = await spawnCli(args, { cwd })
  assert.is(await withClient(second, (c) => c.increment()), 3, 'the memory was restored from the log')
  await stderrLine(second, /^The script's memory was restored from /m)
  assert.equal(await second.stop('SIGTERM'), { code: 0, signal: null })

  const fresh = await spawnCli([...args, '--fresh'], { cwd })
  assert.is(await withClient(fresh, (c) => c.increment()), 1, '--fresh: empty memory')
  await stderrLine(fresh, /^The script starts with empty memory \(--fresh\)/m)
  await fresh.stop()

  const after = await spawnCli(args, { cwd })
  assert.is(await withClient(after, (c) => c.increment()), 2, 'a restore after --fresh replays only the calls since it')
  await after.stop()
  const report = await verifyDir(dir)
  assert.equal([report.calls, report.restarts], [5, 3], 'every call and restart was replayed')
}

async function killedMidBurst (): Promise<void> {
  const { cwd, dir, args } = await counterCopy()
  const host = await spawnCli(args, { cwd })
  const clients = await Promise.all(Array.from({ length: 4 }, () => connect(`127.0.0.1:${host.port}`)))
  let acknowledged = 0
  let killed = false
  const bursts = clients.map(async (c) => {
    for (;;) {
      try {
        const n = await c.increment() as number
        acknowledged = Math.max(acknowledged, n)
        if (acknowledged >= 150 && !killed) { killed = true; host.child.kill('SIGKILL') }
      } catch {
        return
      }
    }
  })
  await Promise.all(bursts)
  await host.exited
  for (const c of clients) await c.close().catch(() => {})
  assert.ok(acknowledged >= 150, `calls were acknowledged before the kill (${acknowledged})`)

  const again = await spawnCli(args, { cwd })
  const next = await withClient(again, (c) => c.increment()) as number
  assert.ok(next > acknowledged, `every acknowledged call is in the restored memory: next ${next}, acknowledged ${acknowledged}`)
  await again.stop()
  const report = await verifyDir(dir)
  assert.is(report.calls, next, 'the next result is one past the last logged call, no more and no less')
}

// LIMITED (test/helpers.ts), and two methods that read the files.
const LIMITED_FILES = LIMITED + `exports.files = async () => (await fs.readdir('/')).sort()
exports.file = async () => fs.readFile('/n')
`

async function limitHit (call: () => Promise<unknown>): Promise<string> {
  try {
    await call()
  } catch (err) {
    assert.instance(err, RpcError, String(err))
    return (err as RpcError).name
  }
  throw new Error('the call did not hit its limit')
}

async function limitsLeaveNoTrace (): Promise<void> {
  const cwd = await tempDir()
  const script = join(cwd, 'limited.js')
  await writeFile(script, LIMITED_FILES)
  const dir = join(cwd, 'limited')
  const args = ['exec', script, '--port', '0', '--dir', dir, '--gas', '200', '--memory', '4', '--timeout', '1']
  const host = await spawnCli(args, { cwd })
  await withClient(host, async (c) => {
    const errors: string[] = []
    assert.is(await c.next(), 1)
    errors.push(await limitHit(() => c.bomb()))
    assert.is(await c.next(), 2, 'after the memory bomb')
    errors.push(await limitHit(() => c.spin()))
    assert.is(await c.next(), 3, 'after the endless loop')
    errors.push(await limitHit(() => c.stall()))
    assert.is(await c.next(), 4, 'after the deadline')
    assert.equal(errors, ['OutOfMemoryError', 'GasExhaustedError', 'DeadlineExceededError'])
    assert.equal(await c.files(), ['n'], 'none of their writes reached the files')
    assert.is(await c.file(), '4')
  })
  assert.match(host.stderr(), /limit: call #2 bomb\(\) by anonymous ran out of memory/)
  await host.stop()
  const again = await spawnCli(args, { cwd })
  await stderrLine(again, /skipped 3 that had no effect|from a checkpoint/)
  assert.is(await withClient(again, (c) => c.next()), 5, 'the restore skipped the calls that had no effect')
  await again.stop()
  const report = await verifyDir(dir)
  assert.equal([report.calls, report.limitHits], [10, 3], 'verify counts the three as calls that had no effect, and passes')
}

async function changedScript (): Promise<void> {
  const { cwd, script, dir, args } = await counterCopy()
  const first = await spawnCli(args, { cwd })
  await withClient(first, async (c) => { await c.increment(); await c.increment() })
  await first.stop()
  const before = await readFile(script, 'utf8')
  const changed = before + 'exports.twice = function () { return exports.increment() + exports.increment() }\n'
  await writeFile(script, changed)
  const sha = (text: string) => createHash('sha256').update(text).digest('hex')

  const refused = await runCli(args, { cwd })
  assert.is(refused.code, 1, `exit 1: ${refused.stderr}`)
  assert.is(refused.stdout, '', 'nothing served')
  assert.match(refused.stderr, sha(before), 'names the log\'s script hash')
  assert.match(refused.stderr, sha(changed), 'names the new script\'s hash')
  assert.match(refused.stderr, '--upgrade', 'one way on')
  assert.match(refused.stderr, 'another --dir', 'the other way on')

  const upgraded = await spawnCli([...args, '--upgrade'], { cwd })
  await stderrLine(upgraded, /^Upgraded: counter\.js differs from the script in the log; entry #3 \(upgrade\)/m)
  assert.is(await withClient(upgraded, (c) => c.twice()), 3, 'the new script starts with empty memory (1 + 2)')
  await upgraded.stop()
  const restarted = await spawnCli(args, { cwd })
  assert.is(await withClient(restarted, (c) => c.increment()), 3, 'the upgraded script\'s memory is restored on the next start')
  await restarted.stop()
  const report = await verifyDir(dir)
  assert.equal([report.upgrades, report.restarts, report.calls], [1, 1, 4])
}

// The four stories are independent (each has its own directory and a free port), so their children run at
// once: the file takes the time of the longest story, not of all four.
test('counter.js 1, 2, SIGTERM, 3 and --fresh; SIGKILL mid-burst; limit hits that leave no trace; a changed script refused unless --upgrade; verify passes on each', async () => {
  await Promise.all([counterRestarts(), killedMidBurst(), limitsLeaveNoTrace(), changedScript()])
})

test.run()
