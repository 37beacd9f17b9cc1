// `nodevms dev <script>` as a script author uses it: a throwaway directory, a fresh log on every save, a
// save that does not load keeps the previous version, the per-call lines, and a REPL on stdin (piped here;
// on a terminal under script(1) when there is one).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { rm, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { connect } from '../../client/node.js'
import { CLI_PATH, spawnCli, stopAll, tempDir } from './helpers.js'

const V1 = 'var n = 0\nexports.inc = function () { return ++n }\n'
const V2 = 'var n = 100\nexports.inc = function () { return ++n }\nexports.reset = function () { n = 0; return n }\n'

test.after.each(stopAll)

async function until (what: string, ok: () => boolean, text: () => string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${ms} ms:\n${text()}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

/** A dev killed by a failing test cannot remove its throwaway directory: the test does, from what dev printed. */
async function removeThrowaway (output: string): Promise<void> {
  const dir = /Serving directory (\/\S+)/.exec(output)?.[1]
  if (dir !== undefined) await rm(dirname(dir), { recursive: true, force: true })
}

async function call (port: number, method: string): Promise<{ result: unknown, log: unknown, length: unknown }> {
  const client = await connect(`127.0.0.1:${port}`)
  try {
    return { result: await client.call(method), log: client.info?.callLogUrl, length: client.info?.callLogLength }
  } finally {
    await client.close()
  }
}

test('every save starts the script again on a fresh log; a save that does not load keeps the previous one; the directory goes at the end', async () => {
  const dir = await tempDir()
  const script = join(dir, 'app.js')
  await writeFile(script, V1)
  const dev = await spawnCli(['dev', script, '--port', '0', '--no-repl'], { cwd: dir })
  try {
    assert.ok(!dev.dir.startsWith(dir), `the host directory is a throwaway one, not in the project: ${dev.dir}`)
    assert.ok(existsSync(dev.dir), 'it exists while dev runs')
    const first = await call(dev.port, 'inc')
    assert.is(first.result, 1)
    assert.is((await call(dev.port, 'inc')).result, 2)
    await until('the call lines', () => /^call #2 inc\(\) by anonymous: ok in \d+ ms$/m.test(dev.stderr()), dev.stderr)

    await writeFile(script, V2)
    await until('the reload', () => /^Reloaded app\.js: a fresh call log dat:\/\/[0-9a-f]{64}; methods: inc, reset\.$/m.test(dev.stderr()), dev.stderr)
    const after = await call(dev.port, 'inc')
    assert.is(after.result, 101, 'the new source runs, from its own initial state')
    assert.is.not(after.log, first.log, 'on a fresh call log')
    assert.is(after.length, 1, 'which holds only its init entry before this call')
    assert.is((await call(dev.port, 'reset')).result, 0, 'the new method is served on the same port')

    await writeFile(script, 'exports.inc = function () {\n  return 1 +\n}\n')
    await until('the refusal', () => /still serving the previous version of app\.js/.test(dev.stderr()), dev.stderr)
    assert.match(dev.stderr(), /app\.js has a syntax error: .*\(line 3, column 1\)/)
    assert.is((await call(dev.port, 'inc')).result, 1, 'the previous version still serves')

    assert.equal(await dev.stop(), { code: 0, signal: null })
    assert.not.ok(existsSync(dirname(dev.dir)), 'the throwaway directory is removed when dev stops')
    assert.is(dev.stdout(), dev.lines.join('\n') + '\n', 'stdout carries the four start-up lines only (without a REPL)')
  } finally {
    await dev.stop()
    await removeThrowaway(dev.stdout())
  }
})

test('the REPL on piped stdin: calls run, a reload reconnects `client` to the new methods, the end of input ends dev', async () => {
  const dir = await tempDir()
  const script = join(dir, 'app.js')
  await writeFile(script, V1)
  const child = spawn(process.execPath, [CLI_PATH, 'dev', script, '--port', '0'], { cwd: dir, env: { ...process.env, NO_COLOR: '1', HOME: dir }, stdio: ['pipe', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => { stdout += d })
  child.stderr.on('data', (d) => { stderr += d })
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve))
  try {
    child.stdin.write('client.inc()\n')
    await until('the first result', () => /^> 1$/m.test(stdout), () => stdout + stderr)
    await writeFile(script, V2)
    await until('the reload', () => /^Reloaded app\.js/m.test(stderr), () => stderr)
    child.stdin.write('client.reset()\nclient.inc()\n')
    await until('the new method\'s results', () => /^> 0$/m.test(stdout) && /^> 1$/m.test(stdout.slice(stdout.indexOf('> 0'))), () => stdout + stderr)
    child.stdin.end()
    assert.is(await exited, 0, 'the end of input ends dev, cleanly')
    const directory = /^Serving directory (.+)$/m.exec(stdout)![1]
    assert.not.ok(existsSync(dirname(directory)), 'and removes its directory')
    assert.match(stderr, /^call #1 reset\(\) by anonymous: ok in \d+ ms$/m, 'the per-call lines are on')
    assert.not.match(stderr, 'The connection to the host closed', 'a reload is not a lost host')
  } finally {
    child.kill('SIGKILL')
    await removeThrowaway(stdout)
  }
})

const hasScript = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0

test('on a terminal: the REPL prompt, a call, and .exit ends dev with exit 0', async () => {
  if (!hasScript) { console.log('  (skipped: no script(1) to give dev a terminal)'); return }
  const dir = await tempDir()
  const script = join(dir, 'app.js')
  await writeFile(script, V1)
  const command = [process.execPath, CLI_PATH, 'dev', script, '--port', '0'].map((a) => `'${a}'`).join(' ')
  const child = spawn('script', ['-qfec', command, '/dev/null'], { cwd: dir, env: { ...process.env, HOME: dir, TERM: 'xterm', NO_COLOR: '1' }, stdio: ['pipe', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (d) => { output += d })
  const text = () => output.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '')
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve))
  try {
    await until('the prompt', () => /> $/.test(text()), text)
    child.stdin.write('client.inc()\r')
    await until('the result', () => /^1\s*$/m.test(text()), text)
    child.stdin.write('.exit\r')
    assert.is(await exited, 0, '.exit ends dev')
  } finally {
    child.kill('SIGKILL')
    await removeThrowaway(text())
  }
})

test.run()
