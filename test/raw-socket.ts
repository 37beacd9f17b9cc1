// Raw JSON-RPC 2.0 over a plain ws socket, for tests that send what no client would (bad JSON, batches,
// binary frames) or read the replies exactly as the host wrote them.
import { WebSocket } from 'ws'

/** A reply as it comes off the wire. */
export interface RpcReply { jsonrpc: string, id: unknown, result?: unknown, error?: { code: number, message: string, data?: unknown } }

/** A JSON-RPC 2.0 request; without params when params is undefined. */
export const req = (id: number | string | null, method: string, params?: unknown) =>
  params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params }

export interface RawSocket {
  ws: WebSocket
  /** Sends a string as it is, anything else as JSON. */
  send (v: unknown): void
  /** The next message received (queued ones first); rejects after ms (default: the socket's replyMs). */
  next (ms?: number): Promise<unknown>
  /** How many received messages are queued. */
  pending (): number
  close (): Promise<void>
}

/** Opens a WebSocket to url that queues every JSON message it receives; next() waits replyMs by default. */
export async function openRawSocket (url: string, opts: WebSocket.ClientOptions = {}, replyMs = 2000): Promise<RawSocket> {
  const ws = new WebSocket(url, opts)
  const inbox: unknown[] = []
  const waiters: Array<(v: unknown) => void> = []
  ws.on('message', (data) => {
    const value = JSON.parse(String(data))
    const w = waiters.shift()
    if (w) w(value)
    else inbox.push(value)
  })
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject) })
  return {
    ws,
    send: (v: unknown) => ws.send(typeof v === 'string' ? v : JSON.stringify(v)),
    next: (ms = replyMs): Promise<unknown> => inbox.length > 0
      ? Promise.resolve(inbox.shift())
      : new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no message within ${ms} ms`)), ms)
        waiters.push((v) => { clearTimeout(t); resolve(v) })
      }),
    pending: () => inbox.length,
    close: () => new Promise<void>((resolve) => {
      if (ws.readyState === WebSocket.CLOSED) return resolve()
      ws.once('close', () => resolve())
      ws.close()
    })
  }
}
