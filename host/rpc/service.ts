// A Host as the RPC server's Service: signed calls are admitted (signature, counter) in the same tick as
// the call is queued; script errors are outcomes; refusals are thrown HostErrors with their RPC codes.
import type { Duplex } from 'node:stream'
import { EngineError } from '../../engine/index.js'
import { HostError, replicateCores, type Host } from '../index.js'
import { CallAuthenticator } from './call-authenticator.js'
import type { Service } from './dispatch.js'

export interface ServiceOptions {
  /** Take unsigned calls (default true); false refuses them with -32003 (exec --no-anonymous). */
  allowAnonymous?: boolean
  /** Told of each call the host refused before running it (a bad signature, a full queue, shutting down). */
  onRefused?: (method: string, err: Error) => void
}

/** Serves an open host: its methods, its handshake, its calls, and read-only replication of its cores. */
export function hostService (host: Host, opts: ServiceOptions = {}): Service {
  const authenticator = new CallAuthenticator(host.callLogKey, { allowAnonymous: opts.allowAnonymous, counters: host.lastCounters() })
  return {
    methods: host.methods,
    handshakeInfo: () => host.handshakeInfo(),
    call: async (method, params, ctx) => {
      try {
        const admitted = authenticator.admit(method, params, ctx)
        const entry = await host.call(method, params, { ...admitted, beforeRun: ctx.beforeRun, afterRun: ctx.afterRun })
        return entry.error !== undefined ? { error: entry.error } : { result: entry.result ?? null }
      } catch (err) {
        const refusal = err instanceof EngineError && err.code === 'INVALID_ARGS' ? HostError.INVALID_PARAMS(err.message) : err
        if (refusal instanceof HostError) opts.onRefused?.(method, refusal)
        throw refusal
      }
    },
    replicate: (stream: Duplex) => { replicateCores(host.store, stream, { isInitiator: false }) }
  }
}
