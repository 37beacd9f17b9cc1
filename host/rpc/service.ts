// A Host as the RPC server's Service: calls are admitted (signature, counter) in arrival order, their
// signatures checked in a worker pool, and queued in that order; script errors are outcomes; refusals are
// thrown HostErrors with their RPC codes.
import type { Duplex } from 'node:stream'
import { EngineError } from '../../engine/index.js'
import { HostError, replicateCores, type Host } from '../index.js'
import { AdmissionQueue } from './admission.js'
import { BlockServer } from './block-server.js'
import { CallAuthenticator } from './call-authenticator.js'
import type { Service } from './dispatch.js'
import { SignaturePool } from './signature-pool.js'

export interface ServiceOptions {
  /** Take unsigned calls (default true); false refuses them with -32003 (exec --no-anonymous). */
  allowAnonymous?: boolean
  /** Worker threads that check signatures (default: one per core beyond the first, at most 4; 0: this thread). */
  signatureThreads?: number
}

/** Serves an open host: its methods, its handshake, its calls, and read-only replication of its cores. */
export function hostService (host: Host, opts: ServiceOptions = {}): Service {
  const authenticator = new CallAuthenticator(host.callLogKey, { allowAnonymous: opts.allowAnonymous, counters: host.lastCounters() })
  const signatures = new SignaturePool(host.callLogKey, opts.signatureThreads)
  const admission = new AdmissionQueue(authenticator, signatures)
  const blocks = new BlockServer(() => [host.log.core, host.drive.db.core, host.drive.blobs?.core].filter((core) => core !== undefined && core !== null))
  return {
    methods: host.methods,
    handshakeInfo: () => host.handshakeInfo(),
    call: async (method, params, ctx) => {
      try {
        const entry = await admission.admit(method, params, ctx, (admitted) => host.call(method, params, { ...admitted, beforeRun: ctx.beforeRun, afterRun: ctx.afterRun }))
        return entry.error !== undefined ? { error: entry.error } : { result: entry.result ?? null }
      } catch (err) {
        if (err instanceof EngineError && err.code === 'INVALID_ARGS') throw HostError.INVALID_PARAMS(err.message)
        throw err
      }
    },
    replicate: (stream: Duplex) => { replicateCores(host.store, stream, { isInitiator: false }) },
    serveBlocks: (ws) => blocks.serve(ws),
    close: () => signatures.close()
  }
}
