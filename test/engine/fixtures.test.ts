import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createEngine, replay, MemoryFiles } from 'nodevms/engine'
import { fixture, utf8 } from './fixture.js'

test('counter.js counts 1, 2, 3 as in the seed\'s REPL session', async () => {
  const engine = await createEngine(fixture('counter.js'))
  assert.equal(engine.methods, ['increment'], 'it exports increment')
  const results = [await engine.call('increment'), await engine.call('increment'), await engine.call('increment')].map((r) => r.result)
  assert.equal(results, [1, 2, 3], 'the counter counts')
  await engine.close()
})

test('persistent-counter.js starts at 1 on empty files and keeps counting across a restart', async () => {
  const files = new MemoryFiles()
  const first = await createEngine(fixture('persistent-counter.js'), { files })
  assert.is((await first.call('increment')).result, 1, 'the first call, with no /counter yet, gives 1')
  assert.is((await first.call('increment')).result, 2, 'the second gives 2')
  await first.close()
  assert.is(utf8(await files.get('/counter')), '2', '/counter holds the JSON number')
  const restarted = await createEngine(fixture('persistent-counter.js'), { files })
  assert.is((await restarted.call('increment')).result, 3, 'a restarted engine continues from the files')
  await restarted.close()
})

test('photo-album.js takes each photo name once and only once', async () => {
  const files = new MemoryFiles()
  const engine = await createEngine(fixture('photo-album.js'), { files })
  const png = Buffer.from([0x89, 0x50, 0x4e, 0x47]).toString('base64')
  const first = await engine.call('addPhoto', ['cat.png', png, 'base64'])
  assert.ok('result' in first && first.result === null, 'the first upload succeeds')
  assert.equal([...(await files.get('/photos/cat.png'))!], [0x89, 0x50, 0x4e, 0x47], 'the photo is stored as bytes')
  const second = await engine.call('addPhoto', ['cat.png', png, 'base64'])
  assert.equal(second.error, { name: 'Error', message: 'File already exists' }, 'the same name is refused')
  const [a, b] = await Promise.all([engine.call('addPhoto', ['dog.txt', 'woof']), engine.call('addPhoto', ['dog.txt', 'bark'])])
  assert.ok('result' in a && b.error?.message === 'File already exists', 'of two racing uploads, exactly the first wins (script-wide lock)')
  assert.is(utf8(await files.get('/photos/dog.txt')), 'woof', 'and its data is kept')
  await engine.close()
})

test('secure-counter.js lets only its owner increment', async () => {
  const engine = await createEngine(fixture('secure-counter.js'))
  assert.ok('result' in await engine.call('init', [], { caller: 'bob' }), 'bob becomes the owner')
  assert.is((await engine.call('init', [], { caller: 'eve' })).error?.message, 'I already have an owner!', 'nobody else can take over')
  assert.is((await engine.call('increment', [], { caller: 'bob' })).result, 0, 'the owner increments (from 0)')
  assert.is((await engine.call('increment', [], { caller: 'bob' })).result, 1, 'and again')
  assert.is((await engine.call('increment', [], { caller: 'eve' })).error?.message, 'You are not my owner!', 'others are refused')
  assert.is((await engine.call('increment')).error?.message, 'You are not my owner!', 'anonymous callers are refused')
  await engine.close()
})

test('every fixture replays from its own records', async () => {
  for (const [name, calls] of [
    ['counter.js', [['increment', []], ['increment', []]]],
    ['persistent-counter.js', [['increment', []], ['increment', []]]],
    ['photo-album.js', [['addPhoto', ['a', 'x']], ['addPhoto', ['a', 'y']]]],
    ['oracle.js', [['default', []], ['default', []]]],
    ['nondeterministic.js', [['default', []]]],
    ['rich.js', [['add', ['t', 'b c', ['x']]], ['stamp', ['s']], ['stats', [[1, 2, 3]]]]]
  ] as Array<[string, Array<[string, unknown[]]>]>) {
    const engine = await createEngine(fixture(name))
    const records = []
    for (const [m, a] of calls) records.push(await engine.call(m, a, { caller: 'c' }))
    await engine.close()
    assert.equal(await replay(fixture(name), records), { ok: true }, `${name} replays`)
  }
})

test.run()
