// Hyperswarm for a Corestore: join the discovery keys of some cores, replicate the whole store on every
// connection (Hypercore checks every block against its key), close everything on close().
//
// The public DHT is never implied: startSwarm refuses an empty bootstrap list. When every bootstrap node is
// on loopback, the DHT also binds to 127.0.0.1, so no packet can leave the machine.
import { createRequire } from 'node:module'
import type Corestore from 'corestore'
import type HyperDHT from 'hyperdht'
import type Hypercore from 'hypercore'
import Hyperswarm, { type PeerDiscoverySession, type SwarmConnection } from 'hyperswarm'
import { HostError } from '../index.js'

// hyperdht is hyperswarm's own dependency: resolve it from there, so both share one copy.
const requireFromSwarm = createRequire(createRequire(import.meta.url).resolve('hyperswarm'))
const DHT = requireFromSwarm('hyperdht') as typeof HyperDHT

export interface DhtNode { host: string, port: number }

export interface SwarmOptions {
  /** DHT bootstrap nodes. Required and non-empty: the public DHT is only used when its nodes are named here. */
  bootstrap: DhtNode[]
  /** Discovery keys (or cores) to join now; more with handle.join(). */
  topics?: Array<Buffer | Hypercore>
  /** Announce these topics so peers find us (default true). */
  server?: boolean
  /** Look up peers on these topics (default true). */
  client?: boolean
  /** What we tell HyperDHT. Default: false for a serving peer (reachable directly, no holepunching), true otherwise. */
  firewalled?: boolean
  /** Address the DHT binds to. Default: 127.0.0.1 when every bootstrap node is on loopback, else all interfaces. */
  host?: string
}

export interface SwarmHandle {
  readonly swarm: Hyperswarm
  /** Open peer connections. */
  readonly connections: number
  /** Joins one more topic; resolves once it is announced (server) and looked up (client). */
  join (topic: Buffer | Hypercore): Promise<void>
  /** Looks the topics up (and announces them) again now, instead of at the next periodic refresh. */
  refresh (): Promise<void>
  /** Resolves once `core` has a peer, or rejects with NO_PEERS after timeoutMs. */
  waitForPeer (core: Hypercore, timeoutMs: number): Promise<void>
  /** Leaves every topic, ends every replication stream and destroys the DHT node. Idempotent. */
  close (): Promise<void>
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|::1)$/i

export function isLoopback (nodes: DhtNode[]): boolean {
  return nodes.length > 0 && nodes.every((n) => LOOPBACK.test(n.host))
}

const topicOf = (t: Buffer | Hypercore): Buffer => {
  if (Buffer.isBuffer(t)) return t
  if (t.discoveryKey === null) throw new Error('unreachable: join a core after it is ready')
  return t.discoveryKey
}

/** Starts a Hyperswarm that replicates `store` with every peer it meets on the given topics. */
export async function startSwarm (store: Corestore, opts: SwarmOptions): Promise<SwarmHandle> {
  if (!Array.isArray(opts.bootstrap) || opts.bootstrap.length === 0) throw HostError.SWARM_NO_BOOTSTRAP()
  const server = opts.server !== false
  const client = opts.client !== false
  const host = opts.host ?? (isLoopback(opts.bootstrap) ? '127.0.0.1' : undefined)
  const dht = new DHT({
    bootstrap: opts.bootstrap.map((n) => ({ host: n.host === 'localhost' ? '127.0.0.1' : n.host, port: n.port })),
    firewalled: opts.firewalled ?? !server,
    ...(host !== undefined ? { host } : {})
  })
  const swarm = new Hyperswarm({ dht })
  const streams = new Set<{ destroy (): void }>()
  const discoveries: PeerDiscoverySession[] = []
  let closing: Promise<void> | null = null

  swarm.on('connection', (conn: SwarmConnection) => {
    conn.on('error', () => {}) // a peer going away is normal; replication simply stops
    const stream = store.replicate(conn) as { destroy (): void, on (e: string, f: () => void): void }
    stream.on('error', () => {})
    streams.add(stream)
    conn.once('close', () => streams.delete(stream))
  })

  const join = async (topic: Buffer | Hypercore): Promise<void> => {
    if (closing !== null) throw HostError.HOST_CLOSING()
    const discovery = swarm.join(topicOf(topic), { server, client })
    discoveries.push(discovery)
    const done = store.findingPeers()
    try {
      await discovery.flushed()
      if (client) await swarm.flush()
    } finally {
      done()
    }
  }

  const close = (): Promise<void> => {
    closing ??= (async () => {
      for (const s of streams) s.destroy()
      for (const conn of swarm.connections) conn.destroy()
      await swarm.destroy()
    })()
    return closing
  }

  try {
    if (server) await swarm.listen()
    for (const t of opts.topics ?? []) await join(t)
  } catch (err) {
    await close()
    throw err
  }

  return {
    swarm,
    get connections () { return swarm.connections.size },
    join,
    refresh: async () => {
      if (closing !== null) return
      await Promise.all(discoveries.map((d) => d.refresh({ server, client }).catch(() => {})))
    },
    waitForPeer: (core, timeoutMs) => waitForPeer(core, timeoutMs, opts.bootstrap),
    close
  }
}

function waitForPeer (core: Hypercore, timeoutMs: number, bootstrap: DhtNode[]): Promise<void> {
  if (core.peers.length > 0) return Promise.resolve()
  return new Promise((resolve, reject) => {
    const onPeer = (): void => { clearTimeout(timer); resolve() }
    const timer = setTimeout(() => {
      core.off('peer-add', onPeer)
      reject(HostError.NO_PEERS(core.key?.toString('hex') ?? '?', timeoutMs, bootstrap))
    }, timeoutMs)
    core.once('peer-add', onPeer)
  })
}
