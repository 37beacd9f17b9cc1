import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { CasesOutput } from './stack-cases.js'

const CASES = fileURLToPath(new URL('./stack-cases.js', import.meta.url))

function run (nodeArgs: string[], args: string[]): Promise<CasesOutput> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [...nodeArgs, CASES, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    proc.stdout.on('data', (d) => { out += d })
    proc.stderr.on('data', (d) => { err += d })
    proc.on('error', reject)
    proc.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as CasesOutput) : reject(new Error(`stack-cases ${nodeArgs.join(' ')} ${args.join(' ')} exited with ${code}: ${err}`))))
  })
}

const QUICKJS_ERROR = /^(InternalError|SyntaxError|RangeError): /

test('deep recursion in every kind of built-in ends in the same QuickJS error at the same depth, whatever the host\'s stack', async () => {
  // The default configuration finds each kind's first failing depth; the others run that depth and
  // the one below it, and must end the same way with the same gas.
  const plain = await run([], [])
  assert.ok(plain.cases.length >= 20, 'twenty kinds of recursion were probed')
  for (const { kind, depth, below, at } of plain.cases) {
    assert.type(depth, 'number', `${kind}: a depth fails`)
    assert.is(below.result, 'ok', `${kind}: depth ${depth! - 1} works`)
    assert.match(String(at.result), QUICKJS_ERROR, `${kind}: depth ${depth} ends in QuickJS's own error, not the host's (got ${JSON.stringify(at)})`)
  }
  assert.equal(plain.stringify.result, ['ok', 'InternalError: stack overflow'], 'JSON.stringify works 6,000 deep, and 17,000 deep is QuickJS\'s stack overflow')
  assert.is(plain.cyclic.result, 'InternalError: stack overflow', 'String of a cyclic array is QuickJS\'s stack overflow')
  const depths = JSON.stringify(Object.fromEntries(plain.cases.map((c) => [c.kind, c.depth])))
  const [small, big, inWorker] = await Promise.all([
    run(['--stack-size=500'], ['--depths', depths]),
    run(['--stack-size=2000'], ['--depths', depths]),
    run([], ['--in-worker', '--depths', depths])
  ])
  assert.equal(small, plain, 'node --stack-size=500 gives the same outcomes and gas as the default')
  assert.equal(big, plain, 'node --stack-size=2000 gives the same')
  assert.equal(inWorker, plain, 'an engine created inside a worker thread with a 1 MB stack gives the same')
})

test.run()
