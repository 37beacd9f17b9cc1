// A signature worker (signature-pool.ts): checks batches of signed calls off the main thread. A batch is the
// JSON text of [[method, params, counter, pubkey hex, signature hex], ...] for one call log; for each call the
// worker builds the signed payload (client/wire.ts: canonical JSON) and checks the ed25519 signature, as
// host/call-signature.ts does on the main thread (the payload rule is shared: signedPayload; the worker
// imports the wire format, not host/index.ts, so a worker starts without the host's module graph). The
// answer is one byte per call (1: the signature covers the call), in order.
import { parentPort, workerData } from 'node:worker_threads'
import crypto from 'hypercore-crypto'
import { signedPayload } from '../../client/wire.js'

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
      const payload = signedPayload(logKey, method, params, counter)
      results[i] = crypto.verify(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength), Buffer.from(signature, 'hex'), Buffer.from(pubkey, 'hex')) ? 1 : 0
    }
    const answer: SignatureResults = { id, results }
    port.postMessage(answer)
  })
}
