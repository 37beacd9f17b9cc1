// LogVerifier's per-entry events (what the explorer's page is built on): one per entry, in log order, as
// each is checked; the first wrong entry comes with its divergence and is the last event; an event handler
// that throws stops the replay there.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Host, type CallEntry, type LogEntry } from '../../../host/index.js'
import { LogVerifier, openHostDir, type VerifyDivergence } from '../../../host/verify/index.js'

const COUNTER = 'let i = 0\nexports.increment = function () { i++; return i }\n'

async function hostDir (calls: number, forge?: (log: Host['log']) => Promise<void>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'nodevms-entry-events-'))
  const host = new Host({ source: COUNTER, filename: 'counter.js', dir, warn: () => {}, log: () => {} })
  await host.ready()
  for (let n = 0; n < calls; n++) await host.call('increment')
  await forge?.(host.log)
  await host.close()
  return dir
}

type Event = [number, LogEntry['type'], VerifyDivergence | null]

async function events (dir: string, stopAt?: number): Promise<{ seen: Event[], verified: number, error: unknown }> {
  const source = await openHostDir(dir)
  const seen: Event[] = []
  const verifier = new LogVerifier(source.log, source.drive, {
    onEntry: (index, entry, divergence) => {
      seen.push([index, entry.type, divergence])
      if (index === stopAt) throw new Error('stop here')
    }
  })
  let error: unknown = null
  try {
    await verifier.advance().catch((err) => { error = err })
    return { seen, verified: verifier.verified, error }
  } finally {
    await verifier.close()
    await source.close()
  }
}

test('each entry is reported once, in order, with null when it is right', async () => {
  const dir = await hostDir(4)
  try {
    const { seen, verified } = await events(dir)
    assert.equal(seen, [[0, 'init', null], [1, 'call', null], [2, 'call', null], [3, 'call', null], [4, 'call', null]])
    assert.is(verified, 5)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test('the first wrong entry is reported with its divergence, and nothing after it', async () => {
  const dir = await hostDir(2, async (log) => {
    const real = await log.get(2) as CallEntry
    await log.append([{ ...real, result: 3, gas: real.gas + 1 }, { ...real, result: 4 }])
  })
  try {
    const { seen } = await events(dir)
    assert.equal(seen.map(([i, , d]) => [i, d === null ? null : d.field]), [[0, null], [1, null], [2, null], [3, 'gas']])
    assert.is(seen[3][2]!.index, 3)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test('a handler that throws stops the replay at that entry', async () => {
  const dir = await hostDir(4)
  try {
    const { seen, verified, error } = await events(dir, 2)
    assert.equal(seen.map(([i]) => i), [0, 1, 2])
    assert.is((error as Error).message, 'stop here')
    assert.is(verified, 2, 'the entry whose handler threw is not counted')
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test.run()
