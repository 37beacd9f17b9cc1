// The command line's edges (CONTRACT §4, §9): usage errors exit 2 with the command's usage line before
// anything runs, values stay the strings typed, help shows every option's default, and the CLI's own
// messages say what to do with its flags. Real child processes; exit codes checked exactly.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { existsSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { commandName } from '../../cli/command-spec.js'
import { COMMANDS } from '../../cli/commands.js'
import { describeOption, parseArgv } from '../../cli/parse-argv.js'
import { FIXTURES, runCli, spawnCli, stopAll, tempDir, type ServingCli } from './helpers.js'

interface Ctx { dir: string, host: ServingCli | null }
const test = suite<Ctx>('the command line', { dir: '', host: null })

const WHOAMI = `exports.whoami = function () { return System.caller.id }
exports.spin = function (n) { var x = 0; for (var k = 0; k < n; k++) x = (x + k) % 1000003; return x }
`

test.before(async (ctx) => {
  ctx.dir = await tempDir('nodevms-usage-')
  await writeFile(join(ctx.dir, 'whoami.js'), WHOAMI)
  ctx.host = await spawnCli(['exec', join(ctx.dir, 'whoami.js'), '--port', '0', '--dir', join(ctx.dir, 'whoami-host'), '--debug', '--gas', '100000000', '--quiet'], { cwd: ctx.dir })
})

test.after(async (ctx) => {
  await ctx.host?.stop()
  await stopAll()
})

const url = (ctx: Ctx) => `localhost:${ctx.host!.port}`

/** Runs nodevms in the test's directory and checks a usage error: exit 2, the message, the usage line, nothing on stdout. */
async function usageError (ctx: Ctx, args: string[], message: RegExp | string, usage: RegExp | string): Promise<void> {
  const res = await runCli(args, { cwd: ctx.dir, env: { HOME: ctx.dir } })
  assert.is(res.code, 2, `nodevms ${args.join(' ')} exits 2: ${res.stderr}`)
  assert.is(res.stdout, '', 'nothing on stdout')
  assert.match(res.stderr, message, `the message says what is wrong: ${res.stderr}`)
  assert.match(res.stderr, usage, `the usage line is printed: ${res.stderr}`)
}

const EXEC_USAGE = 'Usage: nodevms exec <script> [options]'
const CALL_USAGE = 'Usage: nodevms call <url> <method> [...args] [options]'
const GLOBAL_USAGE = 'Usage: nodevms <command> [options]'

test('a missing argument is a usage error: exec without a script, call without a method', async (ctx) => {
  await usageError(ctx, ['exec'], 'missing <script>', EXEC_USAGE)
  await usageError(ctx, ['call', url(ctx)], 'missing <method>', CALL_USAGE)
  await usageError(ctx, ['repl'], 'missing <url>', 'Usage: nodevms repl <url> [options]')
})

test('an unknown option, an option without its value and an extra argument are usage errors, before anything runs', async (ctx) => {
  await usageError(ctx, ['exec', 'whoami.js', '--prot', '1'], /unknown option --prot \(did you mean --port\?\)/, EXEC_USAGE)
  await usageError(ctx, ['exec', 'whoami.js', '--port'], '--port needs a value', EXEC_USAGE)
  await usageError(ctx, ['exec', 'whoami.js', '--dir', '--debug'], '--dir needs a value', EXEC_USAGE)
  await usageError(ctx, ['exec', 'whoami.js', '--debug=yes'], '--debug takes no value', EXEC_USAGE)
  await usageError(ctx, ['exec', 'whoami.js', 'other.js'], 'unexpected argument "other.js"', EXEC_USAGE)
  assert.not.ok(existsSync(join(ctx.dir, 'whoami')), 'no host directory was made: nothing ran')
})

test('a value of the wrong kind is a usage error that names the option and the value', async (ctx) => {
  const wrong: Array<[string[], string]> = [
    [['exec', 'whoami.js', '--gas', '-5'], '--gas needs a whole number above 0, got "-5"'],
    [['exec', 'whoami.js', '--gas', '1.5'], '--gas needs a whole number above 0, got "1.5"'],
    [['exec', 'whoami.js', '--port', 'abc'], '--port needs a port number from 0 to 65535 (0 picks a free one), got "abc"'],
    [['exec', 'whoami.js', '--port', '70000'], 'got "70000"'],
    [['exec', 'whoami.js', '--timeout', '0'], '--timeout needs a number above 0, got "0"'],
    [['exec', 'whoami.js', '--memory', 'lots'], '--memory needs a number above 0, got "lots"'],
    [['exec', 'whoami.js', '--bootstrap', '127.0.0.1:1'], '--bootstrap goes with --swarm']
  ]
  for (const [args, message] of wrong) await usageError(ctx, args, message, EXEC_USAGE)
  await usageError(ctx, ['call', url(ctx), 'whoami', '--timeout', 'abc'], '--timeout needs a number above 0, got "abc"', CALL_USAGE)
  await usageError(ctx, ['call', url(ctx), 'whoami', 'bob'], 'argument 1 is not JSON: bob', CALL_USAGE)
  await usageError(ctx, ['verify', url(ctx), '--dir', 'x'], 'give either a host <url> (or dat://KEY) or --dir <dir>, not both', 'Usage: nodevms verify [url] [options]')
  await usageError(ctx, ['seed', 'dat://nope', '--dir', 'm'], 'cannot read "dat://nope" as a call log key', 'Usage: nodevms seed <key> [options]')
  assert.not.ok(existsSync(join(ctx.dir, 'whoami')), 'no host directory was made: nothing ran')
})

test('nodevms --frob names the option; an unknown command exits 2; no command exits 2 with the list of commands', async (ctx) => {
  await usageError(ctx, ['--frob'], 'unknown option --frob', GLOBAL_USAGE)
  await usageError(ctx, ['frobnicate'], 'unknown command "frobnicate"', GLOBAL_USAGE)
  await usageError(ctx, ['exce', 'whoami.js'], 'unknown command "exce" (did you mean exec?)', GLOBAL_USAGE)
  await usageError(ctx, [], 'no command given', /Commands: exec, dev, call, repl, verify/)
  await usageError(ctx, ['help', 'frobnicate'], 'unknown command "frobnicate"', GLOBAL_USAGE)
})

test('nodevms help, nodevms help <command>, --help and --version exit 0 with the text on stdout', async () => {
  const global = await runCli(['help'])
  assert.is(global.code, 0, global.stderr)
  for (const spec of COMMANDS) assert.match(global.stdout, spec.usage, `the help lists ${spec.usage}`)
  const viaFlag = await runCli(['--help'])
  assert.is(viaFlag.stdout, global.stdout, 'nodevms --help is nodevms help')
  const exec = await runCli(['help', 'exec'])
  assert.is(exec.code, 0)
  assert.match(exec.stdout, '$ nodevms exec <script>')
  const flag = await runCli(['exec', '--help'])
  assert.is(flag.stdout, exec.stdout, 'nodevms exec --help is nodevms help exec, even without the script')
  const version = await runCli(['--version'])
  assert.is(version.code, 0)
  assert.match(version.stdout, /^nodevms\/\d+\.\d+\.\d+/)
})

/** The option lines of a command's help: "  --name ...  description (default: ...)". */
function optionLines (help: string): string[] {
  return help.split('\n').filter((line) => /^\s+--/.test(line))
}

test('every command\'s --help shows a default for every option, and never "(default: true)"', async () => {
  for (const spec of COMMANDS) {
    const name = commandName(spec)
    const res = await runCli([name, '--help'])
    assert.is(res.code, 0, `${name} --help exits 0`)
    const lines = optionLines(res.stdout)
    assert.is(lines.length, spec.options.length, `${name} --help lists its ${spec.options.length} options`)
    for (const line of lines) assert.match(line, /\(default: [^)]+\)$/, `${name}: ${line.trim()}`)
    assert.not.match(res.stdout, '(default: true)', `${name} --help never says (default: true)`)
  }
  const exec = await runCli(['exec', '--help'])
  assert.match(exec.stdout, /--gas <n> .*\(default: 10000\)/, '--gas shows its default')
  assert.match(exec.stdout, /--memory <mb> .*\(default: 64\)/, '--memory shows its default')
  assert.match(exec.stdout, /--no-anonymous .*\(default: off\)/, '--no-anonymous is off by default')
})

test('every option that takes a path, key, name or url keeps the text typed, whatever it looks like (the whole class)', () => {
  let checked = 0
  for (const spec of COMMANDS) {
    for (const option of spec.options.map(describeOption)) {
      if (!option.takesValue || option.spec.value !== undefined) continue // a value kind reads numbers on purpose
      // With the required arguments only, and with the optional ones too (verify's --dir wants no url, --files one).
      const required = spec.usage.match(/<[^>.]+>/g)?.map((_, i) => `arg${i}`) ?? []
      const all = spec.usage.match(/<[^>.]+>|\[[^\].]+\]/g)?.map((_, i) => `arg${i}`) ?? []
      for (const [args, typed] of [required, all].flatMap((a) => ['007', '2024', '1e3', '0x10', '-1', '0'.repeat(63) + '5'].map((t) => [a, t] as const))) {
        const text = [commandName(spec), ...args, `--${option.long}`, typed]
        let parsed: ReturnType<typeof parseArgv>
        try {
          parsed = parseArgv(text, COMMANDS)
        } catch {
          continue // a command's own checks may refuse the combination; what it was given is what matters
        }
        if (parsed.kind !== 'run') continue
        const value = parsed.input.options[option.key]
        assert.equal(Array.isArray(value) ? value : [value], [typed], `${text.join(' ')}: ${option.key} is the text typed`)
        checked++
      }
    }
  }
  assert.ok(checked >= 40, `options checked: ${checked}`)
})

test('number-like paths, keys and names work end to end: --dir 2024, verify --dir 007, --files 00, --log 000…005, --user 123, --identity 1', async (ctx) => {
  const served = await spawnCli(['exec', 'whoami.js', '--port', '0', '--dir', '2024'], { cwd: ctx.dir })
  assert.is(served.dir, join(ctx.dir, '2024'), 'the directory 2024, not the number')
  await served.stop()

  const offline = await runCli(['verify', '--dir', '007'], { cwd: ctx.dir })
  assert.is(offline.code, 2, offline.stderr)
  assert.match(offline.stderr, `${join(ctx.dir, '007')} is not a nodevms host directory`)

  const files = await runCli(['verify', url(ctx), '--files', '00'], { cwd: ctx.dir })
  assert.is(files.code, 2, files.stderr)
  assert.match(files.stderr, 'Cannot read "00" as a files archive key')

  const log = await runCli(['verify', url(ctx), '--log', '0'.repeat(63) + '5'], { cwd: ctx.dir })
  assert.is(log.code, 1, `a key the host does not serve is a mismatch: ${log.stderr}`)
  assert.match(log.stdout, `not dat://${'0'.repeat(63)}5 as given`)

  const user = await runCli(['call', url(ctx), 'whoami', '--user', '123'], { cwd: ctx.dir })
  assert.is(user.code, 0, user.stderr)
  assert.is(user.stdout, '"123"\n', 'the caller id is the string "123"')

  const missing = await runCli(['call', url(ctx), 'whoami', '--identity', '1'], { cwd: ctx.dir })
  assert.is(missing.code, 2, missing.stderr)
  assert.match(missing.stderr, `No identity at ${join(ctx.dir, '1')}`)
  const made = await runCli(['id', '--identity', '1'], { cwd: ctx.dir })
  assert.is(made.code, 0, made.stderr)
  assert.ok(existsSync(join(ctx.dir, '1')), 'the identity file is named 1')
})

test('a script error on line 1 is reported at its column in the script as written', async (ctx) => {
  await writeFile(join(ctx.dir, 'line1.js'), 'exports.a = 1; foo()\n')
  const res = await runCli(['exec', 'line1.js', '--port', '0'], { cwd: ctx.dir })
  assert.is(res.code, 1, 'a script that does not load is a runtime failure')
  assert.match(res.stderr, "ReferenceError: 'foo' is not defined (line 1, column 16)")
})

test('the CLI speaks of its own flags: a debug name on a non-debug host, a call timeout, an unsigned call', async (ctx) => {
  const plain = await spawnCli(['exec', join(FIXTURES, 'secure-counter.js'), '--port', '0', '--dir', join(ctx.dir, 'secure'), '--no-anonymous'], { cwd: ctx.dir })
  const named = await runCli(['call', `localhost:${plain.port}`, 'init', '--user', 'bob'], { cwd: ctx.dir, env: { HOME: ctx.dir } })
  assert.is(named.code, 2, named.stderr)
  assert.match(named.stderr, 'refused the connection (HTTP 401)')
  assert.match(named.stderr, '--debug')
  assert.not.match(named.stderr, 'running there', 'it does not ask whether the host runs: it answered')

  const unsigned = await runCli(['call', `localhost:${plain.port}`, 'init'], { cwd: ctx.dir, env: { HOME: join(ctx.dir, 'nobody') } })
  assert.is(unsigned.code, 1, unsigned.stderr)
  assert.match(unsigned.stderr, 'nodevms id')
  assert.match(unsigned.stderr, '--identity FILE')
  assert.not.match(unsigned.stderr, 'connect(', 'no JS API advice on the command line')
  await plain.stop()

  const slow = await runCli(['call', url(ctx), 'spin', '50000000', '--timeout', '0.2'], { cwd: ctx.dir })
  assert.is(slow.code, 1, slow.stderr)
  assert.match(slow.stderr, 'spin() on ws://localhost')
  assert.match(slow.stderr, 'got no reply within 0.2 s; the call may or may not have run. Allow longer with --timeout SECONDS.')
  assert.not.match(slow.stderr, 'connect(', 'no JS API advice on the command line')
})

test('no message the CLI prints for a failure doubles a full stop or leaks an internal code', async (ctx) => {
  const failures: string[][] = [
    ['exec'], ['exec', 'nope.js'], ['exec', 'whoami.js', '--port', 'x'], ['call', 'localhost:1', 'x'], ['call', 'not a url', 'x'],
    ['call', url(ctx), 'nope'], ['call', url(ctx), 'whoami', '--user', 'x', '--timeout', '-1'], ['verify', 'localhost:1'],
    ['verify', '--dir', 'nowhere'], ['repl', 'localhost:1', '--exec', '1'], ['id', '--identity', ctx.dir], ['seed', 'x'], ['--frob']
  ]
  for (const args of failures) {
    const res = await runCli(args, { cwd: ctx.dir, env: { HOME: ctx.dir } })
    assert.ok(res.code === 1 || res.code === 2, `nodevms ${args.join(' ')} fails with 1 or 2 (${res.code}): ${res.stderr}`)
    assert.not.match(res.stderr, /(?<!\.)\.\.(?!\.)/, `no doubled full stop: ${res.stderr}`)
    assert.not.match(res.stderr, /ERR_[A-Z_]+|undefined|\[object Object\]|connect\(url/, `no internals: ${res.stderr}`)
    assert.not.match(res.stderr, /^\s+at /m, `no stack trace: ${res.stderr}`)
  }
})

test.run()
