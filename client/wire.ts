// The wire format, for the host's side of it (CONTRACT §5): canonical JSON, the signed-call payload,
// the JSON-RPC shapes and the method names a script may not export. The host imports them from here,
// so both ends share one definition.
export { canonicalJson } from './canonical-json.js'
export { CALL_SIGNATURE_DOMAIN, signedPayload, logKeyFromUrl, looksLikePublicKey } from './call-signature.js'
export type { SignedAuth } from './call-signature.js'
export { RPC_CODES, AUTH_RPC_CODES, REPLICATION_PATH, resultResponse, errorResponse, invalidRequest } from './jsonrpc.js'
export type { JsonRpcId, JsonRpcError, JsonRpcResponse } from './jsonrpc.js'
export { reservedMethodReason } from './method-names.js'
export { describeHex } from './hex.js'
