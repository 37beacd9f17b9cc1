import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createHash } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Corestore from 'corestore'
import Hyperdrive from 'hyperdrive'
import { DriveFiles, FilesTransaction, applyChanges, predictVersion, type Change } from '../../host/drive-files.js'
import { StateRoot, computeStateRoot } from '../../host/state-root.js'
import { HostError } from '../../host/errors.js'

interface Ctx { dir: string, store: Corestore, drive: Hyperdrive }
const test = suite<Ctx>('drive files', {} as Ctx)
const utf8 = (s: string) => new TextEncoder().encode(s)
const text = (d: Uint8Array | null) => d === null ? null : new TextDecoder().decode(d)

test.before.each(async (ctx) => {
  ctx.dir = await mkdtemp(join(tmpdir(), 'nodevms-drive-'))
  ctx.store = new Corestore(ctx.dir)
  ctx.drive = new Hyperdrive(ctx.store.session())
  await ctx.drive.ready()
})

test.after.each(async (ctx) => {
  await ctx.drive.close()
  await ctx.store.close()
  await rm(ctx.dir, { recursive: true, force: true })
})

async function rejectsWith (promise: Promise<unknown>, code: string, what: string): Promise<void> {
  try {
    await promise
  } catch (err) {
    assert.instance(err, HostError, what)
    assert.is((err as HostError).code, code, what)
    return
  }
  assert.unreachable(`${what}: expected ${code}`)
}

async function contents (files: DriveFiles): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>()
  for (const p of await files.list('/')) out.set(p, (await files.get(p))!)
  return out
}

test('DriveFiles reads, writes, deletes and lists files on the drive', async ({ drive }) => {
  const files = new DriveFiles(drive)
  await files.put('/b.txt', utf8('b'))
  await files.put('/a/x.txt', utf8('x'))
  await files.put('/a/sub/y.txt', utf8('y'))
  await files.put('/ab', utf8('not below /a'))
  assert.is(text(await files.get('/a/x.txt')), 'x')
  assert.is(await files.get('/missing'), null, 'a missing file is null')
  assert.equal(await files.list('/'), ['/a/sub/y.txt', '/a/x.txt', '/ab', '/b.txt'], 'list / is every file, sorted')
  assert.equal(await files.list('/a'), ['/a/sub/y.txt', '/a/x.txt'], 'list is strictly below dir')
  await files.del('/a/x.txt')
  await files.del('/never-existed')
  assert.is(await files.get('/a/x.txt'), null, 'deleted')
  const entry = await drive.entry('/b.txt')
  assert.equal(entry?.value.metadata, { sha256: createHash('sha256').update('b').digest('hex') }, 'sha256 kept in entry metadata')
})

test('stateRoot() is rebuilt from entry metadata, and falls back to blobs when metadata is missing or malformed', async ({ drive }) => {
  const files = new DriveFiles(drive)
  await files.put('/one', utf8('1'))
  await files.put('/two/three', utf8('3'))
  await drive.put('/raw', Buffer.from('no metadata'))
  await drive.put('/odd', Buffer.from('bad metadata'), { metadata: { sha256: 'nope' } })
  const expected = computeStateRoot(await contents(files))
  assert.is((await files.stateRoot()).digest(), expected)
  assert.is((await StateRoot.fromFiles(files)).digest(), expected, 'fromFiles agrees')
  assert.equal(await files.contentHash('/raw'), StateRoot.hashContent(utf8('no metadata')))
})

test('a transaction overlays its base: reads see writes, deletes hide base files, list merges', async ({ drive }) => {
  const base = new DriveFiles(drive)
  await base.put('/keep', utf8('k'))
  await base.put('/gone', utf8('g'))
  await base.put('/dir/old', utf8('o'))
  const tx = new FilesTransaction(base)
  await tx.put('/dir/new', utf8('n'))
  await tx.del('/gone')
  await tx.put('/keep', utf8('k2'))
  assert.is(text(await tx.get('/keep')), 'k2')
  assert.is(await tx.get('/gone'), null)
  assert.equal(await tx.list('/'), ['/dir/new', '/dir/old', '/keep'])
  assert.equal(await tx.list('/dir'), ['/dir/new', '/dir/old'])
  assert.is(text(await base.get('/gone')), 'g', 'the base is untouched')
  assert.equal(await base.list('/'), ['/dir/old', '/gone', '/keep'])
})

test('changes() are net, sorted, and leave out no-op writes and deletes of missing files', async ({ drive }) => {
  const base = new DriveFiles(drive)
  await base.put('/same', utf8('s'))
  await base.put('/b', utf8('b'))
  const tx = new FilesTransaction(base)
  await tx.put('/z', utf8('1'))
  await tx.put('/z', utf8('2'))        // last write wins
  await tx.put('/same', utf8('x'))
  await tx.put('/same', utf8('s'))     // back to the base content: no change
  await tx.del('/missing')             // nothing to delete
  await tx.put('/tmp', utf8('t'))
  await tx.del('/tmp')                 // created and removed: no change
  await tx.del('/b')
  const data = new Uint8Array([1, 2])
  await tx.put('/a', data)
  data[0] = 9                          // the transaction kept a copy
  assert.equal(tx.changes().map(([p, d]) => [p, d && Array.from(d)]), [['/a', [1, 2]], ['/b', null], ['/z', Array.from(utf8('2'))]])
})

test('each change is one bee block: the version after a call is predicted, and every call version can be checked out', async ({ drive }) => {
  const calls: Change[][] = [
    [['/a', utf8('1')], ['/b', utf8('2')]],
    [],
    [['/a', utf8('')], ['/b', null], ['/c/d', utf8('4')]],
    [['/c/d', null]]
  ]
  const versions: number[] = []
  let v = drive.version
  for (const changes of calls) versions.push(v = predictVersion(v, changes))
  const final = await applyChanges(drive, calls)
  assert.is(final, versions[versions.length - 1], 'applyChanges returns the predicted final version')
  assert.is(drive.version, final)

  const expected = [{ '/a': '1', '/b': '2' }, { '/a': '1', '/b': '2' }, { '/a': '', '/c/d': '4' }, { '/a': '' }]
  for (let i = 0; i < calls.length; i++) {
    const snap = DriveFiles.checkout(drive, versions[i])
    try {
      const got = Object.fromEntries([...await contents(snap)].map(([p, d]) => [p, text(d)]))
      assert.equal(got, expected[i], `files at call ${i}'s version ${versions[i]}`)
      await rejectsWith(snap.put('/x', utf8('x')), 'FILES_READ_ONLY', 'put on a checkout')
    } finally {
      await snap.close()
    }
  }
  assert.is((await new DriveFiles(drive).stateRoot()).digest(), computeStateRoot([['/a', utf8('')]]))
})

test('a checkout is read-only', async ({ drive }) => {
  await new DriveFiles(drive).put('/a', utf8('a'))
  const snap = DriveFiles.checkout(drive, drive.version)
  try {
    await rejectsWith(snap.put('/b', utf8('b')), 'FILES_READ_ONLY', 'put')
    await rejectsWith(snap.del('/a'), 'FILES_READ_ONLY', 'del')
    assert.is(text(await snap.get('/a')), 'a', 'reads work')
  } finally {
    await snap.close()
  }
  assert.is(text(await new DriveFiles(drive).get('/a')), 'a', 'closing the checkout leaves the drive open')
})

test('a transaction over a transaction sees pending changes (group commit) and its changes apply on top', async ({ drive }) => {
  const files = new DriveFiles(drive)
  await files.put('/n', utf8('0'))
  const pending = new FilesTransaction(files)
  const first = new FilesTransaction(pending)
  await first.put('/n', utf8('1'))
  const c1 = first.changes()
  for (const [p, d] of c1) d === null ? await pending.del(p) : await pending.put(p, d)
  const second = new FilesTransaction(pending)
  await second.put('/n', utf8('1')) // same as the pending state: not a change
  await second.put('/m', utf8('2'))
  const c2 = second.changes()
  assert.equal(c2.map(([p]) => p), ['/m'])
  const before = drive.version
  assert.is(await applyChanges(drive, [c1, c2]), before + 2)
})

test('versions inside one multi-block bee batch cannot be checked out (why each call gets its own batch)', async ({ drive }) => {
  const batch = drive.batch()
  await batch.put('/x', Buffer.from('1'))
  await batch.put('/y', Buffer.from('2'))
  await batch.flush()
  const mid = drive.checkout(drive.version - 1)
  try {
    let failed = false
    try { for await (const _ of mid.list('/')) { /* empty */ } } catch { failed = true }
    assert.ok(failed, 'hyperbee now indexes intermediate batch blocks: applyChanges could use one batch per group')
  } finally {
    await mid.close()
  }
})

test('files and metadata survive reopening the corestore', async (ctx) => {
  const files = new DriveFiles(ctx.drive)
  await files.put('/p', utf8('persist'))
  const key = ctx.drive.key
  const root = (await files.stateRoot()).digest()
  await ctx.drive.close()
  await ctx.store.close()
  ctx.store = new Corestore(ctx.dir)
  ctx.drive = new Hyperdrive(ctx.store.session(), key)
  await ctx.drive.ready()
  const reopened = new DriveFiles(ctx.drive)
  assert.is(text(await reopened.get('/p')), 'persist')
  assert.is((await reopened.stateRoot()).digest(), root)
})

test.run()
