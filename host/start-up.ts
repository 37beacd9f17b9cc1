// What a host decides from its directory before it takes calls: that the directory may be used, crash
// recovery from the log (recovery.ts), whether the files are where the log left them, and the lifecycle
// entry (init, restart or upgrade) this start appends.
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
  dir: string, source: string, filename: string, refuseUpgrade?: boolean
  mode: Mode, limits: Limits, filesKey: string, files: FilesPoint
}

/** The entry this start appends: init on an empty log, restart for the same source, else upgrade (or SCRIPT_CHANGED). */
export function lifecycleEntry (previous: LogEntry | null, input: StartInput): LogEntry {
  const engine: EngineInfo = { name: ENGINE_NAME, version: ENGINE_VERSION, wasmSha256: wasmSha256() }
  const { source, filename } = input
  const sourceHash = sha256Hex(source)
  const common = { engine, mode: input.mode, limits: input.limits }
  if (previous === null) return { type: 'init', version: 1, filename, source, sourceHash, ...common, filesKey: input.filesKey }
  const state = { filesVersion: input.files.filesVersion, stateRoot: input.files.stateRoot }
  if ('sourceHash' in previous && previous.sourceHash === sourceHash) return { type: 'restart', sourceHash, ...common, ...state }
  if (input.refuseUpgrade === true) throw HostError.SCRIPT_CHANGED(input.dir, filename)
  return { type: 'upgrade', filename, source, sourceHash, ...common, ...state }
}
