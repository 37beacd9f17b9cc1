// The calls since the last checkpoint, with everything they received from outside: their oracle
// outcomes (in their records) and the answers to their System.files requests. Restoring the
// checkpoint and playing the tape brings the guest back to where it was, without the caller's Files.
import type { FileAnswer, FileBridge, CallInput, Outcome } from './call-runner.js'

/** One System.files request a call made, and the answer it got. */
interface FileExchange { name: string, args: string, data: Uint8Array | undefined, answer: FileAnswer }

export interface TapeEntry { input: CallInput, outcome: Outcome, files: FileExchange[] }

export class Tape {
  readonly entries: TapeEntry[] = []
  /** Bytes held (file data and answers), and the time the calls took to run, without their waits. */
  bytes = 0
  runMs = 0

  push (entry: TapeEntry, runMs: number): void {
    this.entries.push(entry)
    this.runMs += runMs
    for (const f of entry.files) this.bytes += f.args.length + (f.data?.byteLength ?? 0) + answerBytes(f.answer)
  }

  clear (): void {
    this.entries.length = 0
    this.bytes = 0
    this.runMs = 0
  }
}

function answerBytes (answer: FileAnswer): number {
  if (answer === 'fault' || !answer.ok) return 64
  const { value } = answer
  return value === undefined ? 0 : typeof value === 'string' ? value.length * 2 : value.byteLength
}

/** Passes requests to the live files and keeps each exchange, and how long the call waited on them. */
export class RecordingFiles implements FileBridge {
  readonly exchanges: FileExchange[] = []
  waitedMs = 0
  constructor (private readonly live: FileBridge) {}

  perform (name: string, args: unknown[], data: Uint8Array | undefined): FileAnswer {
    const started = performance.now()
    const answer = this.live.perform(name, args, data)
    this.waitedMs += performance.now() - started
    this.exchanges.push({ name, args: JSON.stringify(args), data, answer })
    return answer
  }
}

/** Answers a replayed call's requests from the tape. A request the call did not make live is a divergence. */
export class RecordedFiles implements FileBridge {
  private next = 0
  diverged: string | null = null
  constructor (private readonly exchanges: FileExchange[]) {}

  perform (name: string, args: unknown[], data: Uint8Array | undefined): FileAnswer {
    const recorded = this.exchanges[this.next++]
    const argsJson = JSON.stringify(args)
    if (recorded === undefined || recorded.name !== name || recorded.args !== argsJson || !sameBytes(recorded.data, data)) {
      this.diverged ??= `request #${this.next - 1} (${name} ${argsJson}) is not the one the call made (${recorded === undefined ? 'none' : `${recorded.name} ${recorded.args}`})`
      return 'fault'
    }
    return recorded.answer
  }

  get unused (): number { return this.exchanges.length - this.next }
}

function sameBytes (a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined) return a === b
  return Buffer.compare(a, b) === 0
}
