// `nodevms exec` as a user runs it: the four start-up lines, the default directory, restarts, signals,
// and the bad inputs that must fail fast with a clear message.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { copyFile, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { connect } from '../../client/node.js'
import { FIXTURES, runCli, spawnCli, stopAll, tempDir } from './helpers.js'

const test = suite('nodevms exec')
test.after.each(stopAll)

async function fixtureIn (dir: string, name = 'persistent-counter.js'): Promise<string> {
  const path = join(dir, name)
  await copyFile(join(FIXTURES, name), path)
  return path
}

async function increment (port: number): Promise<unknown> {
  const client = await connect(`127.0.0.1:${port}`)
  try {
    return await client.increment()
  } finally {
    await client.close()
  }
}

test('prints exactly the four start-up lines, in order, with the real values', async () => {
  const cwd = await tempDir()
  const dir = join(cwd, 'state')
  const host = await spawnCli(['exec', await fixtureIn(cwd), '--port', '0', '--dir', dir], { cwd })
  assert.match(host.lines[0], /^Serving at localhost:\d+$/, 'line 1: the address')
  assert.ok(host.port > 0, 'a real port was chosen for --port 0')
  assert.is(host.lines[1], `Serving directory ${dir}`, 'line 2: the absolute directory')
  assert.ok(host.filesKey !== host.logKey, 'two different keys')
  assert.is(await increment(host.port), 1, 'the host serves on the printed port')
  const hello = await connect(`127.0.0.1:${host.port}`)
  assert.is(hello.backendInfo?.callLogUrl, `dat://${host.logKey}`, 'the printed call log key is the served one')
  assert.is(hello.backendInfo?.filesArchiveUrl, `dat://${host.filesKey}`, 'the printed files key is the served one')
  await hello.close()
  assert.is(host.stdout(), host.lines.join('\n') + '\n', 'nothing else on stdout')
})

test('the default --dir is ./<script name> in the current directory', async () => {
  const cwd = await tempDir()
  await fixtureIn(cwd)
  const host = await spawnCli(['exec', 'persistent-counter.js', '--port', '0'], { cwd })
  assert.is(host.dir, join(cwd, 'persistent-counter'), 'the script name without extension, in cwd')
})

test('a restart keeps both keys and the files; SIGINT and SIGTERM close cleanly and need no recovery', async () => {
  const cwd = await tempDir()
  const script = await fixtureIn(cwd)
  const args = ['exec', script, '--port', '0', '--dir', join(cwd, 'd')]
  const first = await spawnCli(args, { cwd })
  assert.is(await increment(first.port), 1, 'first call')
  assert.is(await increment(first.port), 2, 'second call')
  assert.equal(await first.stop('SIGINT'), { code: 0, signal: null }, 'SIGINT exits 0')

  const second = await spawnCli(args, { cwd })
  assert.equal([second.filesKey, second.logKey], [first.filesKey, first.logKey], 'the same keys after a restart')
  assert.is(await increment(second.port), 3, 'the files survived the restart')
  assert.equal(await second.stop('SIGTERM'), { code: 0, signal: null }, 'SIGTERM exits 0')

  const third = await spawnCli(args, { cwd })
  assert.not.match(third.stderr(), /Recovered|outside the log|warning/i, `a clean stop needs no recovery: ${third.stderr()}`)
  assert.is(await increment(third.port), 4, 'and serves on')
})

test('a second exec on a directory in use fails at once, naming the directory', async () => {
  const cwd = await tempDir()
  const script = await fixtureIn(cwd)
  const dir = join(cwd, 'd')
  const first = await spawnCli(['exec', script, '--port', '0', '--dir', dir], { cwd })
  const started = Date.now()
  const second = await runCli(['exec', script, '--port', '0', '--dir', dir], { cwd })
  assert.ok(Date.now() - started < 10_000, `it does not hang (${Date.now() - started} ms)`)
  assert.ok(second.code !== 0 && second.code !== null, `non-zero exit (${second.code})`)
  assert.match(second.stderr, dir, `the message names the directory: ${second.stderr}`)
  assert.is(second.stdout, '', 'nothing on stdout')
  assert.is(await increment(first.port), 1, 'the first host still serves')
})

test('a missing script exits 2 with a clear message', async () => {
  const cwd = await tempDir()
  const r = await runCli(['exec', 'nope.js', '--port', '0'], { cwd })
  assert.is(r.code, 2, 'usage error exit code')
  assert.match(r.stderr, /cannot read the script .*nope\.js: no such file/, r.stderr)
})

test('a script with a syntax error exits non-zero, naming the line', async () => {
  const cwd = await tempDir()
  await writeFile(join(cwd, 'broken.js'), 'exports.a = function () {\n  return 1 +\n}\n}\n')
  const r = await runCli(['exec', 'broken.js', '--port', '0'], { cwd })
  assert.ok(r.code !== 0 && r.code !== null, `non-zero exit (${r.code})`)
  assert.match(r.stderr, /syntax error/i, r.stderr)
  assert.match(r.stderr, /line 3/, `the message has the line number: ${r.stderr}`)
})

test('a port in use exits non-zero, saying so', async () => {
  const cwd = await tempDir()
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  try {
    const r = await runCli(['exec', await fixtureIn(cwd), '--port', String(port), '--dir', join(cwd, 'd')], { cwd })
    assert.ok(r.code !== 0 && r.code !== null, `non-zero exit (${r.code})`)
    assert.match(r.stderr, /port is already in use/, r.stderr)
  } finally {
    server.close()
  }
})

test('an unknown command exits 2; --help exits 0', async () => {
  const unknown = await runCli(['frobnicate'])
  assert.is(unknown.code, 2, 'unknown command')
  assert.match(unknown.stderr, /unknown command/, unknown.stderr)
  const help = await runCli(['--help'])
  assert.is(help.code, 0, '--help')
  assert.match(help.stdout, /exec <script>/, 'the help lists exec')
})

test.run()
