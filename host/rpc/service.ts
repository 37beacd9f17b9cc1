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
  /** Told of each call the host refused before running it (a bad signature, a full queue, shutting down). */
  onRefused?: (method: string, err: Error) => void
}

/** Serves an open host: its methods, its handshake, its calls, and read-only replication of its cores. */
export function hostService (host: Host, opts: ServiceOptions = {}): Service {
  const authenticator = new CallAuthenticator(host.callLogKey, { allowAnonymous: opts.allowAnonymous, counters: host.lastCounters() })
  const signatures = new SignaturePool(host.callLogKey, opts.signatureThreads)
  const admission = new AdmissionQueue(authenticator, signatures)
  const blocks = new BlockServer(() => [host.log.core, host.drive.db.core, host.drive.blobs?.core].filter((core) => core !== undefined && core !== null), () => host.settled())
  return {
    methods: host.methods,
    handshakeInfo: () => host.handshakeInfo(),
    call: async (method, params, ctx) => {
      try {
        const entry = await admission.admit(method, params, ctx, (admitted) => host.call(method, params, { ...admitted, beforeRun: ctx.beforeRun, afterRun: ctx.afterRun, beforeCores: true }))
        return entry.error !== undefined ? { error: entry.error } : { result: entry.result ?? null }
      } catch (err) {
        const refusal = err instanceof EngineError && err.code === 'INVALID_ARGS' ? HostError.INVALID_PARAMS(err.message) : err
        if (refusal instanceof HostError) opts.onRefused?.(method, refusal)
        throw refusal
      }
    },
    // Replication starts once the cores hold every call answered so far, so the first length a peer is
    // told covers what callers were told.
    replicate: (stream: Duplex) => {
      host.settled().then(() => { if (!stream.destroyed) replicateCores(host.store, stream, { isInitiator: false }) }).catch((err: Error) => stream.destroy(err))
    },
    serveBlocks: (ws) => blocks.serve(ws),
    close: () => signatures.close()
  }
}
