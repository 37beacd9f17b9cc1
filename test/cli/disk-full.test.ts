// A full disk: the operator is told, callers get a clear refusal (-32010 "disk full", not -32603), nothing the
// host reports runs ahead of what is on disk, and the host serves again once space is freed, without a
// restart. Runs `nodevms exec` on a small tmpfs; skipped loudly where one cannot be mounted (needs root).
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmdirSync, statfsSync, unlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect } from '../../client/node.js'
import { RpcError } from '../../client/errors.js'
import type { CallEntry, LogEntry } from '../../host/index.js'
import { openStore } from '../host/stopped-store.js'
import { runCli, spawnCli, stopAll } from './helpers.js'

const FILLER = `exports.write = async function (name, kib) {
  await System.files.writeFile('/' + name, 'x'.repeat(kib * 1024))
  return kib
}
exports.count = async function () { return (await System.files.readdir('/')).length }
`
const DISK_FULL = -32010

const test = suite('a full disk')

/** Mounts an 8 MiB tmpfs at a new temp dir, or says why this process cannot. */
function smallDisk (): { mount: string, unmount (): void } | { skip: string } {
  const mount = mkdtempSync(join(tmpdir(), 'nodevms-full-'))
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', mount], { stdio: 'pipe' })
  } catch (err) {
    rmdirSync(mount)
    return { skip: String((err as { stderr?: Buffer }).stderr ?? (err as Error).message).trim() }
  }
  return {
    mount,
    unmount: () => {
      try { execFileSync('umount', [mount], { stdio: 'pipe' }) } catch { execFileSync('umount', ['-l', mount], { stdio: 'pipe' }) }
      rmdirSync(mount)
    }
  }
}

/** Runs `body` with FILLER at `script` and a host directory `dir` on a new small disk at `mount`; stops every CLI process and unmounts after. */
async function onSmallDisk (body: (disk: { mount: string, script: string, dir: string }) => Promise<void>): Promise<void> {
  const disk = smallDisk()
  if ('skip' in disk) return
  try {
    const script = join(disk.mount, 'filler.js')
    writeFileSync(script, FILLER)
    await body({ mount: disk.mount, script, dir: join(disk.mount, 'host') })
  } finally {
    await stopAll()
    disk.unmount()
  }
}

/** The RPC error a call was refused with (fails the test when it was not refused). */
async function refusal (call: () => Promise<unknown>, what: string): Promise<RpcError> {
  try {
    await call()
  } catch (err) {
    assert.instance(err, RpcError, `${what}: the refusal is an answer from the host, not a dropped connection: ${String(err)}`)
    return err as RpcError
  }
  assert.unreachable(`${what}: the call was not refused`)
  throw new Error('unreachable')
}

/** Writes a file that leaves about `leave` bytes free on the disk at dir. */
function fill (dir: string, leave: number): string {
  const stats = statfsSync(dir)
  const ballast = join(dir, 'ballast')
  writeFileSync(ballast, Buffer.alloc(Math.max(0, stats.bavail * stats.bsize - leave)))
  return ballast
}

const probe = smallDisk()
if ('skip' in probe) {
  process.stderr.write(`\nSKIPPED the disk-full tests: cannot mount a tmpfs (${probe.skip}). Run them as root.\n\n`)
} else {
  probe.unmount()
}
const maybe = 'skip' in probe ? test.skip : test

maybe('a full disk is refused with -32010 and reported to the operator; freeing space brings the host back', async () => {
  await onSmallDisk(async ({ mount, script, dir }) => {
    const host = await spawnCli(['exec', script, '--dir', dir, '--port', '0'])
    const client = await connect(`localhost:${host.port}`)
    const ballast = fill(mount, 1536 * 1024)
    let written = 0
    let refused: RpcError | null = null
    for (let i = 0; i < 100 && refused === null; i++) {
      try {
        await client.write(`f${i}`, 128)
        written++
      } catch (err) {
        assert.instance(err, RpcError, `the refusal is an answer from the host, not a dropped connection: ${String(err)}`)
        refused = err as RpcError
      }
    }
    assert.ok(refused !== null, 'the disk filled up')
    assert.is(refused!.code, DISK_FULL, `a full disk is refused with its own code, not ${refused!.code}: ${refused!.message}`)
    assert.match(refused!.message, /disk full/)
    assert.not.match(refused!.message, /Internal error/)
    assert.is((await refusal(() => client.count(), 'the next call')).code, DISK_FULL, 'the next call is refused the same way')
    // Nothing the host reports runs ahead of what is on disk: init + `written` calls, one file each.
    const info = await connect(`localhost:${host.port}`)
    assert.is(info.info!.callLogLength, 1 + written, 'handshake callLogLength: only the written calls')
    assert.is(info.info!.filesVersion, 1 + written, 'handshake filesVersion: only the written files')
    await info.close()
    assert.match(host.stderr(), /The disk holding .* is full/, 'the operator is told the disk is full')

    unlinkSync(ballast)
    const deadline = Date.now() + 20_000
    let count: unknown = null
    while (count === null && Date.now() < deadline) {
      try {
        count = await client.count()
      } catch (err) {
        assert.is((err as RpcError).code, DISK_FULL, 'until it reopens, the host keeps refusing the same way')
        await new Promise((resolve) => setTimeout(resolve, 250))
      }
    }
    assert.is(count, written, 'once space is freed, the same host process serves again, with every written file')
    assert.is(await client.write('after', 1), 1)
    assert.match(host.stderr(), /has room again/)
    await client.close()
    assert.is((await host.stop()).code, 0)
    const verified = await runCli(['verify', '--dir', dir])
    assert.is(verified.code, 0, `verify --dir passes after the full disk:\n${verified.stdout}${verified.stderr}`)
  })
})

maybe('calls in flight together when the disk fills, and while the host reopens its store, each get an answer; the log holds exactly the answered ones', async () => {
  await onSmallDisk(async ({ mount, script, dir }) => {
    const host = await spawnCli(['exec', script, '--dir', dir, '--port', '0'])
    const clients = await Promise.all(Array.from({ length: 4 }, () => connect(`localhost:${host.port}`)))
    const ballast = fill(mount, 1536 * 1024)
    const written: string[] = []
    /** Sends `n` writes from every client at once, none awaited before the next; keeps the names answered with a result. */
    const burst = async (tag: string, n: number): Promise<void> => {
      const names = clients.flatMap((_, c) => Array.from({ length: n }, (_, i) => `${tag}-${c}-${i}`))
      const outcomes = await Promise.allSettled(names.map((name, k) => clients[Math.floor(k / n)].write(name, 64)))
      outcomes.forEach((outcome, k) => {
        if (outcome.status === 'fulfilled') return written.push(names[k])
        assert.instance(outcome.reason, RpcError, `a refusal is an answer from the host, not a dropped connection: ${String(outcome.reason)}`)
        assert.is((outcome.reason as RpcError).code, DISK_FULL, `refused as a full disk: ${(outcome.reason as RpcError).message}`)
      })
    }
    await burst('a', 10) // 40 writes of 64 KiB against about 1.5 MiB free
    assert.ok(written.length < 40, `the disk filled up during the burst (${written.length} of 40 written)`)
    await burst('b', 5) // while the host refuses and tries to reopen its store
    unlinkSync(ballast)
    const deadline = Date.now() + 20_000
    let count: unknown = null
    while (count === null && Date.now() < deadline) {
      count = await clients[0].count().catch(async () => { await new Promise((resolve) => setTimeout(resolve, 250)); return null })
    }
    assert.is(count, written.length, 'every write answered with a result is in the files, and no other')
    await Promise.all(clients.map((c) => c.close()))
    assert.is((await host.stop()).code, 0)
    // The log: init, the answered writes (in some order), the restart of the reopened store, the count.
    const stopped = await openStore(dir)
    const entries: LogEntry[] = []
    try {
      for await (const entry of stopped.log.read()) entries.push(entry)
    } finally {
      await stopped.close()
    }
    const calls = entries.filter((e): e is CallEntry => e.type === 'call')
    assert.equal(calls.filter((e) => e.method === 'write').map((e) => e.args[0]).sort(), [...written].sort(), 'exactly the answered writes are logged')
    assert.equal(entries.map((e) => e.type === 'call' ? e.method : e.type), ['init', ...written.map(() => 'write'), 'restart', 'count'])
    const verified = await runCli(['verify', '--dir', dir])
    assert.is(verified.code, 0, `verify --dir passes:\n${verified.stdout}${verified.stderr}`)
  })
})

maybe('exec on a full disk exits 1 saying the disk is full, not that permissions are wrong', async () => {
  await onSmallDisk(async ({ mount, script, dir }) => {
    const host = await spawnCli(['exec', script, '--dir', dir, '--port', '0'])
    assert.is((await host.stop()).code, 0)
    const ballast = fill(mount, 0)
    const served = await runCli(['exec', script, '--dir', dir, '--port', '0'])
    assert.is(served.code, 1, `exit 1 on a full disk:\n${served.stdout}${served.stderr}`)
    assert.match(served.stderr, /The disk holding .* is full/)
    assert.not.match(served.stderr, /permissions/)
    unlinkSync(ballast)
    const again = await spawnCli(['exec', script, '--dir', dir, '--port', '0'])
    assert.is((await again.stop()).code, 0, 'with room again it starts')
  })
})

test.run()
