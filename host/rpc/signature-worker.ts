// A signature worker (signature-pool.ts): checks batches of signed calls off the main thread. A batch is the
// JSON text of [[method, params, counter, pubkey hex, signature hex], ...] for one call log; each call is
// checked by signatureCovers (host/call-signature.ts), the same check the main thread makes. The answer is
// one byte per call (1: the signature covers the call), in order.
import { parentPort, workerData } from 'node:worker_threads'
import { signatureCovers } from '../call-signature.js'

/** What the pool passes as workerData, so this module does nothing when imported anywhere else. */
export const SIGNATURE_WORKER = 'nodevms-signature-worker'

export interface SignatureBatch { id: number, logKey: string, calls: string }
export interface SignatureResults { id: number, results: Uint8Array }
export type CallToCheck = [method: string, params: unknown[], counter: number, pubkey: string, signature: string]

if (parentPort !== null && workerData === SIGNATURE_WORKER) {
  const port = parentPort
  port.on('message', ({ id, logKey, calls }: SignatureBatch) => {
    const list = JSON.parse(calls) as CallToCheck[]
    const results = new Uint8Array(list.length)
    for (let i = 0; i < list.length; i++) {
      const [method, params, counter, pubkey, signature] = list[i]
      results[i] = signatureCovers(logKey, method, params, { pubkey, counter, signature }) ? 1 : 0
    }
    const answer: SignatureResults = { id, results }
    port.postMessage(answer)
  })
}
