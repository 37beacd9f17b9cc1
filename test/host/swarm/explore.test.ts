// nodevms explore dat://KEY: the explorer finds a backend on the Dat network by its log key alone, verifies
// it and follows it as it grows; a key nobody serves exits 2 after --timeout. Real processes, inside a
// loopback-only namespace (see netns.ts), on a local testnet.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { fileURLToPath } from 'node:url'
import type { Testnet } from '@hyperswarm/testnet'
import { runCli, spawnExplore, stopAll } from '../../cli/helpers.js'
import { loopbackTestnet, SwarmHost } from './fixture.js'
import { loopbackOnly } from './netns.js'

const test = suite('nodevms explore on the Dat network')
let testnet: Testnet
let bootstrap = ''
const hosts: SwarmHost[] = []

async function status (url: string): Promise<{ verdict: string, verified: number }> {
  return await (await fetch(`${url}api/status`)).json() as { verdict: string, verified: number }
}

async function until (url: string, ok: (s: { verdict: string, verified: number }) => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 30_000
  for (;;) {
    const s = await status(url)
    if (ok(s)) return
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(s)}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

const cases: Array<[string, () => Promise<void>]> = [
  ['explore dat://KEY verifies a backend found on the swarm and follows it as it grows', async () => {
    const host = await SwarmHost.start(testnet.bootstrap, 5)
    hosts.push(host)
    const explore = await spawnExplore([`dat://${host.logKey}`, '--bootstrap', bootstrap, '--timeout', '15'], { timeoutMs: 30_000 })
    await until(explore.url, (s) => s.verdict === 'ok' && s.verified === 6, 'the init entry and 5 calls verified')
    await host.calls(3)
    await until(explore.url, (s) => s.verdict === 'ok' && s.verified === 9, 'the 3 new calls verified')
    assert.is((await explore.stop('SIGTERM')).code, 0, explore.stderr())
  }],

  ['explore dat://KEY of a log nobody serves exits 2 after --timeout, naming the problem', async () => {
    const r = await runCli(['explore', `dat://${'cd'.repeat(32)}`, '--bootstrap', bootstrap, '--timeout', '1'])
    assert.is(r.code, 2, `${r.stdout}${r.stderr}`)
    assert.match(r.stderr, /No peer serving/)
    assert.not.match(r.stdout, 'Explorer at')
  }]
]

const where = await loopbackOnly(fileURLToPath(import.meta.url))
if (where === 'inside') {
  test.before(async () => {
    testnet = await loopbackTestnet()
    bootstrap = testnet.bootstrap.map((n) => `${n.host}:${n.port}`).join(',')
  })
  test.after(async () => {
    await stopAll()
    for (const h of hosts) await h.remove()
    await testnet?.destroy()
  })
  for (const [name, fn] of cases) test(name, fn)
  test.run()
} else if (where === 'skip') {
  for (const [name] of cases) test.skip(name, () => {})
  test.run()
}
