// verify's bulk fetch over a host's block endpoint: on an honest host it reaches the same verdict, and the same
// signed tree, as Hypercore replication; a host that lies in any way the protocol allows (a block that does not
// hash to the tree, a tree signed by another key, a truncated or forked log, frames out of order, oversized or
// malformed) fails verify with an error that names the lie, and never hangs.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtemp, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Corestore from 'corestore'
import type Hypercore from 'hypercore'
import crypto from 'hypercore-crypto'
import type { WebSocket } from 'ws'
import { Host } from '../../../host/host.js'
import { decodeReply, encodeReply, type BlockReply, type HeadReply } from '../../../host/block-frames.js'
import { HostError } from '../../../host/errors.js'
import { BlockServer } from '../../../host/rpc/block-server.js'
import { hostService, RpcServer, type Service } from '../../../host/rpc/index.js'
import { openBulk, type BulkOptions } from '../../../host/verify/bulk-source.js'
import { RemoteCoreSession } from '../../../host/verify/remote-core.js'
import { openRemote, verifyLog, type VerifyReport, type VerifySource } from '../../../host/verify/index.js'
import { PERSISTENT_COUNTER } from '../../helpers.js'
import { runCli } from '../../cli/helpers.js'

const COUNTER = 'let i = 0\nexports.increment = function () { i++; return i }\n'
const NOTES = PERSISTENT_COUNTER + `exports.note = async (name, text) => { await System.files.writeFile('/notes/' + name, text); return name }\n`

const hypercoreRequire = createRequire(createRequire(import.meta.url).resolve('hypercore'))
const Verifier = hypercoreRequire('./lib/verifier.js')
const caps = hypercoreRequire('./lib/caps.js')

interface Ctx { dir: string, closers: Array<() => Promise<unknown>> }
const test = suite<Ctx>('bulk fetch')
test.before.each(async (ctx) => {
  ctx.dir = await mkdtemp(join(tmpdir(), 'nodevms-bulk-'))
  ctx.closers = []
})
test.after.each(async (ctx) => {
  for (const close of ctx.closers.reverse()) await close().catch(() => {})
  await rm(ctx.dir, { recursive: true, force: true })
})

async function startHost (ctx: Ctx, source: string, calls: number, name = 'host'): Promise<Host> {
  const host = new Host({ source, filename: 'script.js', dir: join(ctx.dir, name), warn: () => {}, log: () => {} })
  await host.ready()
  ctx.closers.push(() => host.close())
  let made = 0
  await Promise.all(Array.from({ length: 16 }, async () => { while (made < calls) { made++; await host.call('increment') } }))
  return host
}

/** Serves the host over a real RpcServer; `serveBlocks` replaces its block endpoint (a lying host), null drops it. */
async function serve (ctx: Ctx, host: Host, serveBlocks?: ((ws: WebSocket) => void) | null): Promise<string> {
  const service: Service = { ...hostService(host) }
  if (serveBlocks === null) delete service.serveBlocks
  else if (serveBlocks !== undefined) service.serveBlocks = serveBlocks
  const server = new RpcServer({ service, host: '127.0.0.1', port: 0, onError: () => {} })
  await server.open()
  ctx.closers.push(() => server.close())
  return `127.0.0.1:${server.port}`
}

const cores = (host: Host) => (): Hypercore[] => [host.log.core, host.drive.db.core, host.drive.blobs.core]

type Request = { id: number, op: string, key: string, start?: number, end?: number, length?: number, from?: number }
/** What a lying block endpoint does with one request: the honest reply (decoded) in, bytes to send (or nothing) out. */
type Lie = (request: Request, honest: { header: BlockReply, payload: Buffer }, send: (bytes: Buffer | string) => void) => void | Promise<void>

/** A block endpoint that answers through the host's own BlockServer, then lets `lie` change or drop each reply. */
function lyingBlocks (host: Host, lie: Lie): (ws: WebSocket) => void {
  const honest = new BlockServer(cores(host))
  return (ws) => {
    let chain = Promise.resolve()
    ws.on('message', (data) => {
      chain = chain.then(async () => {
        const request = JSON.parse(String(data)) as Request
        const { header, payload } = decodeReply(await honest.answer(String(data)))
        await lie(request, { header: header as BlockReply, payload }, (bytes) => { if (ws.readyState === ws.OPEN) ws.send(bytes) })
      })
    })
  }
}

const honestly: Lie = (_, { header, payload }, send) => send(encodeReply(header, [payload]))
const keyOf = (core: Hypercore) => core.key!.toString('hex')

/** A head for `core` at `length` (≤ its length), signed by `keyPair` (default: the core's own key). */
async function signedHead (core: Hypercore, id: number, length: number, keyPair?: { publicKey: Buffer, secretKey: Buffer }): Promise<HeadReply> {
  const proof = await (core as any).proof({ upgrade: { start: 0, length } })
  const roots = proof.upgrade.nodes as Array<{ index: number, size: number, hash: Buffer }>
  const hash = crypto.tree(roots)
  const batch = { length, fork: core.fork, hash: () => hash, signable: (ns: Buffer) => caps.treeSignable(ns, hash, length, core.fork) }
  const verifier = Verifier.fromManifest((core as any).manifest)
  const signature: Buffer = keyPair === undefined
    ? verifier.sign(batch, (core as any).keyPair)
    : verifier.assemble([{ signer: 0, signature: crypto.sign(batch.signable(core.key!), keyPair.secretKey), patch: 0, nodes: null }])
  return {
    id, type: 'head', key: keyOf(core), manifest: (core as any).getManifest({ raw: true }).toString('hex'), length, fork: core.fork,
    signature: signature.toString('hex'), roots: roots.map((r) => ({ index: r.index, size: r.size, hash: r.hash.toString('hex') }))
  }
}

async function verifyAt (url: string, opts?: BulkOptions & { logKey: string, filesKey: string }): Promise<VerifyReport> {
  const source: VerifySource | null = opts === undefined ? await openRemote(url) : await openBulk(url, opts.logKey, opts.filesKey, opts)
  if (source === null) throw new Error('the host has no block endpoint')
  try {
    return await verifyLog(source.log, source.drive)
  } finally {
    await source.close()
  }
}

/** The HostError (or ClientError) verify fails with; fails the test when verify passes or hangs. */
async function refusal (run: Promise<unknown>, ms = 20_000): Promise<HostError> {
  let timer: NodeJS.Timeout | undefined
  const hung = new Promise((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`verify did not finish within ${ms} ms: a hang`)), ms) })
  try {
    await Promise.race([run, hung])
  } catch (err) {
    if ((err as Error).message.includes('a hang')) throw err
    return err as HostError
  } finally {
    clearTimeout(timer)
  }
  throw new Error('verify passed a lying host')
}

const keys = (host: Host) => ({ logKey: host.callLogKey, filesKey: host.filesKey })
const same = (a: VerifyReport, b: VerifyReport) => ({ ok: a.ok === b.ok, entries: a.entries === b.entries, calls: a.calls === b.calls, stateRoot: a.stateRoot === b.stateRoot, filesVersion: a.filesVersion === b.filesVersion })

test('an honest host: bulk fetch and Hypercore replication give the same verdict, and the same tree hash as core.treeHash()', async (ctx) => {
  const host = await startHost(ctx, NOTES, 40)
  await host.call('note', ['big', 'x'.repeat(150_000)]) // a blob of three 64 KiB blocks
  for (let i = 0; i < 20; i++) await host.call('note', [`n${i}`, `text ${i}`])
  const url = await serve(ctx, host)
  const source = await openRemote(url, {})
  let bulk: VerifyReport
  try {
    bulk = await verifyLog(source.log, source.drive)
    assert.instance(source.log.core, RemoteCoreSession, 'openRemote fetched in bulk')
    const hex = async (core: { treeHash (): Promise<Buffer> }) => (await core.treeHash()).toString('hex')
    assert.is(await hex(source.log.core), await hex(host.log.core), 'the call log: the tree hash Hypercore computes')
    assert.is(await hex(source.drive.db.core), await hex(host.drive.db.core), 'the files archive\'s hyperbee core')
    assert.is(await hex((await source.drive.getBlobs()).core), await hex(host.drive.blobs.core), 'its blobs core')
  } finally {
    await source.close()
  }
  const replicated = await openRemote(url, { fetch: 'replicate' })
  let replication: VerifyReport
  try {
    replication = await verifyLog(replicated.log, replicated.drive)
  } finally {
    await replicated.close()
  }
  assert.ok(bulk.ok, bulk.divergence?.message)
  assert.is(bulk.entries, host.log.length)
  assert.equal(same(bulk, replication), { ok: true, entries: true, calls: true, stateRoot: true, filesVersion: true }, 'the same verdict both ways')
})

test('a log longer than a frame, in small frames read ahead: every frame checked, the same verdict', async (ctx) => {
  const host = await startHost(ctx, COUNTER, 300)
  const url = await serve(ctx, host)
  const report = await verifyAt(url, { ...keys(host), frameBlocks: 16 })
  assert.ok(report.ok, report.divergence?.message)
  assert.is(report.entries, 301)
})

test('a live host: calls that land while verify reads are followed, each newer tree checked to extend the last', async (ctx) => {
  const host = await startHost(ctx, COUNTER, 100)
  const url = await serve(ctx, host)
  let stop = false
  const writer = (async () => { while (!stop) await host.call('increment') })()
  try {
    const report = await verifyAt(url, { ...keys(host), frameBlocks: 8 })
    assert.ok(report.ok, report.divergence?.message)
    assert.ok(report.entries >= 101)
  } finally {
    stop = true
    await writer
  }
})

test('a host without the block endpoint is verified over Hypercore replication instead', async (ctx) => {
  const host = await startHost(ctx, COUNTER, 20)
  const url = await serve(ctx, host, null)
  const source = await openRemote(url)
  try {
    assert.not.instance(source.log.core, RemoteCoreSession, 'a replicated Hypercore, not a bulk session')
    assert.ok((await verifyLog(source.log, source.drive)).ok)
  } finally {
    await source.close()
  }
})

test('a block that does not hash to the signed tree, in the log, the hyperbee or the blobs core: BLOCKS_REFUSED naming it', async (ctx) => {
  const host = await startHost(ctx, NOTES, 10)
  await host.call('note', ['a', 'hello'])
  for (const [name, core] of [['log', host.log.core], ['files', host.drive.db.core], ['files.blobs', host.drive.blobs.core]] as const) {
    const url = await serve(ctx, host, lyingBlocks(host, (request, { header, payload }, send) => {
      if (header.type === 'blocks' && request.key === keyOf(core) && payload.byteLength > 0) {
        const forged = Buffer.from(payload)
        forged[forged.byteLength - 1] ^= 1 // the last byte of the last block
        return send(encodeReply(header, [forged]))
      }
      send(encodeReply(header, [payload]))
    }))
    const err = await refusal(openRemote(url).then(async (s) => { try { return await verifyLog(s.log, s.drive) } finally { await s.close() } }))
    assert.instance(err, HostError)
    assert.is(err.code, 'BLOCKS_REFUSED', err.message)
    assert.is((err.data as { field: string }).field, `${name}.blocks`)
    assert.match(err.message, /do(es)? not hash to the tree it signed/)
  }
})

test('nodevms verify --json against a host that forges a block: exit 1, the divergence names the field', async (ctx) => {
  const host = await startHost(ctx, COUNTER, 30)
  const url = await serve(ctx, host, lyingBlocks(host, (request, { header, payload }, send) => {
    if (header.type === 'blocks' && request.key === host.callLogKey) {
      const forged = Buffer.from(payload)
      forged[0] ^= 1
      return send(encodeReply(header, [forged]))
    }
    send(encodeReply(header, [payload]))
  }))
  const { code, stdout } = await runCli(['verify', url, '--json'], { timeoutMs: 60_000 })
  assert.is(code, 1, stdout)
  const verdict = JSON.parse(stdout) as { ok: boolean, divergence?: { field: string }, error?: { code: string, message: string } }
  assert.is(verdict.ok, false)
  assert.is(verdict.error?.code, 'BLOCKS_REFUSED')
  assert.is(verdict.divergence?.field, 'log.blocks')
  assert.match(verdict.error!.message, /block 0\.\.\d+ do not hash|blocks 0\.\.\d+ do not hash/)
})

test('a tree signed by another key, or a manifest of another key: BLOCKS_REFUSED on the signature', async (ctx) => {
  const host = await startHost(ctx, COUNTER, 10)
  const other = crypto.keyPair()
  const bySomeoneElse = await serve(ctx, host, lyingBlocks(host, async (request, honest, send) => {
    if (honest.header.type === 'head' && request.key === host.callLogKey) return send(encodeReply(await signedHead(host.log.core, request.id, host.log.length, other)))
    honestly(request, honest, send)
  }))
  let err = await refusal(verifyAt(bySomeoneElse))
  assert.is(err.code, 'BLOCKS_REFUSED', err.message)
  assert.is((err.data as { field: string }).field, 'log.signature')
  assert.match(err.message, /does not verify with its key/)

  const foreign = new Corestore(join(ctx.dir, 'foreign'))
  ctx.closers.push(() => foreign.close())
  const stranger = foreign.get({ name: 'x' })
  await stranger.append(['a', 'b'])
  const otherManifest = await serve(ctx, host, lyingBlocks(host, (request, honest, send) => {
    if (honest.header.type === 'head' && request.key === host.callLogKey) {
      return send(encodeReply({ ...honest.header, manifest: (stranger as any).getManifest({ raw: true }).toString('hex') }))
    }
    honestly(request, honest, send)
  }))
  err = await refusal(verifyAt(otherManifest))
  assert.is(err.code, 'BLOCKS_REFUSED', err.message)
  assert.match(err.message, /manifest does not hash to its key/)
})

test('a log truncated while verify reads it (a shorter tree, signed by the real key): BLOCKS_REFUSED on the history', async (ctx) => {
  const host = await startHost(ctx, COUNTER, 40)
  let heads = 0
  const url = await serve(ctx, host, lyingBlocks(host, async (request, honest, send) => {
    // The first head is honest; once the verifier asks again (it follows a live log), the host shows a shorter one.
    if (honest.header.type === 'head' && request.key === host.callLogKey && ++heads > 1) return send(encodeReply(await signedHead(host.log.core, request.id, 20)))
    honestly(request, honest, send)
  }))
  const err = await refusal(verifyAt(url))
  assert.is(err.code, 'BLOCKS_REFUSED', err.message)
  assert.is((err.data as { field: string }).field, 'log.history')
  assert.match(err.message, /truncated/)
})

test('a forked log (another history under the same key): BLOCKS_REFUSED, for its blocks and for its newer tree', async (ctx) => {
  const host = await startHost(ctx, COUNTER, 30)
  const forkStore = new Corestore(join(ctx.dir, 'fork'))
  ctx.closers.push(() => forkStore.close())
  const fork = forkStore.get({ keyPair: (host.log.core as any).keyPair }) as Hypercore
  await fork.ready()
  assert.is(keyOf(fork), host.callLogKey, 'the same key: the host signs both histories')
  for (let i = 0; i < 40; i++) await fork.append(Buffer.from(`another history, block ${i}`))
  const forkServer = new BlockServer(() => [fork])

  // Blocks from the fork under the honest tree.
  const mixed = await serve(ctx, host, lyingBlocks(host, async (request, honest, send) => {
    if (honest.header.type === 'blocks' && request.key === host.callLogKey) {
      const { header, payload } = decodeReply(await forkServer.answer(JSON.stringify({ ...request, length: Math.min(request.length!, fork.length) })))
      return send(encodeReply({ ...(header as BlockReply), id: request.id }, [payload]))
    }
    honestly(request, honest, send)
  }))
  let err = await refusal(verifyAt(mixed))
  assert.is(err.code, 'BLOCKS_REFUSED', err.message)
  assert.is((err.data as { field: string }).field, 'log.blocks')

  // A newer tree that is the fork's: it does not extend the tree verified before.
  let heads = 0
  const forked = await serve(ctx, host, lyingBlocks(host, async (request, honest, send) => {
    if (honest.header.type === 'head' && request.key === host.callLogKey && ++heads > 1) {
      const { header } = decodeReply(await forkServer.answer(JSON.stringify(request)))
      return send(encodeReply(header as BlockReply))
    }
    honestly(request, honest, send)
  }))
  err = await refusal(verifyAt(forked))
  assert.is(err.code, 'BLOCKS_REFUSED', err.message)
  assert.is((err.data as { field: string }).field, 'log.history')
  assert.match(err.message, /fork/)
})

test('frames out of order, or for another range than asked: BAD_FRAME', async (ctx) => {
  const host = await startHost(ctx, COUNTER, 100)
  let held: Buffer | null = null
  const swapped = await serve(ctx, host, lyingBlocks(host, (request, { header, payload }, send) => {
    const bytes = encodeReply(header, [payload])
    if (header.type === 'blocks' && request.start === 0) { held = bytes; return } // held back...
    send(bytes) // ...so the reply to a later request goes first,
    if (held !== null && header.type === 'blocks') { send(held); held = null } // and the earlier one after it
  }))
  let err = await refusal(verifyAt(swapped, { ...keys(host), frameBlocks: 8 }))
  assert.is(err.code, 'BAD_FRAME', err.message)
  assert.match(err.message, /out of order/)

  const shifted = await serve(ctx, host, lyingBlocks(host, async (request, honest, send) => {
    if (honest.header.type === 'blocks' && request.start! > 0) {
      const other = decodeReply(await new BlockServer(cores(host)).answer(JSON.stringify({ ...request, start: request.start! - 1, end: request.end! - 1 })))
      return send(encodeReply(other.header as BlockReply, [other.payload]))
    }
    honestly(request, honest, send)
  }))
  err = await refusal(verifyAt(shifted, { ...keys(host), frameBlocks: 8 }))
  assert.is(err.code, 'BAD_FRAME', err.message)
  assert.match(err.message, /came where blocks 8\.\.15 were asked for/)
})

test('oversized frames and frames whose sizes do not add up: BAD_FRAME', async (ctx) => {
  const host = await startHost(ctx, COUNTER, 20)
  const huge = await serve(ctx, host, lyingBlocks(host, (request, { header, payload }, send) => {
    send(header.type === 'blocks' ? encodeReply(header, [payload, Buffer.alloc(2 * 1024 * 1024)]) : encodeReply(header, [payload]))
  }))
  let err = await refusal(verifyAt(huge, { ...keys(host), maxReplyBytes: 1024 * 1024 }))
  assert.is(err.code, 'BAD_FRAME', err.message)
  assert.match(err.message, /bigger than 1048576 bytes/)
  err = await refusal(verifyAt(huge))
  assert.is(err.code, 'BAD_FRAME', err.message)
  assert.match(err.message, /names \d+ bytes and carries \d+/)
})

test('malformed replies (text, no header, a head without its signature, blocks without proofs): BAD_FRAME', async (ctx) => {
  const host = await startHost(ctx, COUNTER, 5)
  const cases: Array<[string, Lie, RegExp]> = [
    ['text', (_, __, send) => send('{"id":1}'), /a text reply/],
    ['no header', (_, __, send) => send(Buffer.from([255, 255, 0, 0, 1])), /header claims/],
    ['header not JSON', (_, __, send) => send(Buffer.concat([Buffer.from([3, 0, 0, 0]), Buffer.from('{{{')])), /not JSON/],
    ['head without signature', (request, honest, send) => {
      const header = { ...honest.header } as Record<string, unknown>
      if (header.type === 'head') delete header.signature
      send(encodeReply(header as unknown as BlockReply, [honest.payload]))
    }, /the head has no signature/],
    ['blocks without proofs', (request, honest, send) => {
      const header = { ...honest.header } as Record<string, unknown>
      if (header.type === 'blocks') header.proofs = []
      send(encodeReply(header as unknown as BlockReply, [honest.payload]))
    }, /came with 0 proofs/]
  ]
  for (const [name, lie, message] of cases) {
    const err = await refusal(verifyAt(await serve(ctx, host, lyingBlocks(host, lie))))
    assert.is(err.code, 'BAD_FRAME', `${name}: ${err.message}`)
    assert.match(err.message, message, name)
  }
})

test('a host that stops answering, or closes mid-fetch: a clear error, never a hang', async (ctx) => {
  const host = await startHost(ctx, COUNTER, 60)
  const silent = await serve(ctx, host, lyingBlocks(host, (request, honest, send) => {
    if (honest.header.type === 'blocks' && request.start! > 0) return // never answers
    honestly(request, honest, send)
  }))
  let err = await refusal(verifyAt(silent, { ...keys(host), frameBlocks: 8, silenceMs: 500 }))
  assert.is(err.code, 'HOST_SILENT', err.message)
  let socket: WebSocket | null = null
  const closing = await serve(ctx, host, (ws) => {
    socket = ws
    lyingBlocks(host, (request, honest, send) => {
      if (honest.header.type === 'blocks' && request.start! > 0) return socket!.terminate()
      honestly(request, honest, send)
    })(ws)
  })
  err = await refusal(verifyAt(closing, { ...keys(host), frameBlocks: 8 }))
  assert.is(err.code, 'CONNECTION_CLOSED', err.message)
})

test.run()
