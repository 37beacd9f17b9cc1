// A Host as the RPC server's Service: signed calls are admitted (signature, counter) in the same tick as
// the call is queued; script errors are outcomes; refusals are thrown HostErrors with their RPC codes.
import type { Duplex } from 'node:stream'
import { EngineError } from '../../engine/index.js'
import { HostError, replicateCores, type Host } from '../index.js'
import { BlockServer } from './block-server.js'
import { CallAuthenticator } from './call-authenticator.js'
import type { Service } from './dispatch.js'

export interface ServiceOptions {
  /** Take unsigned calls (default true); false refuses them with -32003 (exec --no-anonymous). */
  allowAnonymous?: boolean
}

/** Serves an open host: its methods, its handshake, its calls, and read-only replication of its cores. */
export function hostService (host: Host, opts: ServiceOptions = {}): Service {
  const authenticator = new CallAuthenticator(host.callLogKey, { allowAnonymous: opts.allowAnonymous, counters: host.lastCounters() })
  const blocks = new BlockServer(() => [host.log.core, host.drive.db.core, host.drive.blobs?.core].filter((core) => core !== undefined && core !== null))
  return {
    methods: host.methods,
    handshakeInfo: () => host.handshakeInfo(),
    call: async (method, params, ctx) => {
      try {
        const entry = await host.call(method, params, authenticator.admit(method, params, ctx))
        return entry.error !== undefined ? { error: entry.error } : { result: entry.result ?? null }
      } catch (err) {
        if (err instanceof EngineError && err.code === 'INVALID_ARGS') throw HostError.INVALID_PARAMS(err.message)
        throw err
      }
    },
    replicate: (stream: Duplex) => { replicateCores(host.store, stream, { isInitiator: false }) },
    serveBlocks: (ws) => blocks.serve(ws)
  }
}
