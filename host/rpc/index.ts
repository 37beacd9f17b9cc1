// host/rpc: the host on the network. JSON-RPC over WebSocket, read-only replication on the same port,
// and the gate that checks signed calls before they are queued.
export { RpcServer } from './server.js'
export type { RpcServerOptions } from './server.js'
export { OriginPolicy } from './origin-policy.js'
export { hostService } from './service.js'
export type { ServiceOptions } from './service.js'
export { CallAuthenticator, parseAuth } from './call-authenticator.js'
export type { Admitted, AuthenticatorOptions } from './call-authenticator.js'
export type { Service, CallContext, CallOutcome } from './dispatch.js'
