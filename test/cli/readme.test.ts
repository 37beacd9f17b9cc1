// The README as a new user follows it: every block marked <!-- runnable --> runs, in order, in a temp
// directory where this checkout is installed as `nodevms` (readme-blocks.ts reads them; README
// "Development" describes the format). `exec` keeps serving in the background between blocks.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn, type ChildProcess } from 'node:child_process'
import { cp, mkdir, readFile, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { CLI_PATH, freePort, runNode, stopAll, tempDir } from './helpers.js'
import { jsExpectations, missingLines, outputLines, runnableBlocks, transcriptSteps, type Step } from './readme-blocks.js'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const README = await readFile(join(ROOT, 'README.md'), 'utf8')
const VERSION = (JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version

interface Ctx { dir: string, env: NodeJS.ProcessEnv, port: number, serving: Serving | null }
interface Serving { child: ChildProcess, command: string, stdout: string, stderr: string, exited: Promise<number | null> }
const test = suite<Ctx>('the README, run as written', { dir: '', env: {}, port: 0, serving: null })

test.before(async (ctx) => {
  // A project that installed this checkout: node_modules/nodevms and its bin, the fixtures, its own HOME.
  ctx.dir = await tempDir('nodevms-readme-')
  await mkdir(join(ctx.dir, 'node_modules', '.bin'), { recursive: true })
  await mkdir(join(ctx.dir, 'home'))
  await writeFile(join(ctx.dir, 'package.json'), '{ "name": "readme-reader", "private": true, "type": "module" }\n')
  await symlink(ROOT, join(ctx.dir, 'node_modules', 'nodevms'))
  await symlink(CLI_PATH, join(ctx.dir, 'node_modules', '.bin', 'nodevms'))
  await cp(join(ROOT, 'fixtures'), join(ctx.dir, 'fixtures'), { recursive: true })
  ctx.env = { HOME: join(ctx.dir, 'home'), npm_config_update_notifier: 'false', npm_config_offline: 'true' }
  ctx.port = await freePort()
})

test.after(async (ctx) => {
  await stopServing(ctx)
  await stopAll()
})

/** The command as this test runs it: its port for 5555, and this checkout's bin called directly (npx is tested once, below). */
function localise (ctx: Ctx, text: string): string {
  return text
    .replaceAll('localhost:5555', `localhost:${ctx.port}`)
    .replace(/(npx nodevms (?:exec|dev) \S+)/, `$1 --port ${ctx.port}`)
    .replaceAll('npx nodevms ', `'${process.execPath}' '${CLI_PATH}' `)
}

const missingIn = (ctx: Ctx, expect: string[], stdout: string, stderr: string) =>
  missingLines(expect.map((line) => line.replaceAll('localhost:5555', `localhost:${ctx.port}`)), [outputLines(stdout), outputLines(stderr)])

/** A shell command in the reader's project, run to completion (killed after 60 s). */
function runShell (ctx: Ctx, command: string, input?: string): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const child = spawn('sh', ['-c', command], { cwd: ctx.dir, env: { ...process.env, ...ctx.env, NO_COLOR: '1' }, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (d) => { stdout += d })
  child.stderr!.on('data', (d) => { stderr += d })
  if (input !== undefined) child.stdin!.end(input)
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
  return new Promise((resolve) => child.once('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }) }))
}

/** `exec`: started in its own process group, resolved once its four start-up lines are out. */
async function startServing (ctx: Ctx, command: string): Promise<Serving> {
  const child = spawn('sh', ['-c', `exec ${localise(ctx, command)}`], { cwd: ctx.dir, env: { ...process.env, ...ctx.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  const serving: Serving = { child, command, stdout: '', stderr: '', exited: new Promise((resolve) => child.once('exit', resolve)) }
  child.stdout!.on('data', (d) => { serving.stdout += d })
  child.stderr!.on('data', (d) => { serving.stderr += d })
  const until = Date.now() + 30_000
  while (!/^Call log: /m.test(serving.stdout)) {
    if (child.exitCode !== null || Date.now() > until) throw new Error(`${command} did not start:\n${serving.stdout}\n${serving.stderr}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  return serving
}

/** Ctrl-C for the serving host: SIGINT to its process group; resolves with its exit code. */
async function stopServing (ctx: Ctx): Promise<number | null> {
  const serving = ctx.serving
  if (serving === null) return null
  ctx.serving = null
  if (serving.child.exitCode === null && serving.child.signalCode === null) process.kill(-serving.child.pid!, 'SIGINT')
  const timer = setTimeout(() => { try { process.kill(-serving.child.pid!, 'SIGKILL') } catch {} }, 15_000)
  const code = await serving.exited
  clearTimeout(timer)
  return code
}

async function runStep (ctx: Ctx, step: Step): Promise<void> {
  if (step.kind === 'interrupt') {
    const serving = ctx.serving
    assert.ok(serving !== null, '^C needs a host serving')
    assert.is(await stopServing(ctx), 0, `Ctrl-C stops ${serving!.command} cleanly`)
    assert.equal(missingIn(ctx, step.expect, '', serving!.stderr), [], `the host's stderr after ^C:\n${serving!.stderr}`)
    return
  }
  if (/^npx nodevms (exec|dev) /.test(step.command)) await stopServing(ctx) // one port: the reader stops the previous host first
  if (/^npx nodevms exec /.test(step.command)) {
    const serving = await startServing(ctx, step.command)
    ctx.serving = serving
    assert.equal(missingIn(ctx, step.expect, serving.stdout, serving.stderr), [], `${step.command} printed:\n${serving.stdout}${serving.stderr}`)
    return
  }
  const input = step.input.length > 0 ? step.input.join('\n') + '\n' : undefined
  const res = await runShell(ctx, localise(ctx, step.command), input)
  assert.is(res.code, step.exit, `${step.command} exits ${step.exit}:\n${res.stdout}${res.stderr}`)
  assert.equal(missingIn(ctx, step.expect, res.stdout, res.stderr), [], `${step.command} printed:\n${res.stdout}${res.stderr}`)
}

const blocks = runnableBlocks(README)

test('the README marks its examples runnable, and no example calls a bare `nodevms` a new user does not have', () => {
  assert.ok(blocks.filter((b) => b.lang === 'console').length >= 5, `console examples are marked (${blocks.length} blocks)`)
  assert.ok(blocks.filter((b) => b.lang === 'js').length >= 3, 'JS examples are marked')
  const bare = README.split('\n').filter((line) => /^\s*\$ nodevms /.test(line))
  assert.equal(bare, [], 'commands to type say npx nodevms')
})

test('the transcript matcher fails on a wrong line, so a README that drifts fails this test', () => {
  assert.equal(missingLines(['1', '2'], [['1', '2']]), [])
  assert.equal(missingLines(['Serving at …:5555'], [['Serving at localhost:5555']]), [])
  assert.equal(missingLines(['2', '1'], [['1', '2']]), ['1'], 'order within a stream counts')
  assert.equal(missingLines(['3'], [['1', '2'], ['30']]), ['3'], 'a line matches whole')
  const steps = transcriptSteps('$ npx nodevms repl x\n> client.a()\n1\n[exit 1]\n^C\nClosed…')
  assert.equal(steps, [{ kind: 'command', command: 'npx nodevms repl x', input: ['client.a()'], expect: ['1'], exit: 1 }, { kind: 'interrupt', expect: ['Closed…'] }])
})

test('`npx nodevms` in a project that installed this checkout runs this checkout', async (ctx) => {
  const res = await runShell(ctx, 'npx nodevms --version')
  assert.is(res.code, 0, res.stderr)
  assert.match(res.stdout, `nodevms/${VERSION}`)
})

for (const [n, block] of blocks.entries()) {
  test(`README line ${block.line}: the ${block.lang} example runs as written`, async (ctx) => {
    if (block.lang === 'console') {
      for (const step of transcriptSteps(block.code)) await runStep(ctx, step)
      return
    }
    assert.is(block.lang, 'js', 'runnable blocks are console transcripts or JS')
    const file = join(ctx.dir, `example-${n}.mjs`)
    await writeFile(file, localise(ctx, block.code))
    const res = await runNode([file], { cwd: ctx.dir, env: ctx.env, timeoutMs: 30_000 })
    assert.is(res.code, 0, `the example exits 0 by itself (killed after 30 s):\n${res.stdout}${res.stderr}`)
    assert.equal(missingIn(ctx, jsExpectations(block.code), res.stdout, ''), [], `the example printed:\n${res.stdout}`)
  })
}

test.run()
