// The worker's half of an engine: the loaded script, its calls, and the memory they leave behind.
// A call that hits a limit (gas, deadline, memory) or under which QuickJS fails has no effect: the
// engine keeps a checkpoint of the guest's memory and a tape of the calls since it, and after such a
// call puts the checkpoint back and plays the tape, with the oracle outcomes and file answers those
// calls got, so no one's Files are touched. Checkpoints are taken when the tape would take too long
// to play, or when the engine is idle, so a rollback stays short however long the engine has run.
import type { QuickJSWASMModule } from 'quickjs-emscripten'
import { CallRunner, type CallInput, type FileBridge, type Limit, type Outcome } from './call-runner.js'
import { EngineError } from './errors.js'
import { prepare, type Bridge, type Prepared } from './instance.js'
import type { LoadOptions } from './protocol.js'
import { ScriptRuntime, type RuntimeImage } from './script-runtime.js'
import { RecordedFiles, RecordingFiles, Tape } from './tape.js'

/** A checkpoint is taken once the tape takes this long to play: 20 times the last checkpoint's cost, within these bounds. */
const REPLAY_BUDGET_MS = { min: 5, max: 30, perCheckpointMs: 20 }
/** ...or once it holds this much file data. */
const TAPE_MAX_BYTES = 32 * 1024 * 1024

/** What the engine measured about its checkpoints, rollbacks and heap (for benchmarks and tests). */
export interface SandboxStats { checkpoints: number, checkpointMs: number, rollbacks: number, rollbackMs: number, replayedCalls: number, heapBytes: number }

export class Sandbox {
  private runtime!: ScriptRuntime
  private readonly runner: CallRunner
  private readonly bridge: Bridge
  /** Where a rollback starts from; null until the first one is taken, right after the script loads. */
  private checkpoint: RuntimeImage | null = null
  private readonly tape = new Tape()
  private rollbackDue: Limit | null = null
  private lastCheckpointMs = 0
  /** Set when a rollback failed: the engine's memory can no longer be trusted. */
  broken: EngineError | null = null
  private readonly measured = { checkpoints: 0, checkpointMs: 0, rollbacks: 0, rollbackMs: 0, replayedCalls: 0 }

  private constructor (readonly source: string, readonly options: LoadOptions, log: Bridge['log']) {
    this.runner = new CallRunner(options, () => this.runtime)
    this.bridge = { oracle: (fn) => this.runner.oracle(fn), log }
  }

  /** Loads the script into a prepared instance (its top level runs under gas). Throws an EngineError. */
  static load (prepared: Prepared, source: string, options: LoadOptions, log: Bridge['log']): Sandbox {
    const sandbox = new Sandbox(source, options, log)
    sandbox.runtime = ScriptRuntime.load(prepared, source, options, sandbox.runner.meter, sandbox.bridge)
    return sandbox
  }

  /** An engine at a checkpoint (checkpoint-file.ts has checked where it comes from). Throws CHECKPOINT_REFUSED. */
  static restore (prepared: Prepared, source: string, options: LoadOptions, log: Bridge['log'], image: RuntimeImage): Sandbox {
    const sandbox = new Sandbox(source, options, log)
    sandbox.runtime = ScriptRuntime.restore(prepared, options, sandbox.runner.meter, sandbox.bridge, image)
    sandbox.checkpoint = image
    return sandbox
  }

  get methods (): string[] { return this.runtime.methods }

  get stats (): SandboxStats { return { ...this.measured, heapBytes: this.runtime.heapBytes } }

  /** One call. A call that hit a limit is undone by settle(), after its caller has the outcome. */
  call (input: CallInput, files: FileBridge): Outcome {
    const started = performance.now()
    const recording = new RecordingFiles(files)
    const outcome = this.runner.run(input, recording)
    if (outcome.storageFault !== true) {
      if (this.runner.limit !== null) this.rollbackDue = this.runner.limit
      else this.tape.push({ input, outcome, files: recording.exchanges }, performance.now() - started - recording.waitedMs)
    }
    return outcome
  }

  /**
   * Between calls (and after loading): undoes a call that hit a limit, or takes a checkpoint when
   * there is none yet or the tape is long.
   */
  async settle (): Promise<void> {
    if (this.broken !== null) return
    if (this.rollbackDue !== null) return await this.rollback()
    const budget = Math.min(REPLAY_BUDGET_MS.max, Math.max(REPLAY_BUDGET_MS.min, REPLAY_BUDGET_MS.perCheckpointMs * this.lastCheckpointMs))
    if (this.checkpoint === null || this.tape.runMs >= budget || this.tape.bytes >= TAPE_MAX_BYTES) this.takeCheckpoint()
  }

  /** Idle time: a checkpoint now makes the next rollback cheap. */
  idle (): void {
    if (this.tape.entries.length > 0 && this.broken === null) this.takeCheckpoint()
  }

  get hasTape (): boolean { return this.tape.entries.length > 0 }

  /** The guest's state now (between calls), for a checkpoint file. */
  image (): RuntimeImage {
    return this.tape.entries.length === 0 && this.checkpoint !== null ? this.checkpoint : this.runtime.image()
  }

  /** The QuickJS instance the script lives in now (a rollback after a fault moves it to a new one). */
  get instance (): QuickJSWASMModule { return this.runtime.instance }

  /** Gives the instance up without freeing anything: it is put back as it was prepared, or dropped whole. */
  abandon (): void {
    this.runtime.abandon()
  }

  /** A failed checkpoint leaves nothing to roll back to: the engine stops. */
  private takeCheckpoint (): void {
    const started = performance.now()
    try {
      this.checkpoint = this.runtime.image(this.checkpoint)
    } catch (err) {
      this.broken = EngineError.ROLLBACK_FAILED(`no checkpoint could be taken (${(err as Error).message})`)
      return
    }
    this.tape.clear()
    this.lastCheckpointMs = performance.now() - started
    this.measured.checkpoints++
    this.measured.checkpointMs = this.lastCheckpointMs
  }

  /**
   * Puts the checkpoint back and plays the tape. In place after a limit (QuickJS unwound cleanly);
   * into a fresh instance after a fault, which may have left the instance's own state (its stack
   * pointer) wrong. Every replayed call must end exactly as it did; if one does not, the engine stops.
   */
  private async rollback (): Promise<void> {
    const started = performance.now()
    const fault = this.rollbackDue === 'fault'
    const checkpoint = this.checkpoint!
    this.rollbackDue = null
    try {
      if (fault) this.runtime = ScriptRuntime.restore(await prepare(), this.options, this.runner.meter, this.bridge, checkpoint)
      else this.runtime.rewind(checkpoint)
    } catch (err) {
      this.broken = EngineError.ROLLBACK_FAILED(`the checkpoint could not be put back (${(err as Error).message})`)
      return
    }
    const replayed = this.tape.entries.length
    for (let i = 0; i < replayed; i++) {
      const { input, outcome, files } = this.tape.entries[i]
      const recorded = new RecordedFiles(files)
      // A live call is played with the oracle outcomes it recorded; a replayed one with what it was given.
      const again = this.runner.run({ ...input, replay: input.replay ?? { oracles: outcome.oracles } }, recorded)
      const diverged = recorded.diverged ?? (recorded.unused > 0 ? `${recorded.unused} file requests were not made again` : differingField(outcome, again))
      if (diverged !== null) {
        this.broken = EngineError.ROLLBACK_FAILED(`call ${i + 1} of the ${replayed} since the checkpoint (${input.method}) did not end as it did: ${diverged}`)
        return
      }
    }
    if (replayed > 0) this.takeCheckpoint()
    this.measured.rollbacks++
    this.measured.replayedCalls = replayed
    this.measured.rollbackMs = performance.now() - started
  }
}

/** The first field in which a replayed call's outcome differs from the recorded one, or null. */
function differingField (recorded: Outcome, again: Outcome): string | null {
  for (const field of ['resultJson', 'error', 'gas', 'oracles', 'deadlineGas', 'storageFault'] as const) {
    if (JSON.stringify(recorded[field]) !== JSON.stringify(again[field])) return `its ${field} was ${JSON.stringify(recorded[field])}, now ${JSON.stringify(again[field])}`
  }
  return null
}
