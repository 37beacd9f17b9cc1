// Hypercore replication of a corestore over a duplex stream (the socket of ws://host:port/replicate),
// used by the host (host/rpc) and by readers (host/verify).
// The host side is read-only by construction:
//  - a remote peer cannot write to our cores: every block is checked against our keys' signatures;
//  - corestore answers a remote's request only for cores already in our storage (it never creates one);
//  - our cores are our own writable cores, so there is nothing for us to download.
import type { Duplex } from 'node:stream'
import type Corestore from 'corestore'

export interface Replication {
  /** Resolves once the encrypted protocol stream is open; rejects if it failed first. */
  readonly opened: Promise<void>
  /** Resolves once the stream has closed, for any reason. */
  readonly closed: Promise<void>
  /** Ends replication and the underlying socket. */
  destroy (): void
}

interface ProtocolStream extends Duplex { noiseStream: { opened: Promise<boolean> } }

/** Replicates every core of `store` that both sides ask for over `stream` (the socket's duplex). */
export function replicateCores (store: Corestore, stream: Duplex, opts: { isInitiator: boolean }): Replication {
  const protocol = store.replicate(opts.isInitiator) as ProtocolStream
  // Pipe both ways; when either side ends or fails, tear down both so no socket or stream lingers.
  stream.pipe(protocol).pipe(stream)
  const closed = new Promise<void>((resolve) => {
    let done = false
    const finish = (): void => {
      if (done) return
      done = true
      stream.destroy()
      protocol.destroy()
      resolve()
    }
    for (const s of [stream, protocol]) {
      s.on('error', finish)
      s.on('close', finish)
    }
  })
  const opened = protocol.noiseStream.opened.then((ok) => {
    if (!ok) throw new Error('The replication stream closed before its handshake completed')
  })
  opened.catch(() => {}) // callers that never await `opened` must not see an unhandled rejection
  return { opened, closed, destroy: () => { stream.destroy(); protocol.destroy() } }
}
