// A restore of the script's memory that takes more than a second says how far it is on the host's progress
// output (stderr under exec): entries done / total and the rate; a quick one says nothing.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Host } from '../../host/host.js'

// Each call does fixed work (some 6 million QuickJS branches), so a replay of ten takes over a second on any machine.
const SCRIPT = 'let last = 0\nexports.work = (n) => { let x = last; for (let i = 0; i < n; i++) x = (x + i) % 1000003; last = x; return x }\nexports.quick = () => last\n'

async function restore (dir: string, calls: number, method: string, args: unknown[]): Promise<{ lines: string[], last: unknown, ms: number }> {
  const options = { source: SCRIPT, filename: 'work.js', dir, syncWrites: false, audit: false, checkpoints: false as const, warn: () => {} }
  const first = new Host(options)
  await first.ready()
  for (let k = 0; k < calls; k++) await first.call(method, args)
  await first.close()
  const lines: string[] = []
  const again = new Host({ ...options, progress: (line) => lines.push(line) })
  await again.ready()
  const last = (await again.call('quick')).result
  const ms = again.report.restored!.ms
  await again.close()
  return { lines, last, ms }
}

test('a restore of more than a second shows entries done / total and the rate; a quick one is silent', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'nodevms-progress-'))
  try {
    const slow = await restore(join(dir, 'slow'), 10, 'work', [2e6])
    assert.ok(slow.ms > 1000, `the restore took over a second (${Math.round(slow.ms)} ms)`)
    assert.ok(slow.lines.length >= 1, 'it said how far it was')
    assert.match(slow.lines.at(-1)!, /^Restoring the script's memory: 10 \/ 10 entries \(\d[\d,]* entries\/s\)$/, 'the last line: all done, of the total, and the rate')
    assert.ok(typeof slow.last === 'number' && slow.last !== 0, 'and the memory was restored')
    const quick = await restore(join(dir, 'quick'), 10, 'quick', [])
    assert.ok(quick.ms < 1000, `a quick restore (${Math.round(quick.ms)} ms)`)
    assert.equal(quick.lines, [], 'says nothing')
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test.run()
