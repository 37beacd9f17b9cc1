// A call's log entry and the rule for one that would not fit in a Hypercore block (host/call-entry.ts).
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { callEntry, ENTRY_TOO_LARGE, MAX_ENTRY_BYTES, tooLarge } from '../../host/call-entry.js'
import { encodeEntry, LATER_BLOCK, logChanges } from '../../host/call-log.js'

const test = suite('call entries')

const record = { method: 'report', args: ['q3'], caller: null, oracles: [{ value: 'o'.repeat(2 * 1048576) }], gas: 12, result: 'r'.repeat(14 * 1048576) }
const changes = logChanges([['/a', new Uint8Array([1])], ['/gone', null]])

test('an entry too large for a block becomes an EntryTooLargeError that names each part by size, biggest first, and the limit', () => {
  const entry = callEntry(record, undefined, changes, { filesVersion: 9, stateRoot: 'b'.repeat(64) })
  const bytes = encodeEntry(entry, LATER_BLOCK).byteLength
  assert.ok(bytes > MAX_ENTRY_BYTES, `the example is too large (${bytes} bytes)`)
  const logged = tooLarge(entry, bytes, { filesVersion: 7, stateRoot: 'a'.repeat(64) })
  assert.is(logged.error?.name, ENTRY_TOO_LARGE)
  assert.match(logged.error!.message, /^report's log entry would take 16\.\d\d MiB, more than the 15\.00 MiB one entry may hold \(result 14\.00 MiB, oracle values 2\.00 MiB, file changes 0\.00 MiB, args 0\.00 MiB\)/)
  assert.is(logged.result, undefined, 'the result is not logged')
  assert.equal(logged.changes, [], 'no file changes')
  assert.is(logged.filesVersion, 7, 'the files stay where the call found them')
  assert.is(logged.stateRoot, 'a'.repeat(64))
  assert.equal(logged.oracles, record.oracles, 'the oracles are kept, so a replay runs the call the same way')
  assert.ok(encodeEntry(logged, LATER_BLOCK).byteLength < MAX_ENTRY_BYTES, 'and it fits')
})

test('a call entry keeps its fields in one order whatever the record\'s, so host and verifier measure the same bytes', () => {
  const a = callEntry({ ...record, result: 1 }, { debug: true }, changes, { filesVersion: 1, stateRoot: 'c'.repeat(64) })
  const { gas, method, ...rest } = { ...record, result: 1 }
  const b = callEntry({ gas, ...rest, method }, { debug: true }, changes, { filesVersion: 1, stateRoot: 'c'.repeat(64) })
  assert.is(JSON.stringify(a).length, JSON.stringify(b).length)
  assert.equal(Object.keys(a).slice(-4), ['auth', 'changes', 'filesVersion', 'stateRoot'])
})

test.run()
