// A host killed between "answered" and "in the Hypercore": its callers were answered once their calls were in
// the answer journal, and the call log and files archive had not been written yet. The next start must
// complete both from the journal before it serves: every answered call is in the log, the files are where the
// log leaves them, and nodevms verify passes, over ws and offline.
// The host is a real `nodevms exec` child; NODEVMS_TEST_HOLD_CORE_WRITES=1 holds every core write after the
// journal's, so the kill always lands in that window.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { LogEntry } from '../../host/index.js'
import { JOURNAL_FILE, readJournal } from '../../host/answer-journal.js'
import { connect } from '../../client/node.js'
import { runCli, spawnCli, stopAll, tempDir } from '../cli/helpers.js'
import { LEDGER } from '../helpers.js'
import { openStore } from './stopped-store.js'

const CLIENTS = 4
const CALLS_EACH = 12

const test = suite('journal completion')
test.after(stopAll)

async function readStore (dir: string): Promise<{ entries: LogEntry[], driveVersion: number, files: string[] }> {
  const { log, drive, close } = await openStore(dir)
  try {
    const entries: LogEntry[] = []
    for await (const entry of log.read()) entries.push(entry)
    const files: string[] = []
    for await (const name of drive.readdir('/calls')) files.push(name as string)
    return { entries, driveVersion: drive.version, files }
  } finally {
    await close()
  }
}

/** The LEDGER script written into a new temp dir, and the DIR `ledger` beside it for its host. */
async function ledgerCopy (): Promise<{ cwd: string, script: string, dir: string }> {
  const cwd = await tempDir('nodevms-journal-')
  const script = join(cwd, 'ledger.js')
  await writeFile(script, LEDGER)
  return { cwd, script, dir: join(cwd, 'ledger') }
}

test('SIGKILL after the answers and before the cores are written: start-up completes the log and files, verify passes', async () => {
  const { cwd, script, dir } = await ledgerCopy()
  const held = await spawnCli(['exec', script, '--port', '0', '--dir', dir], { cwd, env: { ...process.env, NODEVMS_TEST_HOLD_CORE_WRITES: '1' } })
  const answered: number[] = []
  await Promise.all(Array.from({ length: CLIENTS }, async (_, id) => {
    const client = await connect(`127.0.0.1:${held.port}`)
    for (let i = 0; i < CALLS_EACH; i++) answered.push(await client.add(id) as number)
    await client.close()
  }))
  assert.equal([...answered].sort((a, b) => a - b), Array.from({ length: CLIENTS * CALLS_EACH }, (_, i) => i + 1), 'every call was answered')
  assert.is((await held.stop('SIGKILL')).signal, 'SIGKILL')

  // The window this test is about: answered, in the journal, not in the cores.
  const before = await readStore(dir)
  assert.equal(before.entries.map((e) => e.type), ['init'], 'the call log holds none of the answered calls yet')
  assert.equal(before.files, [], 'nor does the files archive')
  const journaled = readJournal(dir, held.logKey).records.reduce((n, record) => n + record.entries.length, 0)
  assert.is(journaled, answered.length, 'the journal holds every answered call')
  const stopped = await runCli(['verify', '--dir', dir, '--json'], { timeoutMs: 60_000 })
  assert.is(stopped.code, 0, stopped.stdout + stopped.stderr)
  const partial = JSON.parse(stopped.stdout) as { ok: boolean, entries: number, warnings: string[] }
  assert.is(partial.entries, 1, 'verify --dir checks the log as it is')
  assert.ok(partial.warnings.some((w) => w.includes(`holds ${answered.length} answered call(s) after the call log's last entry`)), `and says the journal holds the rest: ${partial.warnings.join(' | ')}`)

  // A damaged byte early in the journal must not quietly drop the answered calls recorded after it.
  const journalPath = join(dir, JOURNAL_FILE)
  const journalBytes = await readFile(journalPath)
  assert.ok(readJournal(dir, held.logKey).records.length > 1, 'the calls went into several records')
  const damagedCopy = Buffer.from(journalBytes)
  damagedCopy[40] ^= 0x20
  await writeFile(journalPath, damagedCopy)
  const refused = await runCli(['exec', script, '--port', '0', '--dir', dir], { cwd, timeoutMs: 60_000 })
  assert.is(refused.code, 1, refused.stdout + refused.stderr)
  assert.match(refused.stderr, /damaged: the answer journal \(JOURNAL\)/)
  assert.match(refused.stderr, /restore it from a backup/)
  assert.equal((await readStore(dir)).entries.map((e) => e.type), ['init'], 'the refused start wrote nothing')
  await writeFile(journalPath, journalBytes)

  const host = await spawnCli(['exec', script, '--port', '0', '--dir', dir], { cwd })
  assert.match(host.stderr(), new RegExp(`Completed the call log with ${answered.length} answered call`), 'start-up says what it completed')
  const online = await runCli(['verify', `127.0.0.1:${host.port}`, '--json'], { timeoutMs: 60_000 })
  assert.is(online.code, 0, online.stdout + online.stderr)
  const verdict = JSON.parse(online.stdout) as { ok: boolean, entries: number }
  assert.ok(verdict.ok)
  assert.is(verdict.entries, answered.length + 2, 'verify over ws checked init, every answered call and the restart entry')
  const client = await connect(`127.0.0.1:${host.port}`)
  assert.is(await client.add(-1), answered.length + 1, 'the host serves on from the completed files')
  await client.close()
  assert.equal(await host.stop('SIGTERM'), { code: 0, signal: null })

  const after = await readStore(dir)
  const results = after.entries.flatMap((e) => e.type === 'call' ? [e.result as number] : [])
  assert.equal(results, Array.from({ length: answered.length + 1 }, (_, i) => i + 1), 'every answered call is in the log, in order, once')
  assert.equal(after.entries.map((e) => e.type).filter((t) => t !== 'call'), ['init', 'restart'])
  assert.is(after.files.length, answered.length + 1, 'every call\'s file is in the archive')
  const last = after.entries[after.entries.length - 1]
  assert.is(after.driveVersion, 'filesVersion' in last ? last.filesVersion : -1, 'the drive is where the log leaves it')
  const offline = await runCli(['verify', '--dir', dir])
  assert.is(offline.code, 0, offline.stdout + offline.stderr)
})

test('a verifier that asks right after an answer is shown that call, while the cores are still behind the replies', async () => {
  const { cwd, script, dir } = await ledgerCopy()
  // The core writer would wait a minute for more calls: only a verifier's request makes it write sooner.
  const host = await spawnCli(['exec', script, '--port', '0', '--dir', dir], { cwd, env: { ...process.env, NODEVMS_TEST_CORE_DELAY_MS: '60000' } })
  const client = await connect(`127.0.0.1:${host.port}`)
  for (let i = 1; i <= 5; i++) assert.is(await client.add(0), i)
  const bulk = await runCli(['verify', `127.0.0.1:${host.port}`, '--json'], { timeoutMs: 60_000 })
  assert.is(bulk.code, 0, bulk.stdout + bulk.stderr)
  assert.is((JSON.parse(bulk.stdout) as { entries: number }).entries, 6, 'the block endpoint shows init and the 5 answered calls')
  for (let i = 6; i <= 8; i++) assert.is(await client.add(0), i)
  const replicated = await runCli(['verify', `127.0.0.1:${host.port}`, '--json', '--store', join(cwd, 'mirror')], { timeoutMs: 60_000 })
  assert.is(replicated.code, 0, replicated.stdout + replicated.stderr)
  assert.is((JSON.parse(replicated.stdout) as { entries: number }).entries, 9, 'replication shows init and the 8 answered calls')
  await client.close()
  assert.equal(await host.stop('SIGTERM'), { code: 0, signal: null })
})

test.run()
