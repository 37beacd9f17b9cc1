// host/swarm: the Dat network. Hyperswarm for a corestore, verify by a dat:// key alone, and the mirror
// (`nodevms seed`) that follows, serves and verifies a backend.
export { startSwarm, isLoopback } from './swarm.js'
export type { DhtNode, SwarmOptions, SwarmHandle } from './swarm.js'
export { openSwarmRemote, DEFAULT_FIND_TIMEOUT_MS } from './remote.js'
export type { SwarmRemoteOptions } from './remote.js'
export { Mirror } from './mirror.js'
export type { MirrorOptions, MirrorMismatch } from './mirror.js'
