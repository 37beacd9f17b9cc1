import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { CallRecord } from 'nodevms/engine'

const WORKLOAD = fileURLToPath(new URL('./workload.js', import.meta.url))

function child (tz: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [WORKLOAD, ...args], { env: { ...process.env, TZ: tz }, stdio: ['ignore', 'inherit', 'pipe'] })
    let stderr = ''
    proc.stderr.on('data', (d) => { stderr += d })
    proc.on('error', reject)
    proc.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`workload (TZ=${tz}) exited with ${code}: ${stderr}`))))
  })
}

interface Run { records: CallRecord[], files: Array<[string, string]> }
interface Output { plain: Run, seeded: Run, hostOffset: number }

test('a replay in another process and time zone reproduces every record and file byte for byte', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nodevms-identity-'))
  try {
    const livePath = join(dir, 'live.json')
    const replayPath = join(dir, 'replay.json')
    await child('UTC', ['live', livePath])
    await child('Pacific/Kiritimati', ['replay', livePath, replayPath])
    const live = JSON.parse(readFileSync(livePath, 'utf8')) as Output
    const replayed = JSON.parse(readFileSync(replayPath, 'utf8')) as Output
    assert.is.not(live.hostOffset, replayed.hostOffset, 'the two processes really ran in different time zones')

    const all = [...live.plain.records, ...live.seeded.records]
    assert.ok(all.length >= 400, 'hundreds of calls ran')
    assert.ok(all.some((r) => r.oracles.length > 0), 'the workload recorded oracles')
    assert.ok(live.seeded.records.every((r) => typeof r.time === 'number' && typeof r.seed === 'string'), 'seeded calls recorded time and seed')
    assert.ok(all.some((r) => r.error?.name === 'GasExhaustedError'), 'some calls ran out of gas')
    assert.ok(all.some((r) => r.gas > 0 && r.result !== undefined), 'some calls used gas and returned')
    assert.ok(all.some((r) => r.error?.name === 'NotFoundError'), 'some calls hit missing files')
    assert.ok(live.plain.files.length > 20, 'the workload wrote many files')

    for (const part of ['plain', 'seeded'] as const) {
      live[part].records.forEach((r, i) => {
        const a = JSON.stringify(r)
        const b = JSON.stringify(replayed[part].records[i])
        if (a !== b) assert.fixture(b, a, `${part} record ${i} (${r.method}) differs in the replay`)
      })
      assert.is(JSON.stringify(replayed[part].records), JSON.stringify(live[part].records), `${part}: all records are identical byte for byte`)
      assert.is(JSON.stringify(replayed[part].files), JSON.stringify(live[part].files), `${part}: the final files are identical byte for byte`)
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test.run()
