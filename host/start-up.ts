// What a host decides from its directory before it takes calls: that the directory may be used, crash
// recovery from the log (recovery.ts), whether the files are where the log left them, and the lifecycle
// entry (init, restart or upgrade) this start appends, with whether the script's memory is restored first.
import { accessSync, constants as fsConstants, mkdirSync, readdirSync } from 'node:fs'
import type Hyperdrive from 'hyperdrive'
import { ENGINE_NAME, ENGINE_VERSION, wasmSha256 } from '../engine/index.js'
import { sha256Hex, type CallLog, type EngineInfo, type Limits, type LogEntry, type Mode } from './call-log.js'
import type { FilesPoint } from './call-entry.js'
import { freeBytes } from './disk-full.js'
import { HostError } from './errors.js'
import { readTail, recover, type LogTail } from './recovery.js'
import { StateRoot } from './state-root.js'

/** Creates dir when missing; refuses one that cannot be written, or that holds something else. */
export function prepareHostDir (dir: string): void {
  try {
    mkdirSync(dir, { recursive: true })
    accessSync(dir, fsConstants.W_OK)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOSPC') throw HostError.DISK_FULL(dir, freeBytes(dir), err)
    throw HostError.DIR_UNUSABLE(dir, err)
  }
  const names = readdirSync(dir)
  if (names.length > 0 && !names.includes('CORESTORE')) throw HostError.DIR_NOT_NODEVMS(dir)
}

/** Checks the log's first entry against the drive, reads the tail, and applies what the drive missed. */
export async function recoverFromLog (log: CallLog, drive: Hyperdrive): Promise<{ tail: LogTail, recovered: number }> {
  const filesKey = drive.key.toString('hex')
  const first = await log.get(0)
  if (first.type !== 'init') throw HostError.LOG_CORRUPT(log.key, 'block 0 is not an init entry')
  if (first.filesKey !== filesKey) throw HostError.LOG_CORRUPT(log.key, `its files key ${first.filesKey} is not this directory's archive ${filesKey}`)
  const tail = await readTail(log, drive.version)
  return { tail, recovered: await recover(drive, tail.unapplied) }
}

/** A warning when the files are not where the log's last entry left them (changed outside the log), else null. */
export function filesMismatch (last: LogEntry, files: FilesPoint): string | null {
  const logged = 'filesVersion' in last ? { version: last.filesVersion, root: last.stateRoot } : { version: 1, root: new StateRoot().digest() }
  if (files.filesVersion === logged.version && files.stateRoot === logged.root) return null
  return `The files archive (version ${files.filesVersion}, state root ${files.stateRoot}) is not what the call log ends with ` +
    `(version ${logged.version}, state root ${logged.root}): the files were changed outside the log. ` +
    'They are left as they are; nodevms verify will report it.'
}

export interface StartInput {
  dir: string, source: string, filename: string
  /** Run a source that differs from the log's, logging an upgrade (otherwise SCRIPT_CHANGED). */
  upgrade?: boolean
  /** Start with empty memory instead of restoring it. */
  fresh?: boolean
  mode: Mode, limits: Limits, filesKey: string, files: FilesPoint
}

/** What this start appends, and whether the script's memory is restored before it. */
export interface StartPlan { entry: LogEntry, restore: boolean }

/**
 * The entry this start appends: init on an empty log; for the log's own source a restart, restored unless
 * `fresh` (LIMITS_CHANGED when the memory was built under other limits); for another source an upgrade with
 * `upgrade`, else SCRIPT_CHANGED naming both sources' hashes.
 */
export function startPlan (previous: LogEntry | null, input: StartInput): StartPlan {
  const engine: EngineInfo = { name: ENGINE_NAME, version: ENGINE_VERSION, wasmSha256: wasmSha256() }
  const { source, filename } = input
  const sourceHash = sha256Hex(source)
  const common = { engine, mode: input.mode, limits: input.limits }
  if (previous === null) return { entry: { type: 'init', version: 1, filename, source, sourceHash, ...common, filesKey: input.filesKey }, restore: false }
  if (previous.type === 'call') throw new Error('startPlan needs the newest lifecycle entry')
  const state = { filesVersion: input.files.filesVersion, stateRoot: input.files.stateRoot }
  if (previous.sourceHash === sourceHash) {
    const restored = input.fresh !== true
    if (restored) {
      const logged = describeRun(previous.mode, previous.limits)
      const given = describeRun(input.mode, input.limits)
      if (logged !== given) throw HostError.LIMITS_CHANGED(input.dir, logged, given)
    }
    return { entry: { type: 'restart', sourceHash, ...common, ...state, restored }, restore: restored }
  }
  if (input.upgrade !== true) throw HostError.SCRIPT_CHANGED(input.dir, filename, previous.sourceHash, sourceHash)
  return { entry: { type: 'upgrade', filename, source, sourceHash, ...common, ...state }, restore: false }
}

/** Mode and limits in words: two runs restore each other's memory only when these are equal. */
function describeRun (mode: Mode, limits: Limits): string {
  return `gas ${limits.gas}, memory ${limits.memory / 1048576} MB, timeout ${limits.timeoutMs / 1000} s, ${mode} mode`
}
