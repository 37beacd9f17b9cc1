// Reading a JSON-RPC message off the wire: parse, then check each request's shape. Pure: no sockets.
// CONTRACT §5: parse errors and invalid requests are answered with id null; params must be an array.
import { RPC_CODES, errorResponse, invalidRequest, type JsonRpcId, type JsonRpcResponse } from '../../client/wire.js'

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
