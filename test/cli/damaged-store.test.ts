// A damaged store is refused, never "repaired" into a shorter log: `exec` and `verify --dir` (real child
// processes) exit 1 and name the damaged part, for damage in each kind of RocksDB file of a stopped host
// (write-ahead log, manifest, CURRENT, table file), a truncated or removed write-ahead log (acknowledged calls
// gone), and leave a torn tail that lost nothing acknowledged alone.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { appendFileSync, openSync, readdirSync, readSync, statSync, truncateSync, unlinkSync, writeFileSync, writeSync, closeSync } from 'node:fs'
import { join } from 'node:path'
import { Host } from '../../host/index.js'
import { PERSISTENT_COUNTER } from '../helpers.js'
import { runCli, spawnCli, stopAll, tempDir } from './helpers.js'
import { fingerprint } from './store-files.js'

const test = suite('a damaged store')
test.after.each(stopAll)

interface Stopped { dir: string, script: string }

/**
 * A stopped host directory written by two sessions of 12 calls each: the first session's write-ahead log
 * became a table file (.sst) when the second opened, and the second's calls are in the live log.
 */
async function stoppedHost (): Promise<Stopped> {
  const root = await tempDir('nodevms-damage-')
  const script = join(root, 'counter.js')
  writeFileSync(script, PERSISTENT_COUNTER)
  const dir = join(root, 'host')
  for (let session = 0; session < 2; session++) {
    const host = new Host({ source: PERSISTENT_COUNTER, filename: 'counter.js', dir, warn: () => {}, audit: false })
    await host.ready()
    for (let i = 0; i < 12; i++) await host.call('increment')
    await host.close()
  }
  return { dir, script }
}

function dbFile (dir: string, pattern: RegExp): string {
  const name = readdirSync(join(dir, 'db')).find((n) => pattern.test(n))
  if (name === undefined) throw new Error(`no ${pattern} in ${dir}/db: ${readdirSync(join(dir, 'db')).join(', ')}`)
  return join(dir, 'db', name)
}

/** Flips every bit of one byte at `at` (a fraction of the file's size). */
function flipByte (file: string, at: number): void {
  const fd = openSync(file, 'r+')
  const pos = Math.floor(statSync(file).size * at)
  const byte = Buffer.alloc(1)
  readSync(fd, byte, 0, 1, pos)
  byte[0] ^= 0xff
  writeSync(fd, byte, 0, 1, pos)
  closeSync(fd)
}

/** verify --dir, then exec, on the damaged dir: both exit 1 naming `part`, and verify changed nothing. */
async function refused (host: Stopped, part: RegExp, what: string): Promise<void> {
  const before = fingerprint(host.dir)
  const verified = await runCli(['verify', '--dir', host.dir])
  assert.is(verified.code, 1, `${what}: verify --dir exits 1 (a runtime failure), got ${verified.code}\n${verified.stdout}${verified.stderr}`)
  assert.match(verified.stderr, part, `${what}: verify --dir names the damaged part`)
  assert.match(verified.stderr, /restore it from a backup, or verify the log from a mirror/, `${what}: verify --dir says what to do`)
  assert.equal(fingerprint(host.dir), before, `${what}: verify --dir changed nothing in the directory`)
  const served = await runCli(['exec', host.script, '--dir', host.dir, '--port', '0'], { timeoutMs: 30_000 })
  assert.is(served.code, 1, `${what}: exec exits 1 instead of serving, got ${served.code ?? served.signal}\n${served.stdout}${served.stderr}`)
  assert.match(served.stderr, part, `${what}: exec names the damaged part`)
  assert.not.match(served.stderr, /permissions/, `${what}: damage is not blamed on permissions`)
}

const WAL = /damaged: the write-ahead log \(db\/\d+\.log\) cannot be read/

test('a flipped byte in the middle of the write-ahead log', async () => {
  const host = await stoppedHost()
  flipByte(dbFile(host.dir, /\.log$/), 0.5)
  await refused(host, WAL, 'WAL flip')
})

test('a flipped byte in the manifest', async () => {
  const host = await stoppedHost()
  flipByte(dbFile(host.dir, /^MANIFEST-/), 0.5)
  await refused(host, /damaged: the manifest \(db\/MANIFEST-\d+\) cannot be read/, 'MANIFEST flip')
})

test('a flipped byte in CURRENT', async () => {
  const host = await stoppedHost()
  flipByte(join(host.dir, 'db', 'CURRENT'), 0.3)
  await refused(host, /damaged: the CURRENT file \(db\/CURRENT\) cannot be read/, 'CURRENT flip')
})

test('a flipped byte in a table file (.sst) that opening the store does not read', async () => {
  const host = await stoppedHost()
  flipByte(dbFile(host.dir, /\.sst$/), 0.4)
  await refused(host, /damaged: a table file \(db\/\d+\.sst\) cannot be read/, 'SST flip')
})

test('a truncated write-ahead log that lost acknowledged calls', async () => {
  const host = await stoppedHost()
  const wal = dbFile(host.dir, /\.log$/)
  truncateSync(wal, Math.floor(statSync(wal).size * 0.7)) // a cut through the second session's calls
  await refused(host, /holds less than its host acknowledged: the call log has \d+ blocks, but the host acknowledged calls up to 26.*write-ahead log \(db\/\d+\.log\)/, 'WAL truncated')
})

test('a removed write-ahead log', async () => {
  const host = await stoppedHost()
  unlinkSync(dbFile(host.dir, /\.log$/))
  await refused(host, /holds less than its host acknowledged/, 'WAL removed')
})

test('a torn tail that lost nothing acknowledged is accepted: the host starts and verify passes', async () => {
  const host = await stoppedHost()
  // What a power cut can leave after the last sync: the file grew, its new blocks were never written.
  appendFileSync(dbFile(host.dir, /\.log$/), Buffer.alloc(6000))
  const verified = await runCli(['verify', '--dir', host.dir])
  assert.is(verified.code, 0, `verify --dir passes:\n${verified.stdout}${verified.stderr}`)
  assert.match(verified.stdout, /Verified 26 entries/)
  const served = await spawnCli(['exec', host.script, '--dir', host.dir, '--port', '0'])
  assert.is((await served.stop()).code, 0, 'exec served and stopped cleanly')
})

test.run()
