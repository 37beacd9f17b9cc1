import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { CaseOutcome } from './stack-cases.js'

const CASES = fileURLToPath(new URL('./stack-cases.js', import.meta.url))

function run (nodeArgs: string[], args: string[]): Promise<CaseOutcome[]> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [...nodeArgs, CASES, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    proc.stdout.on('data', (d) => { out += d })
    proc.stderr.on('data', (d) => { err += d })
    proc.on('error', reject)
    proc.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as CaseOutcome[]) : reject(new Error(`stack-cases ${nodeArgs.join(' ')} ${args.join(' ')} exited with ${code}: ${err}`))))
  })
}

test('deep recursion in every kind of built-in ends in the same QuickJS error at the same depth, whatever the host\'s stack', async () => {
  const [plain, small] = await Promise.all([run([], []), run(['--stack-size=500'], [])])
  const [big, inWorker] = await Promise.all([run(['--stack-size=2000'], []), run([], ['--in-worker'])])
  assert.ok(plain.length >= 20, 'twenty kinds of recursion were probed')
  for (const outcome of plain) {
    assert.is(outcome.error, undefined, `${outcome.kind}: the probing call itself completed (got ${JSON.stringify(outcome.error)})`)
    const result = outcome.result as { depth: number | null, error: string | null } | string | string[]
    const failures = typeof result === 'string' ? [result] : Array.isArray(result) ? result.filter((r) => r !== 'ok') : [result.error]
    assert.ok(failures.length > 0 && failures.every((f) => f !== null && /^(InternalError|SyntaxError|RangeError): /.test(f)), `${outcome.kind}: it ends in QuickJS's own error, not the host's (got ${JSON.stringify(result)})`)
  }
  const byKind = (outcomes: CaseOutcome[]) => Object.fromEntries(outcomes.map((o) => [o.kind, o]))
  assert.equal(byKind(small), byKind(plain), 'node --stack-size=500 gives the same depths, errors and gas as the default')
  assert.equal(byKind(big), byKind(plain), 'node --stack-size=2000 gives the same depths, errors and gas')
  assert.equal(byKind(inWorker), byKind(plain), 'an engine created inside a worker thread with a 1 MB stack gives the same')
})

test.run()
