// A signature worker (signature-pool.ts): checks batches of ed25519 signatures off the main thread.
// A batch is one ArrayBuffer of jobs, each: u32 LE payload length | 32-byte public key | 64-byte signature |
// payload. The answer is one byte per job (1: the signature covers the payload), in order.
import { parentPort } from 'node:worker_threads'
import crypto from 'hypercore-crypto'

export interface SignatureBatch { id: number, count: number, data: ArrayBuffer }
export interface SignatureResults { id: number, results: Uint8Array }

parentPort!.on('message', ({ id, count, data }: SignatureBatch) => {
  const bytes = Buffer.from(data)
  const results = new Uint8Array(count)
  let at = 0
  for (let i = 0; i < count; i++) {
    const length = bytes.readUInt32LE(at)
    const publicKey = bytes.subarray(at + 4, at + 36)
    const signature = bytes.subarray(at + 36, at + 100)
    const payload = bytes.subarray(at + 100, at + 100 + length)
    results[i] = crypto.verify(payload, signature, publicKey) ? 1 : 0
    at += 100 + length
  }
  const answer: SignatureResults = { id, results }
  parentPort!.postMessage(answer, [results.buffer])
})
