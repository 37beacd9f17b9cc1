// nodevms-client@2.0.0, the original JS client, for the compatibility tests (CONTRACT §5).
// Its transport, qaap-uws (µWebSockets), does not build on Node 20; its client API matches ws, which
// rpc-websockets loads through require('qaap-uws'). So that one module name resolves to ws here.
import { createRequire } from 'node:module'
import type { EventEmitter } from 'node:events'

const require = createRequire(import.meta.url)

export interface LegacyClient extends EventEmitter {
  backendInfo: { methods: string[], callLogUrl: string, filesArchiveUrl: string } | null
  connect (url: string, opts?: { user?: string }): Promise<void>
  close (): void
  [method: string]: unknown
}
export type LegacyClientClass = new (opts?: { timeout?: number }) => LegacyClient

interface ModuleInternals { _resolveFilename (request: string, ...rest: unknown[]): string }
let loaded: LegacyClientClass | null = null

/** The NodeVMSClient class, loaded with qaap-uws resolved to ws (the resolver is patched once, for the process). */
export function legacyClientClass (): LegacyClientClass {
  if (loaded !== null) return loaded
  const Module = require('node:module') as ModuleInternals
  const wsPath = require.resolve('ws')
  const resolveFilename = Module._resolveFilename
  Module._resolveFilename = function (this: unknown, request: string, ...rest: unknown[]): string {
    return request === 'qaap-uws' ? wsPath : resolveFilename.call(this, request, ...rest)
  }
  loaded = require('nodevms-client') as LegacyClientClass
  return loaded
}

/** A remote method of a legacy client, typed for calling. */
export const remote = (client: LegacyClient, name: string) => client[name] as (...args: unknown[]) => Promise<unknown>

/** Closes a legacy client and waits for its close event. */
export async function closeLegacy (client: LegacyClient): Promise<void> {
  const closed = new Promise((resolve) => client.once('close', resolve))
  client.close() // code 1000: rpc-websockets does not try to reconnect
  await closed
}
