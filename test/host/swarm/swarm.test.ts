// The Dat network: a host announced on Hyperswarm, verify by log key alone, and a mirror that verifies
// as it follows. Runs only inside a loopback-only network namespace (see netns.ts) on a local testnet.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { fileURLToPath } from 'node:url'
import type { Testnet } from '@hyperswarm/testnet'
import crypto from 'hypercore-crypto'
import { openSwarmRemote, startSwarm, type DhtNode } from '../../../host/swarm/index.js'
import { verifyLog } from '../../../host/verify/index.js'
import { loopbackTestnet, SwarmHost, TestMirror } from './fixture.js'
import { loopbackOnly } from './netns.js'

const test = suite('swarm')
const where = await loopbackOnly(fileURLToPath(import.meta.url))

let testnet: Testnet
let bootstrap: DhtNode[]

const cases: Array<[string, () => Promise<void>]> = [
  ['a swarm refuses to start without bootstrap nodes (never the public DHT by default)', async () => {
    const host = await SwarmHost.start(bootstrap, 0).catch((err) => { throw err })
    try {
      const err = await startSwarm(host.host.store, { bootstrap: [] }).then(() => null, (e: unknown) => e as { code?: string })
      assert.is(err?.code, 'SWARM_NO_BOOTSTRAP', 'an empty bootstrap list is refused')
    } finally {
      await host.remove()
    }
  }],

  ['verify by the log key alone finds the host on the swarm and passes', async () => {
    const host = await SwarmHost.start(bootstrap, 25)
    try {
      const source = await openSwarmRemote(host.logKey, { bootstrap, timeoutMs: 15_000 })
      try {
        const report = await verifyLog(source.log, source.drive)
        assert.ok(report.ok, `verified: ${report.divergence?.message}`)
        assert.is(report.entries, 26, 'the init entry and 25 calls')
        assert.is(report.filesKey, host.host.filesKey, 'the files key came from the init entry')
      } finally {
        await source.close()
      }
    } finally {
      await host.remove()
    }
  }],

  ['verify by key fails with NO_PEERS within its timeout when nobody serves the log', async () => {
    const key = crypto.keyPair().publicKey.toString('hex')
    const started = Date.now()
    const err = await openSwarmRemote(key, { bootstrap, timeoutMs: 1500 }).then(async (s) => { await s.close(); return null }, (e: unknown) => e as { code?: string, message: string })
    assert.is(err?.code, 'NO_PEERS', `a clear error (${err?.message})`)
    assert.ok(Date.now() - started < 10_000, 'within the timeout, give or take the lookup')
  }],

  ['a mirror catches up, follows new calls, and verify passes from the mirror alone after the host stops', async () => {
    const host = await SwarmHost.start(bootstrap, 40)
    const mirror = await TestMirror.start(host.logKey, bootstrap)
    try {
      await mirror.untilVerified(41)
      await host.calls(10)
      await mirror.untilVerified(51)
      assert.is(mirror.mismatch, null, 'no mismatch on an honest host')
      assert.ok(mirror.verified.every((n, i) => i === 0 || n > mirror.verified[i - 1]), `each line is a new length: ${mirror.verified.join(', ')}`)
      await host.stop()
      const source = await openSwarmRemote(host.logKey, { bootstrap, timeoutMs: 15_000 })
      try {
        const report = await verifyLog(source.log, source.drive)
        assert.ok(report.ok, `verified from the mirror: ${report.divergence?.message}`)
        assert.is(report.entries, 51, 'every entry the host wrote')
      } finally {
        await source.close()
      }
    } finally {
      await mirror.remove()
      await host.remove()
    }
  }],

  ['a mirror reports files the host changed outside the log, and keeps serving', async () => {
    const host = await SwarmHost.start(bootstrap, 5)
    const mirror = await TestMirror.start(host.logKey, bootstrap)
    try {
      await mirror.untilVerified(6)
      await host.host.drive.put('/counter', Buffer.from('1000')) // with the host's own keys, not through a call
      const m = await mirror.untilMismatch()
      assert.is(m.kind, 'divergence')
      if (m.kind !== 'divergence') return
      assert.is(m.divergence.field, 'files.unlogged', m.message)
      assert.equal(m.divergence.paths, ['/counter'], 'the path that changed')
      assert.ok(mirror.mirror.swarm!.connections > 0, 'still connected: the mirror keeps serving')
    } finally {
      await mirror.remove()
      await host.remove()
    }
  }],

  ['a mirror reports a crafted entry signed with the host\'s key', async () => {
    const host = await SwarmHost.start(bootstrap, 3)
    const mirror = await TestMirror.start(host.logKey, bootstrap)
    try {
      await mirror.untilVerified(4)
      const last = await host.host.log.get(3)
      assert.is(last.type, 'call')
      if (last.type !== 'call') return
      // A call the script never made: the result is a lie, the rest looks right.
      await host.host.log.append([{ ...last, result: 1_000_000, changes: [], filesVersion: last.filesVersion }])
      const m = await mirror.untilMismatch()
      assert.is(m.kind, 'divergence', m.message)
      if (m.kind !== 'divergence') return
      assert.is(m.divergence.index, 4, 'the crafted entry')
      assert.is(m.divergence.field, 'result', m.message)
    } finally {
      await mirror.remove()
      await host.remove()
    }
  }],

  ['a mirror reports a host that truncates (rewrites) its log', async () => {
    const host = await SwarmHost.start(bootstrap, 6)
    const mirror = await TestMirror.start(host.logKey, bootstrap)
    try {
      await mirror.untilVerified(7)
      await host.host.log.core.truncate(4)
      await host.calls(2) // and writes another history on top
      const m = await mirror.untilMismatch()
      assert.is(m.kind, 'fork', m.message)
      assert.match(m.message, /truncated|signed two different/, m.message)
    } finally {
      await mirror.remove()
      await host.remove()
    }
  }],

  ['a mirror restarted on its directory reports a log rewritten while it was away', async () => {
    const host = await SwarmHost.start(bootstrap, 6)
    const first = await TestMirror.start(host.logKey, bootstrap)
    let second: TestMirror | null = null
    try {
      await first.untilVerified(7)
      await first.mirror.close()
      await host.host.log.core.truncate(3) // rewritten while no mirror was looking
      second = await TestMirror.start(host.logKey, bootstrap, { dir: first.mirror.dir })
      const m = await second.untilMismatch()
      assert.is(m.kind, 'fork', m.message)
      assert.match(m.message, /7 entries had been verified/, 'says what it had verified before the restart')
    } finally {
      await second?.mirror.close()
      await first.remove()
      await host.remove()
    }
  }]
]

if (where === 'inside') {
  test.before(async () => {
    testnet = await loopbackTestnet()
    bootstrap = testnet.bootstrap
  })
  test.after(async () => { await testnet?.destroy() })
  for (const [name, fn] of cases) test(name, fn)
  test.run()
} else if (where === 'skip') {
  for (const [name] of cases) test.skip(name, () => {})
  test.run()
}
