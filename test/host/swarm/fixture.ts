// Hosts, mirrors and a loopback testnet for the swarm tests. Only ever used inside a loopback-only namespace.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import createTestnet, { type Testnet } from '@hyperswarm/testnet'
import { Host } from '../../../host/host.js'
import { Mirror, startSwarm, type DhtNode, type MirrorMismatch, type MirrorOptions, type SwarmHandle } from '../../../host/swarm/index.js'
import { PERSISTENT_COUNTER } from '../../helpers.js'
import { onlyLoopback } from './netns.js'

export async function loopbackTestnet (): Promise<Testnet> {
  if (!onlyLoopback()) throw new Error('refusing to start a testnet outside a loopback-only network namespace')
  return await createTestnet(3, { host: '127.0.0.1' })
}

export async function tempDir (name: string): Promise<{ path: string, remove (): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `nodevms-swarm-${name}-`))
  return { path, remove: () => rm(path, { recursive: true, force: true }) }
}

/** A host with `calls` increments logged, announced on the testnet. */
export class SwarmHost {
  host!: Host
  swarm!: SwarmHandle
  private dir!: { path: string, remove (): Promise<void> }

  static async start (bootstrap: DhtNode[], calls: number, source = PERSISTENT_COUNTER): Promise<SwarmHost> {
    const h = new SwarmHost()
    h.dir = await tempDir('host')
    h.host = new Host({ source, filename: 'counter.js', dir: h.dir.path, warn: () => {} })
    await h.host.ready()
    await h.calls(calls)
    h.swarm = await startSwarm(h.host.store, { bootstrap, topics: [h.host.log.core, h.host.drive.core] })
    return h
  }

  get logKey (): string { return this.host.callLogKey }

  async calls (n: number): Promise<void> {
    const pending: Array<Promise<unknown>> = []
    for (let i = 0; i < n; i++) pending.push(this.host.call('increment'))
    await Promise.all(pending)
  }

  /** Stops serving and closes the host; the directory stays until remove(). */
  async stop (): Promise<void> {
    await this.swarm?.close()
    await this.host?.close()
  }

  async remove (): Promise<void> {
    await this.stop()
    await this.dir?.remove()
  }
}

/** A mirror with its events as promises. */
export class TestMirror {
  mirror!: Mirror
  readonly verified: number[] = []
  mismatch: MirrorMismatch | null = null
  private waiters: Array<() => void> = []
  private dir!: { path: string, remove (): Promise<void> }

  static async start (logKey: string, bootstrap: DhtNode[], options: Partial<MirrorOptions> = {}): Promise<TestMirror> {
    const m = new TestMirror()
    // A given dir belongs to the caller; otherwise a temporary one that remove() deletes.
    m.dir = options.dir !== undefined ? { path: options.dir, remove: async () => {} } : await tempDir('mirror')
    m.mirror = new Mirror({
      logKey, dir: m.dir.path, bootstrap, confirmMs: 300, ...options,
      onVerified: (n) => { m.verified.push(n); m.notify() },
      onMismatch: (mm) => { m.mismatch = mm; m.notify() }
    })
    await m.mirror.ready()
    return m
  }

  private notify (): void {
    const w = this.waiters
    this.waiters = []
    for (const f of w) f()
  }

  /** Resolves once `check` holds, checked after every event; rejects after ms. */
  async until (what: string, check: () => boolean, ms = 20_000): Promise<void> {
    const deadline = Date.now() + ms
    while (!check()) {
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`timed out after ${ms} ms waiting for ${what} (verified: ${JSON.stringify(this.verified)}, mismatch: ${this.mismatch?.message ?? 'none'})`)
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 250))
        this.waiters.push(() => { clearTimeout(t); resolve() })
      })
    }
  }

  async untilVerified (length: number, ms?: number): Promise<void> {
    await this.until(`the mirror to verify ${length} entries`, () => this.mirror.verified >= length || this.mismatch !== null, ms)
  }

  async untilMismatch (ms?: number): Promise<MirrorMismatch> {
    await this.until('a mismatch', () => this.mismatch !== null, ms)
    return this.mismatch!
  }

  async remove (): Promise<void> {
    await this.mirror?.close()
    await this.dir?.remove()
  }
}
