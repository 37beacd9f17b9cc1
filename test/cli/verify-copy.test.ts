// Handing a stopped host's directory to an auditor (CONTRACT §4 verify --dir): the auditor's copy (cp -a)
// verifies like the original, verify --dir opens what it audits read-only and changes nothing in it, and a
// host never serves a copy (two hosts writing copies of one log would fork it).
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { connect } from '../../client/node.js'
import { PERSISTENT_COUNTER } from '../helpers.js'
import { runCli, spawnCli, stopAll, tempDir } from './helpers.js'
import { fingerprint } from './store-files.js'

const test = suite('verify --dir on a copy')
test.after.each(stopAll)

/** A host directory written by `nodevms exec` with `calls` calls, stopped with SIGTERM. */
async function stoppedHost (calls: number): Promise<{ root: string, dir: string, script: string }> {
  const root = await tempDir('nodevms-copy-')
  const script = join(root, 'counter.js')
  writeFileSync(script, PERSISTENT_COUNTER)
  const dir = join(root, 'host')
  const host = await spawnCli(['exec', script, '--dir', dir, '--port', '0'])
  const client = await connect(`localhost:${host.port}`)
  for (let i = 1; i <= calls; i++) assert.is(await client.increment(), i)
  await client.close()
  assert.is((await host.stop()).code, 0)
  return { root, dir, script }
}

test('verify --dir on a cp -a copy passes, and neither the copy nor the original changes by a byte', async () => {
  const { root, dir } = await stoppedHost(15)
  const copy = join(root, 'copy')
  execFileSync('cp', ['-a', dir, copy])
  const original = fingerprint(dir)
  const copied = fingerprint(copy)
  const result = await runCli(['verify', '--dir', copy])
  assert.is(result.code, 0, `verify --dir on the copy passes:\n${result.stdout}${result.stderr}`)
  assert.match(result.stdout, /Verified 16 entries: 15 calls/)
  assert.equal(fingerprint(copy), copied, 'every file of the copy has the same bytes, size and mtime, and no file came or went')
  const again = await runCli(['verify', '--dir', dir])
  assert.is(again.code, 0, 'verify --dir on the original passes too')
  assert.equal(fingerprint(dir), original, 'and the original is unchanged')
})

test('verify --dir refuses (exit 2) while exec serves the directory', async () => {
  const { dir, script } = await stoppedHost(3)
  const host = await spawnCli(['exec', script, '--dir', dir, '--port', '0'])
  const busy = await runCli(['verify', '--dir', dir])
  assert.is(busy.code, 2, `exit 2 while a host runs:\n${busy.stderr}`)
  assert.match(busy.stderr, /running nodevms host holds/)
  assert.is((await host.stop()).code, 0)
})

test('exec refuses to serve a copy of a host directory, saying why and what to do instead', async () => {
  const { root, dir, script } = await stoppedHost(2)
  const copy = join(root, 'copy')
  execFileSync('cp', ['-a', dir, copy])
  const before = fingerprint(copy)
  const served = await runCli(['exec', script, '--dir', copy, '--port', '0'])
  assert.is(served.code, 1, `exec on a copy exits 1:\n${served.stdout}${served.stderr}`)
  assert.match(served.stderr, /is a copy of a host directory/)
  assert.match(served.stderr, /nodevms verify --dir/)
  assert.not.match(served.stderr, /permissions/)
  assert.equal(fingerprint(copy), before, 'the copy is left as it was')
})

test.run()
