// The Dat network from the command line: exec --swarm, verify dat://KEY, seed. Real processes, inside a
// loopback-only namespace (see netns.ts), on a local testnet.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { Testnet } from '@hyperswarm/testnet'
import { connect } from '../../../client/node.js'
import { loopbackTestnet, tempDir } from './fixture.js'
import { loopbackOnly } from './netns.js'

const test = suite('nodevms on the Dat network')
const cli = fileURLToPath(new URL('../../../cli/index.js', import.meta.url))
const fixture = fileURLToPath(new URL('../../../../fixtures/persistent-counter.js', import.meta.url))

let testnet: Testnet
let bootstrap = ''
const dirs: Array<{ remove (): Promise<void> }> = []
const children = new Set<ChildProcess>()

interface Running { child: ChildProcess, out: string, err: string, exited: Promise<number> }

function start (args: string[]): Running {
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } })
  children.add(child)
  const r: Running = { child, out: '', err: '', exited: Promise.resolve(0) }
  child.stdout!.on('data', (d) => { r.out += d })
  child.stderr!.on('data', (d) => { r.err += d })
  r.exited = new Promise((resolve) => child.on('close', (code, signal) => { children.delete(child); resolve(code ?? (signal !== null ? 128 : 0)) }))
  return r
}

async function run (args: string[]): Promise<{ code: number, out: string, err: string }> {
  const r = start(args)
  const code = await r.exited
  return { code, out: r.out, err: r.err }
}

async function until (r: Running, pattern: RegExp, what: string, ms = 20_000): Promise<RegExpExecArray> {
  const deadline = Date.now() + ms
  for (;;) {
    const m = pattern.exec(r.out)
    if (m !== null) return m
    if (Date.now() > deadline || r.child.exitCode !== null) throw new Error(`no ${what} within ${ms} ms; stdout:\n${r.out}\nstderr:\n${r.err}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

async function stopChild (r: Running): Promise<number> {
  r.child.kill('SIGTERM')
  return await r.exited
}

const cases: Array<[string, () => Promise<void>]> = [
  ['swarm commands without --bootstrap are usage errors that name the public DHT', async () => {
    const dir = await tempDir('cli-host')
    dirs.push(dir)
    const exec = await run(['exec', fixture, '--port', '0', '--dir', dir.path, '--swarm'])
    assert.is(exec.code, 2, `exec --swarm exits 2: ${exec.err}`)
    assert.match(exec.err, /--bootstrap[\s\S]*public DHT/)
    const verify = await run(['verify', `dat://${'ab'.repeat(32)}`])
    assert.is(verify.code, 2, `verify dat:// exits 2: ${verify.err}`)
    assert.match(verify.err, /--bootstrap[\s\S]*public DHT/)
    const seed = await run(['seed', `dat://${'ab'.repeat(32)}`, '--dir', dir.path + '-mirror'])
    assert.is(seed.code, 2, `seed exits 2: ${seed.err}`)
  }],

  ['exec --swarm, verify by key, seed catches up, and verify passes from the mirror after the host stops', async () => {
    const hostDir = await tempDir('cli-host')
    const mirrorDir = await tempDir('cli-mirror')
    dirs.push(hostDir, mirrorDir)
    const host = start(['exec', fixture, '--port', '0', '--dir', hostDir.path, '--swarm', '--bootstrap', bootstrap])
    const port = Number((await until(host, /Serving at [^\s:]+:(\d+)/, 'Serving line'))[1])
    const logKey = (await until(host, /Call log: dat:\/\/([0-9a-f]{64})/, 'Call log line'))[1]
    await until(host, /Call log: hyper:\/\/[a-z0-9]{52}/, 'hyper:// line')
    assert.match(host.out, /Files: +hyper:\/\/[a-z0-9]{52}/, 'the files key too')
    const client = await connect(`127.0.0.1:${port}`)
    for (let i = 0; i < 10; i++) await client.increment()
    await client.close()

    const byKey = await run(['verify', `dat://${logKey}`, '--bootstrap', bootstrap, '--timeout', '15'])
    assert.is(byKey.code, 0, `verify by key: ${byKey.out}${byKey.err}`)
    assert.match(byKey.out, /Verified 11 entries/, 'the init entry and 10 calls')

    const seed = start(['seed', `dat://${logKey}`, '--dir', mirrorDir.path, '--bootstrap', bootstrap])
    await until(seed, /^Verified 11 entries$/m, 'Verified 11 entries')
    assert.is(await stopChild(host), 0, 'the host stops cleanly')
    const fromMirror = await run(['verify', `dat://${logKey}`, '--bootstrap', bootstrap, '--timeout', '15'])
    assert.is(fromMirror.code, 0, `verify from the mirror alone: ${fromMirror.out}${fromMirror.err}`)
    assert.not.match(seed.out, /MISMATCH/)
    assert.is(await stopChild(seed), 0, 'the mirror stops cleanly, no mismatch')
  }],

  ['verify by key gives up after --timeout with exit 2 when nobody serves the log', async () => {
    const r = await run(['verify', `dat://${'cd'.repeat(32)}`, '--bootstrap', bootstrap, '--timeout', '1'])
    assert.is(r.code, 2, `${r.out}${r.err}`)
    assert.match(r.err, /No peer serving/)
  }]
]

const where = await loopbackOnly(fileURLToPath(import.meta.url))
if (where === 'inside') {
  test.before(async () => {
    testnet = await loopbackTestnet()
    bootstrap = testnet.bootstrap.map((n) => `${n.host}:${n.port}`).join(',')
  })
  test.after(async () => {
    for (const c of children) c.kill('SIGKILL')
    await testnet?.destroy()
    for (const d of dirs) await d.remove()
  })
  for (const [name, fn] of cases) test(name, fn)
  test.run()
} else if (where === 'skip') {
  for (const [name] of cases) test.skip(name, () => {})
  test.run()
}
