import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createHash } from 'node:crypto'
import type { Files } from '../../engine/types.js'
import { StateRoot, computeStateRoot } from '../../host/state-root.js'
import { prng } from '../helpers.js'

const test = suite('state root')
const sha = (data: Uint8Array | string) => createHash('sha256').update(data).digest()
const utf8 = (s: string) => new TextEncoder().encode(s)

// The documented definition, spelled out for the two-file case, without any code from state-root.ts.
test('an auditor can recompute the root from the definition in the top comment', () => {
  const files: Array<[string, string]> = [['/a.txt', 'hello'], ['/dir/b.json', '{"n":1}']]
  const digests = Array.from({ length: 256 }, () => sha(''))
  const byBucket = new Map<number, Buffer[]>()
  for (const [path, content] of files) {
    const b = sha(path)[0]
    byBucket.set(b, [...(byBucket.get(b) ?? []), Buffer.concat([Buffer.from(path), Buffer.from([0]), sha(content)])])
  }
  for (const [b, leaves] of byBucket) digests[b] = sha(Buffer.concat(leaves.sort(Buffer.compare)))
  const expected = sha(Buffer.concat([Buffer.from('nodevms-state-root/1'), ...digests])).toString('hex')

  assert.is(computeStateRoot(files.map(([p, c]) => [p, utf8(c)])), expected, 'computeStateRoot follows the definition')
  const root = new StateRoot()
  for (const [p, c] of files) root.set(p, StateRoot.hashContent(utf8(c)))
  assert.is(root.digest(), expected, 'StateRoot follows the definition')
  assert.match(expected, /^[0-9a-f]{64}$/, 'the root is 64 lowercase hex')
})

test('the empty archive has the root of 256 empty buckets', () => {
  const expected = sha(Buffer.concat([Buffer.from('nodevms-state-root/1'), ...Array.from({ length: 256 }, () => sha(''))])).toString('hex')
  assert.is(new StateRoot().digest(), expected)
  assert.is(computeStateRoot([]), expected)
})

test('paths in one bucket are ordered by UTF-8 bytes, not UTF-16 code units', () => {
  // U+FF01 sorts after U+1F600 in UTF-16 (0xFF01 > 0xD83D) but before it in UTF-8 (EF < F0).
  let a = ''
  let b = ''
  for (let i = 0; !a; i++) {
    for (let j = 0; j < 64 && !a; j++) {
      if (sha(`/\uFF01${i}`)[0] === sha(`/\u{1F600}${j}`)[0]) { a = `/\uFF01${i}`; b = `/\u{1F600}${j}` }
    }
  }
  const leaf = (p: string, c: string) => Buffer.concat([Buffer.from(p), Buffer.from([0]), sha(c)])
  const digests = Array.from({ length: 256 }, () => sha(''))
  digests[sha(a)[0]] = sha(Buffer.concat([leaf(a, 'x'), leaf(b, 'y')]))
  const expected = sha(Buffer.concat([Buffer.from('nodevms-state-root/1'), ...digests])).toString('hex')
  const root = new StateRoot()
  root.set(b, sha('y'))
  root.set(a, sha('x'))
  assert.is(root.digest(), expected, 'incremental root sorts by bytes')
  assert.is(computeStateRoot([[b, utf8('y')], [a, utf8('x')]]), expected, 'reference root sorts by bytes')
})

test('the incremental root equals a from-scratch root after random puts, overwrites and deletes', () => {
  const rand = prng(42)
  const files = new Map<string, Uint8Array>()
  const root = new StateRoot()
  for (let step = 0; step < 3000; step++) {
    const path = `/d${Math.floor(rand() * 8)}/f${Math.floor(rand() * 400)}`
    if (rand() < 0.3) {
      files.delete(path)
      root.set(path, null) // deleting a missing file is a no-op
    } else {
      const content = utf8(`v${Math.floor(rand() * 5)}`)
      files.set(path, content)
      root.set(path, StateRoot.hashContent(content))
    }
    if (step % 250 === 0 || step === 2999) {
      assert.is(root.digest(), computeStateRoot(files), `root differs from the reference at step ${step}`)
      assert.is(root.size, files.size, `size differs at step ${step}`)
    }
  }
  for (const [path, content] of files) assert.equal(root.hashOf(path), sha(content), `hashOf(${path})`)
  assert.is(root.hashOf('/missing'), null)
})

test('the root does not depend on the order files were added', () => {
  const entries: Array<[string, Uint8Array]> = Array.from({ length: 500 }, (_, i) => [`/f${i}`, utf8(String(i))])
  const forward = new StateRoot()
  const backward = new StateRoot()
  for (const [p, c] of entries) forward.set(p, StateRoot.hashContent(c))
  for (const [p, c] of [...entries].reverse()) backward.set(p, StateRoot.hashContent(c))
  assert.is(forward.digest(), backward.digest())
})

test('fromFiles reads an archive through the Files interface', async () => {
  const map = new Map<string, Uint8Array>([['/x', utf8('1')], ['/y/z', utf8('22')]])
  const files: Files = {
    get: async (p) => map.get(p) ?? null,
    put: async (p, d) => { map.set(p, d) },
    del: async (p) => { map.delete(p) },
    list: async () => [...map.keys()].sort()
  }
  const root = await StateRoot.fromFiles(files)
  assert.is(root.digest(), computeStateRoot(map))
  assert.is(root.size, 2)
})

test('a one-file change on 10,000 files rehashes one bucket (sanity bound only)', () => {
  const root = new StateRoot()
  const files = new Map<string, Uint8Array>()
  for (let i = 0; i < 10_000; i++) {
    files.set(`/data/${i}.json`, utf8(`{"i":${i}}`))
    root.set(`/data/${i}.json`, StateRoot.hashContent(files.get(`/data/${i}.json`)!))
  }
  assert.is(root.digest(), computeStateRoot(files))
  const started = performance.now()
  root.set('/data/5000.json', StateRoot.hashContent(utf8('changed')))
  const after = root.digest()
  const ms = performance.now() - started
  files.set('/data/5000.json', utf8('changed'))
  assert.is(after, computeStateRoot(files), 'root after one change')
  assert.ok(ms < 20, `one change took ${ms.toFixed(2)} ms`)
  assert.is(root.digest(), after, 'digest is cached when nothing changed')
})

test('rejects a content hash that is not 32 bytes', () => {
  assert.throws(() => new StateRoot().set('/a', new Uint8Array(31)), /32 raw bytes/)
})

test.run()
