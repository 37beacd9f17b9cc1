// `nodevms call <url> <method> [json-args...]` against a real `nodevms exec` child: the JSON result on
// stdout, errors on stderr, and the exit codes of CONTRACT §4 (0 ok, 1 runtime failure, 2 usage or unreachable).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

// ---- a minimal CLI spawn (test/cli/helpers.ts was not there yet; switch to it once it is) ----
const CLI_PATH = fileURLToPath(new URL('../../cli/index.js', import.meta.url))
const FIXTURES = fileURLToPath(new URL('../../../fixtures/', import.meta.url))
interface CliHost { port: number, dir: string, filesKey: string, logKey: string, child: ChildProcess, stop (): Promise<void> }

/** Starts `nodevms <args>` (exec) and resolves once it has printed its four lines. */
function spawnCli (args: string[], opts: { cwd?: string, env?: NodeJS.ProcessEnv } = {}): Promise<CliHost> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_PATH, ...args], { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`exec printed no address within 30 s: ${err}`)) }, 30_000)
    const onExit = (code: number | null) => { clearTimeout(timer); reject(new Error(`exec exited (${code}) before serving: ${err}`)) }
    child.stderr!.on('data', (d) => { err += d })
    child.stdout!.on('data', (d) => {
      out += d
      const m = /Serving at \S+:(\d+)\nServing directory (.+)\nFiles: +dat:\/\/([0-9a-f]{64})\nCall log: dat:\/\/([0-9a-f]{64})\n/.exec(out)
      if (!m) return
      clearTimeout(timer)
      child.off('exit', onExit)
      const exited = new Promise<void>((done) => { if (child.exitCode !== null || child.signalCode !== null) done(); else child.once('exit', () => done()) })
      const stop = async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
        const kill = setTimeout(() => child.kill('SIGKILL'), 5000)
        await exited
        clearTimeout(kill)
      }
      resolve({ port: Number(m[1]), dir: m[2], filesKey: m[3], logKey: m[4], child, stop })
    })
    child.once('exit', onExit)
  })
}

/** Runs `nodevms <args>` to its end. */
function runCli (args: string[], opts: { cwd?: string, env?: NodeJS.ProcessEnv } = {}): Promise<{ code: number | null, stdout: string, stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI_PATH, ...args], { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => { stdout += d })
    child.stderr.on('data', (d) => { stderr += d })
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }) })
  })
}

let tmp = ''
let counter: CliHost | null = null
let album: CliHost | null = null

test.before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'nodevms-cli-call-'))
  ;[counter, album] = await Promise.all([
    spawnCli(['exec', join(FIXTURES, 'counter.js'), '--port', '0', '--dir', join(tmp, 'counter')], { cwd: tmp }),
    spawnCli(['exec', join(FIXTURES, 'photo-album.js'), '--port', '0', '--dir', join(tmp, 'album')], { cwd: tmp })
  ])
})

test.after(async () => {
  await Promise.all([counter?.stop(), album?.stop()])
  await rm(tmp, { recursive: true, force: true })
})

/** A port nothing listens on: bound, then released. */
async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  await new Promise((resolve) => server.close(resolve))
  return port
}

test('call <url> increment prints the JSON result and exits 0', async () => {
  const one = await runCli(['call', `localhost:${counter!.port}`, 'increment'])
  assert.is(one.code, 0, one.stderr)
  assert.is(one.stdout, '1\n', 'the JSON result, alone, on stdout')
  const two = await runCli(['call', `ws://127.0.0.1:${counter!.port}`, 'increment'])
  assert.is(two.stdout, '2\n', 'a ws:// url works too, and the state carries on')
})

test('call with JSON args: addPhoto stores a photo; a duplicate exits 1 with the script error on stderr', async () => {
  const url = `localhost:${album!.port}`
  const data = Buffer.from('not really a png').toString('base64')
  const ok = await runCli(['call', url, 'addPhoto', '"cat.png"', JSON.stringify(data), '"base64"'])
  assert.is(ok.code, 0, ok.stderr)
  assert.is(ok.stdout, 'null\n', 'a method that returns nothing prints null')
  const dup = await runCli(['call', url, 'addPhoto', '"cat.png"', JSON.stringify(data), '"base64"'])
  assert.is(dup.code, 1, 'a script error exits 1')
  assert.is(dup.stdout, '', 'nothing on stdout')
  assert.match(dup.stderr, 'Error: File already exists', 'the script error, as Name: message, on stderr')
})

test('a non-JSON argument exits 2 with a message that says how to quote it; nothing is called', async () => {
  const res = await runCli(['call', `localhost:${album!.port}`, 'addPhoto', 'dog.png', '"ZG9n"', '"base64"'])
  assert.is(res.code, 2)
  assert.is(res.stdout, '')
  assert.match(res.stderr, 'argument 1 is not JSON: dog.png')
  assert.match(res.stderr, `'"bob"'`, 'it shows how to quote a string')
  const again = await runCli(['call', `localhost:${album!.port}`, 'addPhoto', '"dog.png"', '"ZG9n"', '"base64"'])
  assert.is(again.code, 0, 'dog.png was not taken by the refused call')
})

test('an unknown method exits 1 and names the methods there are', async () => {
  const res = await runCli(['call', `localhost:${counter!.port}`, 'decrement'])
  assert.is(res.code, 1)
  assert.is(res.stdout, '')
  assert.match(res.stderr, 'decrement')
  assert.match(res.stderr, 'increment', 'the message lists the methods the script has')
})

test('an unreachable host exits 2 with a clear message', async () => {
  const port = await freePort()
  const res = await runCli(['call', `localhost:${port}`, 'increment'])
  assert.is(res.code, 2)
  assert.is(res.stdout, '')
  assert.match(res.stderr, `Cannot connect to ws://localhost:${port}`)
  assert.match(res.stderr, 'Is `nodevms exec` running there?')
})

test('a url that is not ws:// or host:port exits 2', async () => {
  const res = await runCli(['call', 'ftp://example.com/x', 'increment'])
  assert.is(res.code, 2)
  assert.match(res.stderr, 'host:port')
})

test('--user on a host without --debug exits 2 and says why', async () => {
  const res = await runCli(['call', `localhost:${counter!.port}`, 'increment', '--user', 'bob'])
  assert.is(res.code, 2)
  assert.match(res.stderr, '401')
  assert.match(res.stderr, '--debug')
})

test('an unknown command exits 2', async () => {
  const res = await runCli(['frobnicate', 'x'])
  assert.is(res.code, 2)
  assert.match(res.stderr, 'unknown command "frobnicate"')
})

test.run()
