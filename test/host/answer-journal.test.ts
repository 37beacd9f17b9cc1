// Reading the answer journal: which breaks in the chain are normal (a torn last write, records left over from
// before the journal started again) and which are damage (a whole newer record past the break).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { decodeRecords, encodeRecord, type JournalRecord } from '../../host/answer-journal.js'

const KEY = 'ab'.repeat(32)
const record = (start: number, count: number): JournalRecord => ({
  start,
  entries: Array.from({ length: count }, (_, i) => Buffer.from(`entry ${start + i}`)),
  content: [Buffer.from(`content of ${start}`)]
})
const bytes = (...records: JournalRecord[]) => Buffer.concat(records.flatMap((r) => encodeRecord(KEY, r)))
const starts = (data: Buffer) => decodeRecords(data, KEY).records.map((r) => r.start)

test('a whole chain reads back, entries and content included', () => {
  const { records, stray } = decodeRecords(bytes(record(5, 2), record(7, 3), record(10, 1)), KEY)
  assert.equal(records.map((r) => [r.start, r.entries.map(String)]), [[5, ['entry 5', 'entry 6']], [7, ['entry 7', 'entry 8', 'entry 9']], [10, ['entry 10']]])
  assert.is(records[1].content.toString(), 'content of 7')
  assert.is(stray, null)
})

test('a torn last record ends the chain and is no damage', () => {
  const whole = bytes(record(1, 2), record(3, 2), record(5, 2))
  for (const cut of [1, 10, 30, whole.byteLength - bytes(record(5, 2)).byteLength + 5]) {
    const torn = whole.subarray(0, whole.byteLength - cut)
    const read = decodeRecords(torn, KEY)
    assert.ok(read.records.length < 3, `cut ${cut}`)
    assert.is(read.stray, null, `cut ${cut}`)
  }
})

test('records left over from before the journal started again are older, and end the chain quietly', () => {
  const old = bytes(record(1, 4), record(5, 4), record(9, 4))
  const fresh = bytes(record(13, 2))
  const data = Buffer.concat([fresh, old.subarray(fresh.byteLength)])
  assert.equal(starts(data), [13])
  assert.is(decodeRecords(data, KEY).stray, null, 'a leftover record is older than the chain')
})

test('damage anywhere before a whole newer record is found, whatever byte it hits', () => {
  const parts = [record(1, 2), record(3, 2), record(5, 2)]
  const data = bytes(...parts)
  const secondStart = bytes(parts[0]).byteLength
  const lastStart = data.byteLength - bytes(parts[2]).byteLength
  for (let at = 0; at < lastStart; at += 3) {
    const damaged = Buffer.from(data)
    damaged[at] ^= 0x01
    const read = decodeRecords(damaged, KEY)
    const next = at < secondStart ? 3 : 5
    assert.equal(read.records.map((r) => r.start), at < secondStart ? [] : [1], `byte ${at}: the chain stops at the damaged record`)
    assert.equal(read.stray && [read.stray.start, read.stray.entries], [next, 2], `byte ${at}: the record of entries ${next}.. is found past the break`)
  }
})

test('records of another log are not this log\'s chain', () => {
  const other = Buffer.concat(encodeRecord('cd'.repeat(32), record(0, 1)))
  assert.equal(decodeRecords(other, KEY), { records: [], stray: null })
})

test.run()
