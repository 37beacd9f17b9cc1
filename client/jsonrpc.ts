// The JSON-RPC 2.0 shapes of the nodevms wire protocol (CONTRACT §5), defined once: the client speaks
// them and the host's RPC server answers in them. Pure: no sockets, no service.

export type JsonRpcId = string | number | null

export interface JsonRpcError { code: number, message: string, data?: unknown }

export type JsonRpcResponse =
  | { jsonrpc: '2.0', id: JsonRpcId, result: unknown }
  | { jsonrpc: '2.0', id: JsonRpcId, error: JsonRpcError }

export const RPC_CODES = {
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL_ERROR: -32603,
  SCRIPT_ERROR: -32000,           // message: the script's error name, data: its message
  BAD_SIGNATURE: -32001,
  STALE_COUNTER: -32002,
  SIGNATURE_REQUIRED: -32003,
  QUEUE_FULL: -32004,
  HOST_CLOSING: -32005,
  TOO_MANY_IN_FLIGHT: -32006,
  // The host's storage (-32010..-32019): refusals that say the call had no effect.
  DISK_FULL: -32010,              // the host's disk is full: refused until it has room again
  STORE_FAILED: -32011,           // the host's store is damaged or failed: it stopped taking calls
  CALL_TOO_LARGE: -32012          // refused before it ran: its arguments, or its batch's replies, are too large
} as const

/** The JSON-RPC error codes of refused signed calls. */
export const AUTH_RPC_CODES = {
  BAD_SIGNATURE: RPC_CODES.BAD_SIGNATURE,
  STALE_COUNTER: RPC_CODES.STALE_COUNTER,
  ANONYMOUS_REFUSED: RPC_CODES.SIGNATURE_REQUIRED
} as const

/** The path of the host's read-only Hypercore replication endpoint, beside JSON-RPC at `/`. */
export const REPLICATION_PATH = '/replicate'

export function resultResponse (id: JsonRpcId, result: unknown): JsonRpcResponse {
  // undefined is not JSON: CONTRACT §2 says it becomes null.
  return { jsonrpc: '2.0', id, result: result === undefined ? null : result }
}

export function errorResponse (id: JsonRpcId, code: number, message: string, data?: unknown): JsonRpcResponse {
  const error: JsonRpcError = { code, message }
  if (data !== undefined) error.data = data
  return { jsonrpc: '2.0', id, error }
}

export function invalidRequest (reason: string): JsonRpcResponse {
  return errorResponse(null, RPC_CODES.INVALID_REQUEST, 'Invalid Request', reason)
}
