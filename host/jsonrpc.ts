// JSON-RPC 2.0 messages: parsing, validation and response building. Pure: no sockets, no service.
// CONTRACT §5: parse errors and invalid requests are answered with id null; params must be an array.

export type JsonRpcId = string | number | null

export interface JsonRpcError { code: number, message: string, data?: unknown }

export type JsonRpcResponse =
  | { jsonrpc: '2.0', id: JsonRpcId, result: unknown }
  | { jsonrpc: '2.0', id: JsonRpcId, error: JsonRpcError }

export interface JsonRpcRequest {
  method: string
  params: unknown[]
  /** Absent for a notification, which is executed but never answered. */
  id?: JsonRpcId
  /** The whole request object, so extra members (e.g. signed-call `auth`) reach the service. */
  raw: Record<string, unknown>
}

/** One element of a message: a request to run, or an error to answer without running anything. */
export type JsonRpcItem =
  | { request: JsonRpcRequest }
  | { response: JsonRpcResponse | null }   // null: a notification with bad params, answered with nothing

export type JsonRpcMessage =
  | { kind: 'single', item: JsonRpcItem }
  | { kind: 'batch', items: JsonRpcItem[] }
  | { kind: 'invalid', response: JsonRpcResponse }   // parse error or empty batch

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
  TOO_MANY_IN_FLIGHT: -32006
} as const

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

/** Parses one WebSocket text message into a single request, a batch, or an error to answer at once. */
export function parseMessage (text: string): JsonRpcMessage {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    return { kind: 'invalid', response: errorResponse(null, RPC_CODES.PARSE_ERROR, 'Parse error', (err as Error).message) }
  }
  if (Array.isArray(value)) {
    if (value.length === 0) return { kind: 'invalid', response: invalidRequest('an empty batch is not a request') }
    return { kind: 'batch', items: value.map(validateRequest) }
  }
  return { kind: 'single', item: validateRequest(value) }
}

function isId (value: unknown): value is JsonRpcId {
  return value === null || typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value))
}

/** Checks one request object. Structure errors are -32600 with id null; non-array params are -32602. */
export function validateRequest (value: unknown): JsonRpcItem {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { response: invalidRequest('a request must be a JSON object') }
  }
  const raw = value as Record<string, unknown>
  if (raw.jsonrpc !== '2.0') return { response: invalidRequest('"jsonrpc" must be exactly "2.0"') }
  if (typeof raw.method !== 'string') return { response: invalidRequest('"method" must be a string') }
  const hasId = Object.hasOwn(raw, 'id')
  if (hasId && !isId(raw.id)) return { response: invalidRequest('"id" must be a string, a number or null') }
  const id = hasId ? raw.id as JsonRpcId : undefined
  // Absent params means no arguments. null too: nodevms-client@2.0.0 sends "params": null for handshake.
  let params: unknown[]
  if (raw.params === undefined || raw.params === null) params = []
  else if (Array.isArray(raw.params)) params = raw.params
  else {
    const what = typeof raw.params === 'object' ? 'an object' : `a ${typeof raw.params}`
    if (!hasId) return { response: null }
    return { response: errorResponse(id as JsonRpcId, RPC_CODES.INVALID_PARAMS, 'Invalid params',
      `"params" must be an array of positional arguments, not ${what}`) }
  }
  const request: JsonRpcRequest = { method: raw.method, params, raw }
  if (hasId) request.id = id
  return { request }
}
