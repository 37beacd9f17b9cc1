import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createEngine, MemoryFiles } from 'nodevms/engine'
import type { CallRecord, Files } from 'nodevms/engine'

// Files whose operations finish after random delays, in any order: a slow network drive.
class JitteryFiles extends MemoryFiles {
  private readonly jitter = () => new Promise<void>((resolve) => setTimeout(resolve, Math.floor(Math.random() * 4)))
  override async get (path: string) { await this.jitter(); return await super.get(path) }
  override async put (path: string, data: Uint8Array) { await this.jitter(); return await super.put(path, data) }
  override async del (path: string) { await this.jitter(); return await super.del(path) }
  override async list (dir: string) { await this.jitter(); return await super.list(dir) }
}

// Many operations started at once, none awaited in turn: the settle order is what the script sees.
const RACE = `
const fs = System.files
exports.race = async (n) => {
  const seen = []
  const ops = []
  for (let i = 0; i < n; i++) {
    const path = '/f' + (i % 5)
    ops.push(fs.writeFile(path, 'v' + i).then(() => seen.push('w' + i)))
    ops.push(fs.readFile(path).then((v) => seen.push('r' + i + '=' + v), (e) => seen.push('r' + i + '!' + e.name)))
    if (i % 7 === 0) ops.push(fs.readdir('/').then((l) => seen.push('ls' + l.length)))
    if (i % 11 === 0) ops.push(fs.unlink('/f' + ((i + 1) % 5)).then(() => seen.push('u' + i), (e) => seen.push('u' + i + '!' + e.name)))
    Promise.resolve().then(() => seen.push('tick' + i))
  }
  await Promise.all(ops)
  return seen
}
`

async function run (files: Files & { entries?: () => Array<[string, Uint8Array]> }): Promise<string> {
  const engine = await createEngine(RACE, { files })
  const records: CallRecord[] = []
  for (const n of [5, 40, 3]) records.push(await engine.call('race', [n]))
  await engine.close()
  const snapshot = (files as MemoryFiles).entries().map(([p, d]) => [p, Buffer.from(d).toString()])
  return JSON.stringify({ records, snapshot })
}

test('concurrent file operations settle in request order, so the record never depends on I/O timing', async () => {
  const reference = await run(new MemoryFiles())
  const parsed = JSON.parse(reference) as { records: CallRecord[] }
  const seen = parsed.records[0].result as string[]
  assert.is(seen[0], 'tick0', 'microtasks queued before any I/O run first')
  assert.ok(seen.indexOf('w0') < seen.indexOf('r0=v0'), 'a write settles before the read requested after it')
  assert.ok(seen.includes('r0=v0'), 'the read sees the write requested before it')
  for (let i = 0; i < 4; i++) {
    assert.is(await run(new JitteryFiles()), reference, `run ${i} over randomly delayed files gives the same records and files byte for byte`)
  }
})

test('a storage failure that is not the script\'s doing stops the engine instead of recording a false outcome', async () => {
  class BrokenFiles extends MemoryFiles {
    override async get (): Promise<Uint8Array | null> { throw new Error('disk on fire') }
  }
  const engine = await createEngine('exports.read = () => System.files.readFile("/x")', { files: new BrokenFiles() })
  await engine.call('read').then(() => assert.unreachable('the call must not produce a record'), (err: Error & { code?: string }) => {
    assert.is(err.code, 'STORAGE_FAILED', 'the failure is reported to the host as STORAGE_FAILED')
    assert.match(err.message, /disk on fire/, 'the message carries the cause')
  })
  await engine.call('read').then(() => assert.unreachable('a broken engine must stay stopped'), (err: Error & { code?: string }) => assert.is(err.code, 'STORAGE_FAILED', 'later calls are refused too'))
  await engine.close()
})

test.run()
