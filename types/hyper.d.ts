// Hypercore, Hyperdrive and Corestore ship no types. These declare the parts nodevms uses.

declare module 'hypercore' {
  import type { EventEmitter } from 'node:events'
  export interface HypercoreGetOptions { wait?: boolean, timeout?: number, valueEncoding?: string }
  export default class Hypercore extends EventEmitter {
    readonly key: Buffer | null
    readonly discoveryKey: Buffer | null
    readonly keyPair: { publicKey: Buffer, secretKey: Buffer | null } | null
    readonly length: number
    readonly contiguousLength: number
    readonly byteLength: number
    readonly fork: number
    readonly writable: boolean
    readonly readable: boolean
    readonly opened: boolean
    readonly closed: boolean
    readonly id: string | null
    ready (): Promise<void>
    close (): Promise<void>
    append (block: Buffer | Uint8Array | string | Array<Buffer | Uint8Array | string>): Promise<{ length: number, byteLength: number }>
    get (index: number, opts?: HypercoreGetOptions): Promise<any>
    has (start: number, end?: number): Promise<boolean>
    update (opts?: { wait?: boolean }): Promise<boolean>
    seek (byteOffset: number): Promise<[number, number]>
    truncate (length: number, fork?: number): Promise<void>
    treeHash (length?: number): Promise<Buffer>
    setUserData (key: string, value: Buffer): Promise<void>
    getUserData (key: string): Promise<Buffer | null>
    download (range?: { start?: number, end?: number, linear?: boolean }): { done (): Promise<void>, destroy (): void }
    createReadStream (opts?: { start?: number, end?: number, live?: boolean, snapshot?: boolean }): AsyncIterable<any> & { destroy (err?: Error): void }
    session (opts?: any): Hypercore
    snapshot (opts?: any): Hypercore
    replicate (isInitiatorOrStream: any, opts?: any): any
    findingPeers (): () => void
    info (opts?: any): Promise<any>
    readonly peers: any[]
    static key (manifest: any, opts?: any): Buffer
    static discoveryKey (key: Buffer): Buffer
    /** hypercore-storage over RocksDB at dir; opts reach rocksdb-native (walRecoveryMode, readOnly, createIfMissing). */
    static defaultStorage (dir: string, opts?: Record<string, unknown>): unknown
    /** The largest block append() takes (15 MiB). */
    static readonly MAX_SUGGESTED_BLOCK_SIZE: number
  }
}

declare module 'corestore' {
  import type { EventEmitter } from 'node:events'
  import type Hypercore from 'hypercore'
  export default class Corestore extends EventEmitter {
    constructor (storage: string | unknown, opts?: any)
    readonly opened: boolean
    readonly closed: boolean
    ready (): Promise<void>
    close (): Promise<void>
    get (opts: { name: string } | { key: Buffer | Uint8Array | string } | Buffer | Uint8Array | string | Record<string, unknown>): Hypercore
    session (opts?: any): Corestore
    namespace (name: string | Buffer): Corestore
    replicate (isInitiatorOrStream: any, opts?: any): any
    findingPeers (): () => void
    createKeyPair (name: string): Promise<{ publicKey: Buffer, secretKey: Buffer }>
  }
}

declare module 'hyperdrive' {
  import type { EventEmitter } from 'node:events'
  import type Corestore from 'corestore'
  import type Hypercore from 'hypercore'
  export interface HyperdriveEntry {
    seq: number
    key: string
    value: {
      executable: boolean
      linkname: string | null
      blob: { blockOffset: number, blockLength: number, byteOffset: number, byteLength: number } | null
      metadata: unknown
    }
  }
  export default class Hyperdrive extends EventEmitter {
    constructor (store: Corestore, key?: Buffer | Uint8Array | string | null, opts?: any)
    readonly key: Buffer
    readonly discoveryKey: Buffer
    readonly version: number
    readonly writable: boolean
    readonly readable: boolean
    readonly core: Hypercore
    readonly db: any
    readonly blobs: any
    readonly corestore: Corestore
    ready (): Promise<void>
    close (): Promise<void>
    get (path: string, opts?: any): Promise<Buffer | null>
    put (path: string, data: Buffer | Uint8Array | string, opts?: any): Promise<void>
    del (path: string): Promise<void>
    entry (path: string, opts?: any): Promise<HyperdriveEntry | null>
    exists (path: string): Promise<boolean>
    list (folder?: string, opts?: { recursive?: boolean }): AsyncIterable<HyperdriveEntry>
    readdir (folder?: string): AsyncIterable<string>
    batch (): Hyperdrive & { flush (): Promise<void> }
    checkout (version: number): Hyperdrive
    getBlobs (): Promise<any>
    update (opts?: { wait?: boolean }): Promise<boolean>
    findingPeers (): () => void
    replicate (isInitiatorOrStream: any, opts?: any): any
    diff (version: number, folder?: string, opts?: any): AsyncIterable<{ left: HyperdriveEntry | null, right: HyperdriveEntry | null }>
  }
}

declare module 'hypercore-crypto' {
  export function keyPair (seed?: Buffer): { publicKey: Buffer, secretKey: Buffer }
  export function sign (message: Buffer | Uint8Array, secretKey: Buffer | Uint8Array): Buffer
  export function verify (message: Buffer | Uint8Array, signature: Buffer | Uint8Array, publicKey: Buffer | Uint8Array): boolean
  export function randomBytes (n: number): Buffer
  export function discoveryKey (publicKey: Buffer): Buffer
  export function hash (data: Buffer | Buffer[]): Buffer
  /** A Merkle tree node of Hypercore's: flat-tree index, bytes under it, BLAKE2b hash. */
  export interface TreeNode { index: number, size: number, hash: Buffer }
  /** The hash of a leaf (one block). */
  export function data (block: Buffer | Uint8Array): Buffer
  /** The hash of the parent of two sibling nodes. */
  export function parent (a: TreeNode, b: TreeNode): Buffer
  /** The tree hash of a core: the hash of its roots. */
  export function tree (roots: TreeNode[]): Buffer
  const crypto: {
    keyPair: typeof keyPair, sign: typeof sign, verify: typeof verify,
    randomBytes: typeof randomBytes, discoveryKey: typeof discoveryKey, hash: typeof hash,
    data: typeof data, parent: typeof parent, tree: typeof tree
  }
  export default crypto
}

declare module 'hypercore-id-encoding' {
  export function encode (key: Buffer | Uint8Array): string
  export function decode (id: string | Buffer | Uint8Array): Buffer
  export function normalize (id: string | Buffer | Uint8Array): string
  export function isValid (id: unknown): boolean
  const idEncoding: { encode: typeof encode, decode: typeof decode, normalize: typeof normalize, isValid: typeof isValid }
  export default idEncoding
}

declare module 'hyperdht' {
  import type { EventEmitter } from 'node:events'
  export interface DhtNode { host: string, port: number }
  export interface HyperDHTOptions {
    bootstrap?: Array<DhtNode | string> | false
    /** false: this node says it is reachable directly (no holepunching to reach it). */
    firewalled?: boolean
    ephemeral?: boolean
    host?: string
    port?: number
  }
  export default class HyperDHT extends EventEmitter {
    constructor (opts?: HyperDHTOptions)
    readonly destroyed: boolean
    readonly firewalled: boolean
    ready (): Promise<void>
    fullyBootstrapped (): Promise<void>
    address (): { host: string, port: number }
    destroy (opts?: { force?: boolean }): Promise<void>
  }
}

declare module 'hyperswarm' {
  import type { EventEmitter } from 'node:events'
  import type { Duplex } from 'node:stream'
  import type HyperDHT from 'hyperdht'
  import type { DhtNode } from 'hyperdht'
  export interface PeerInfo { publicKey: Buffer, topics: Buffer[], client: boolean }
  export interface PeerDiscoverySession { flushed (): Promise<void>, refresh (opts?: { client?: boolean, server?: boolean }): Promise<void>, destroy (): Promise<void> }
  export interface SwarmConnection extends Duplex { remotePublicKey: Buffer, publicKey: Buffer }
  export default class Hyperswarm extends EventEmitter {
    constructor (opts?: { bootstrap?: DhtNode[], dht?: HyperDHT, keyPair?: { publicKey: Buffer, secretKey: Buffer }, maxPeers?: number })
    readonly dht: HyperDHT
    readonly connections: Set<SwarmConnection>
    readonly peers: Map<string, PeerInfo>
    readonly destroyed: boolean
    join (topic: Buffer, opts?: { server?: boolean, client?: boolean }): PeerDiscoverySession
    leave (topic: Buffer): Promise<void>
    listen (): Promise<void>
    flush (): Promise<boolean>
    destroy (opts?: { force?: boolean }): Promise<void>
    on (event: 'connection', listener: (conn: SwarmConnection, info: PeerInfo) => void): this
    on (event: string, listener: (...args: any[]) => void): this
  }
}

declare module '@hyperswarm/testnet' {
  import type HyperDHT from 'hyperdht'
  export interface Testnet {
    readonly nodes: HyperDHT[]
    readonly bootstrap: Array<{ host: string, port: number }>
    createNode (opts?: Record<string, unknown>): HyperDHT
    destroy (): Promise<void>
  }
  export default function createTestnet (size?: number, opts?: { host?: string, port?: number }): Promise<Testnet>
}
