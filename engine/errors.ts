// The engine's one error class for host-side failures, and the names of the errors a call can record.

export class EngineError extends Error {
  readonly code: string
  constructor (message: string, code: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'EngineError'
    this.code = code
  }

  static SCRIPT_SYNTAX (filename: string, detail: string): EngineError {
    return new EngineError(`${filename} has a syntax error: ${detail}. Fix the script and start again.`, 'SCRIPT_SYNTAX')
  }

  static SCRIPT_LOAD_FAILED (filename: string, detail: string): EngineError {
    return new EngineError(`${filename} threw while loading: ${detail}. The script's top level must run without errors.`, 'SCRIPT_LOAD_FAILED')
  }

  static METHOD_NOT_FOUND (method: string, methods: string[]): EngineError {
    return new EngineError(`The script has no method "${method}". It exports: ${methods.join(', ') || '(nothing)'}.`, 'METHOD_NOT_FOUND')
  }

  static INVALID_ARGS (method: string, detail: string): EngineError {
    return new EngineError(`The arguments to "${method}" are not JSON values: ${detail}.`, 'INVALID_ARGS')
  }

  static ENGINE_CLOSED (): EngineError {
    return new EngineError('The engine is closed. Create a new one with createEngine().', 'ENGINE_CLOSED')
  }

  static WORKER_DIED (why: string): EngineError {
    return new EngineError(`The engine's worker thread died (${why}); its in-memory state is gone. Recreate the engine.`, 'WORKER_DIED')
  }

  static CHECKPOINT_REFUSED (why: string): EngineError {
    return new EngineError(`The checkpoint cannot be trusted: ${why}. Create the engine from the script and replay its calls instead.`, 'CHECKPOINT_REFUSED')
  }

  static ROLLBACK_FAILED (why: string): EngineError {
    return new EngineError(`The engine could not put its memory back after a call that hit a limit: ${why}. Recreate the engine and replay its calls.`, 'ROLLBACK_FAILED')
  }

  static ENGINE_PROTOCOL (what: string): EngineError {
    return new EngineError(`The engine's worker sent ${what}. Recreate the engine.`, 'ENGINE_PROTOCOL')
  }

  static INVALID_PATH (path: string, reason: string): EngineError {
    return new EngineError(`Invalid path ${JSON.stringify(path)}: ${reason}.`, 'INVALID_PATH')
  }
}

/** Error names recorded in CallRecord.error by the engine itself (scripts' own errors keep their names). */
export const CallErrorName = {
  GAS_EXHAUSTED: 'GasExhaustedError',
  DEADLINE_EXCEEDED: 'DeadlineExceededError',
  OUT_OF_MEMORY: 'OutOfMemoryError',
  UNSETTLED: 'UnsettledPromiseError',
  ENGINE_FAULT: 'EngineFaultError',
  REPLAY_DIVERGED: 'ReplayDivergenceError'
} as const
