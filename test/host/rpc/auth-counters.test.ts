// A restarted host still refuses a replayed signed call, and learns the counters from the snapshot it
// keeps beside the log instead of reading the whole log.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import crypto from 'hypercore-crypto'
import { Host } from '../../../host/index.js'
import { hostService } from '../../../host/rpc/index.js'
import { readCounterSnapshot } from '../../../host/counter-snapshot.js'
import { signCall } from '../../../client/node.js'

const source = 'let n = 0\nexports.increment = () => ++n\n'

test('a signed call replayed after a restart is refused with -32002, from the counter snapshot', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'nodevms-counters-'))
  const identity = crypto.keyPair()
  try {
    let host = new Host({ source, filename: 'c.js', dir, log: () => {} })
    await host.ready()
    const auth = signCall(identity, host.callLogKey, 'increment', [], 41)
    const service = hostService(host)
    const first = await service.call('increment', [], { caller: null, auth }, {})
    assert.equal(first, { result: 1 }, 'the signed call runs')
    for (let i = 0; i < 5; i++) await service.call('increment', [], { caller: null }, {})
    await host.settled() // the service answers once calls are durable; the log holds them right after
    const logged = host.log.length
    await host.close()

    host = new Host({ source, filename: 'c.js', dir, log: () => {} })
    await host.ready()
    try {
      const snapshot = await readCounterSnapshot(host.log)
      assert.ok(snapshot !== null, 'the snapshot is kept in the log core user data')
      assert.equal(snapshot!.counters[identity.publicKey.toString('hex')], 41, 'the snapshot holds the last counter of the key')
      assert.ok(snapshot!.length <= logged, 'the snapshot covers a prefix of the log')
      let refusal: { rpcCode?: number, data?: unknown } | null = null
      try {
        await hostService(host).call('increment', [], { caller: null, auth }, {})
      } catch (err) {
        refusal = err as { rpcCode?: number, data?: unknown }
      }
      assert.ok(refusal !== null, 'the replayed signed call is refused')
      assert.is(refusal!.rpcCode, -32002, 'as a stale counter')
      assert.equal(refusal!.data, { last: 41 }, 'naming the last accepted counter')
      assert.is(host.log.length, logged + 1, 'only the restart entry was appended: the refused call was not logged')
    } finally {
      await host.close()
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test.run()
