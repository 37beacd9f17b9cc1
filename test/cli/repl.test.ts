// `nodevms repl <url>` against a real `nodevms exec --debug` child: --exec, piped stdin, and (under a
// pseudo-terminal from script(1), when there is one) TAB completion and the history file.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn, spawnSync } from 'node:child_process'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { CLI_PATH, runCli, spawnCli, stopAll, tempDir, type ServingCli } from './helpers.js'

const SCRIPT = `var i = 0
exports.increment = function () { i++; return i }
exports.fail = function (message) { throw new TypeError(message) }
exports.whoami = function () { return System.caller.id }
`

let tmp = ''
let home = ''      // HOME for every REPL, so the history goes to a temp dir
let host: ServingCli | null = null

test.before(async () => {
  tmp = await tempDir('nodevms-cli-repl-')
  home = join(tmp, 'home')
  await writeFile(join(tmp, 'backend.js'), SCRIPT)
  await mkdir(home)
  host = await spawnCli(['exec', join(tmp, 'backend.js'), '--port', '0', '--dir', join(tmp, 'host'), '--debug'], { cwd: tmp })
})

test.after(async () => {
  await host?.stop()
  await stopAll()
})

const url = () => `localhost:${host!.port}`
const env = () => ({ ...process.env, HOME: home, NO_COLOR: '1' })
const stripAnsi = (text: string) => text.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '')

/** Runs the CLI in tmp with `input` piped into stdin; resolves when it exits (killed after 20 s). */
const withInput = (args: string[], input: string) => runCli(args, { cwd: tmp, env: env(), input })

test('repl --exec runs one expression, prints the resolved result and exits 0', async () => {
  const res = await runCli(['repl', url(), '--exec', 'client.increment()'], { env: env() })
  assert.is(res.code, 0, res.stderr)
  assert.is(res.stdout, '1\n', 'client.increment() prints 1, as in the seed README')
})

test('repl --exec with a script error exits 1 and prints Name: message on stderr', async () => {
  const res = await runCli(['repl', url(), '--exec', 'client.fail("out of fuel")'], { env: env() })
  assert.is(res.code, 1)
  assert.is(res.stdout, '')
  assert.match(res.stderr, /^TypeError: out of fuel$/m)
})

test('repl --user names the caller on a --debug host', async () => {
  const res = await runCli(['repl', url(), '--user', 'alice', '--exec', 'client.whoami()'], { env: env() })
  assert.is(res.code, 0, res.stderr)
  assert.is(res.stdout, 'alice\n')
  const anon = await runCli(['repl', url(), '--exec', 'client.whoami()'], { env: env() })
  assert.is(anon.stdout, 'null\n', 'without --user the caller is null')
})

test('piped stdin: results print in order, .methods lists the methods, and the REPL goes on after an error', async () => {
  const lines = ['client.increment()', 'client.increment()', 'client.increment()', '.methods', 'client.fail("bad input")',
    'client.increment()', 'await client.whoami()']
  const res = await withInput(['repl', url(), '--user', 'bob'], lines.join('\n') + '\n')
  assert.is(res.code, 0, res.stderr)
  const out = res.stdout.replace(/^(> )+/gm, '').split('\n').map((l) => l.trim()).filter((l) => l !== '')
  const first = Number(out[0])
  assert.ok(Number.isInteger(first), `the first line is a number: ${out[0]}`)
  assert.equal(out, [String(first), String(first + 1), String(first + 2),
    'client.increment()', 'client.fail()', 'client.whoami()',
    'TypeError: bad input',
    String(first + 3), "'bob'"], 'every result, in order')
  assert.match(res.stderr, 'Connected.')
})

test('piped stdin: when the host goes away the REPL says so on stderr and exits 1, even with stdin still open', async () => {
  const lonely = await spawnCli(['exec', join(tmp, 'backend.js'), '--port', '0', '--dir', join(tmp, 'lonely')], { cwd: tmp })
  const child = spawn(process.execPath, [CLI_PATH, 'repl', `localhost:${lonely.port}`], { cwd: tmp, env: env(), stdio: ['pipe', 'pipe', 'pipe'] })
  try {
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => { stdout += d })
    child.stderr.on('data', (d) => { stderr += d })
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve))
    child.stdin.write('client.increment()\n') // and stdin stays open
    const until = Date.now() + 10_000
    while (!/^> 1$/m.test(stdout) && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20))
    assert.match(stdout, /^> 1$/m, 'the call before the host went away')
    await lonely.stop()
    let timer: NodeJS.Timeout | undefined
    const code = await Promise.race([exited, new Promise((resolve) => { timer = setTimeout(() => resolve('still running'), 10_000) })])
    clearTimeout(timer)
    assert.is(code, 1, 'a lost host is a runtime failure')
    assert.match(stderr, 'The connection to the host closed.')
  } finally {
    child.kill('SIGKILL')
    await lonely.stop()
  }
})

test('`client` shows a short form: its url, the methods and who calls, not the socket or the pending calls', async () => {
  const piped = await withInput(['repl', url(), '--user', 'bob'], 'client\n')
  assert.is(piped.code, 0, piped.stderr)
  const shown = piped.stdout.replace(/^(> )+/gm, '').trim()
  assert.match(shown, /^RPCClient \{/, shown)
  assert.match(shown, "methods: [ 'increment', 'fail', 'whoami' ]")
  assert.match(shown, 'caller: \'debug user "bob"\'')
  assert.match(shown, `url: 'ws://localhost:${host!.port}'`)
  for (const internal of ['socket', 'pending', 'platform', 'signer', 'nextId']) assert.not.match(shown, internal, `no ${internal} in ${shown}`)
  assert.ok(shown.split('\n').length <= 6, `a few lines, not ${shown.split('\n').length}`)
  const once = await runCli(['repl', url(), '--exec', 'client'], { env: env() })
  assert.is(once.stdout.trim(), shown.replace('debug user "bob"', 'anonymous'), '--exec client shows the same form')
})

// Completion and history are terminal features: node's REPL turns them off when stdin is not a TTY. script(1)
// gives the REPL a pseudo-terminal; without it these tests are skipped.
const hasScript = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0

/** Starts the REPL under script(1) and returns a way to type into it and wait for its output. */
function underTerminal (args: string[]) {
  const command = [process.execPath, CLI_PATH, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ')
  const child = spawn('script', ['-qfec', command, '/dev/null'], { cwd: tmp, env: { ...env(), TERM: 'xterm' }, stdio: ['pipe', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (d) => { output += d })
  child.stderr.on('data', (d) => { output += d })
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve))
  return {
    child,
    exited,
    text: () => stripAnsi(output),
    type: (keys: string) => child.stdin.write(keys),
    /** Types .exit and resolves with the exit code, or 'timeout' after 10 s. */
    async exit (): Promise<number | null | 'timeout'> {
      child.stdin.write('.exit\r')
      let timer: NodeJS.Timeout | undefined
      const timeout = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), 10_000) })
      const code = await Promise.race([exited, timeout])
      clearTimeout(timer)
      return code
    },
    async waitFor (pattern: RegExp, from = 0, ms = 10_000): Promise<void> {
      const until = Date.now() + ms
      while (!pattern.test(stripAnsi(output).slice(from))) {
        if (Date.now() > until) throw new Error(`no ${pattern} within ${ms} ms; output so far: ${JSON.stringify(stripAnsi(output))}`)
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    }
  }
}

test('on a terminal: TAB completes a remote method name, and the history goes to $HOME/.nodevms_repl_history', async () => {
  if (!hasScript) { console.log('  (skipped: no script(1) to give the REPL a terminal)'); return }
  const term = underTerminal(['repl', url()])
  try {
    await term.waitFor(/Connected\.[\s\S]*> $/)
    let mark = term.text().length
    term.type('client.incr\t')
    await term.waitFor(/client\.increment/, mark)
    mark = term.text().length
    term.type('()\r')
    await term.waitFor(/^\d+\s*$/m, mark)
    assert.is(await term.exit(), 0, '.exit ends the REPL')
  } finally {
    term.child.kill('SIGKILL')
  }
  const history = await readFile(join(home, '.nodevms_repl_history'), 'utf8')
  assert.ok(history.split('\n').includes('client.increment()'), `the completed line is in the history: ${JSON.stringify(history)}`)
})

test('on a terminal: client.<TAB><TAB> lists the remote methods first and no internals; cl<TAB> completes to client', async () => {
  if (!hasScript) { console.log('  (skipped: no script(1) to give the REPL a terminal)'); return }
  const term = underTerminal(['repl', url()])
  try {
    await term.waitFor(/Connected\.[\s\S]*> $/)
    let mark = term.text().length
    term.type('client.')
    await term.waitFor(/client\.$/, mark)
    term.type('\t')
    await new Promise((resolve) => setTimeout(resolve, 300))
    term.type('\t')
    await term.waitFor(/client\.url/, mark)
    const listing = term.text().slice(mark)
    const at = (name: string) => listing.indexOf(`client.${name}`)
    for (const method of ['increment', 'fail', 'whoami']) {
      assert.ok(at(method) !== -1 && at(method) < at('call'), `client.${method} is listed before the client's own members:\n${listing}`)
    }
    for (const internal of ['socket', 'pending', 'platform', 'emit', 'listenerCount', 'onMessage', '__proto__']) {
      assert.is(at(internal), -1, `client.${internal} is not offered:\n${listing}`)
    }
    term.type('\u0015') // Ctrl-U: clear the line
    mark = term.text().length
    term.type('cl\t')
    await term.waitFor(/client/, mark)
    term.type('\r')
    await term.waitFor(/RPCClient \{/, mark)
    assert.is(await term.exit(), 0, '.exit ends the REPL')
  } finally {
    term.child.kill('SIGKILL')
  }
})

test.run()
