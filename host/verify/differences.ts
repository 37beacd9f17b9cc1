// What the verifier reports about files: the paths where the replay and the host's archive (or log)
// differ, with short previews of both sides, and the comparisons that find them.
import type Hyperdrive from 'hyperdrive'
import type { Files, MemoryFiles } from '../../engine/index.js'
import { DriveFiles, sameContent, StateRoot, type Change, type LogChange } from '../index.js'
import { driveChangeAt } from './drive-history.js'

/** What a verifier shows of one file: a short preview of both sides (null: no such file). */
export interface FilePreview { path: string, expected: string | null, actual: string | null }

/** The paths that differ between two archives (or a log and an archive), with previews of a few. */
export interface FilesDifference {
  paths: string[]
  count: number
  previews: FilePreview[]
  /** compareFinalFiles: the state root of the archive's files, hashed from their bytes. */
  root?: string
}

const MAX_PATHS = 50
const MAX_PREVIEWS = 3
const PREVIEW_BYTES = 48

/** A short, printable preview of a file's bytes: its text when it is UTF-8, else hex. */
export function preview (data: Uint8Array | null): string | null {
  if (data === null) return null
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength)
  const head = buf.subarray(0, PREVIEW_BYTES)
  const text = head.toString('utf8')
  const printable = !text.includes('\uFFFD') && !/[\x00-\x08\x0E-\x1F\x7F]/.test(text)
  const more = buf.length > head.length ? `… (${buf.length} bytes)` : ''
  return printable ? JSON.stringify(text) + more : `hex ${head.toString('hex')}${more}`
}

export const equalBytes = (a: Uint8Array | null, b: Uint8Array | null) =>
  a === null || b === null ? a === b : Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b)

export class DifferenceBuilder {
  readonly diff: FilesDifference = { paths: [], count: 0, previews: [] }
  add (path: string, expected: Uint8Array | null, actual: Uint8Array | null): void {
    this.addPreviews(path, preview(expected), preview(actual))
  }

  /** The same, with previews already made (a logged change may name its content by hash only). */
  addPreviews (path: string, expected: string | null, actual: string | null): void {
    this.diff.count++
    if (this.diff.paths.length < MAX_PATHS) this.diff.paths.push(path)
    if (this.diff.previews.length < MAX_PREVIEWS) this.diff.previews.push({ path, expected, actual })
  }

  result (): FilesDifference | null { return this.diff.count === 0 ? null : this.diff }
}

/** Paths where a call's logged changes and its replayed changes differ (expected: the replay). */
export function compareChanges (logged: readonly LogChange[], replayed: readonly Change[]): FilesDifference | null {
  const out = new DifferenceBuilder()
  const loggedByPath = new Map(logged)
  const replayedByPath = new Map(replayed)
  for (const path of [...new Set([...replayedByPath.keys(), ...loggedByPath.keys()])].sort(byCodeUnit)) {
    const want = replayedByPath.get(path)
    const got = loggedByPath.get(path)
    if (want === undefined || got === undefined || !sameContent(got, want)) {
      out.addPreviews(path, want === undefined ? null : contentPreview(want), got === undefined ? null : loggedPreview(got))
    }
  }
  // The same changes repeated or in another order still misdescribe the drive's history.
  const order = (changes: ReadonlyArray<readonly [string, unknown]>) => changes.map(([path]) => path).join('\n')
  if (out.result() === null && order(logged) !== order(replayed)) {
    out.diff.count++
    out.diff.paths.push(...logged.map(([path]) => path).slice(0, MAX_PATHS))
    out.diff.previews.push({ path: '(order)', expected: order(replayed).replaceAll('\n', ', '), actual: order(logged).replaceAll('\n', ', ') })
  }
  return out.result()
}

/** A replayed file as a logged change shows it: its hash and size, then a preview ('(deleted)' for null). */
function contentPreview (data: Uint8Array | null): string {
  if (data === null) return '(deleted)'
  return `sha256 ${Buffer.from(StateRoot.hashContent(data)).toString('hex').slice(0, 16)}… (${data.byteLength} bytes) ${preview(data)}`
}

/** What a log entry says a file became. */
function loggedPreview (content: LogChange[1]): string {
  if (content === null) return '(deleted)'
  if (typeof content === 'string') return contentPreview(new Uint8Array(Buffer.from(content, 'base64')))
  return `sha256 ${content.sha256.slice(0, 16)}… (${content.size} bytes)`
}

function byCodeUnit (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** The changes the drive holds between versions from and to, each against the replayed file (expected). */
export async function driveChanges (drive: Hyperdrive, from: number, to: number, replayed: Files): Promise<FilesDifference> {
  const out = new DifferenceBuilder()
  for (let seq = Math.max(from, 1); seq < to; seq++) {
    const found = await driveChangeAt(drive, seq)
    if ('problem' in found) out.add(`(${found.problem})`, null, null)
    else out.add(found.path, await replayed.get(found.path), found.data)
  }
  return out.diff
}

/** Every path and byte of the replayed archive against the drive at version (expected: the replay). */
export async function compareFinalFiles (replayed: MemoryFiles, drive: Hyperdrive, version: number): Promise<FilesDifference | null> {
  const out = new DifferenceBuilder()
  const root = new StateRoot()
  const checkout = DriveFiles.checkout(drive, version)
  const read = async (path: string) => {
    const data = await checkout.get(path)
    if (data !== null) root.set(path, StateRoot.hashContent(data))
    return data
  }
  try {
    const mine = replayed.entries()
    const theirs = await checkout.list('/')
    let i = 0
    let j = 0
    while (i < mine.length || j < theirs.length) {
      const a = i < mine.length ? mine[i][0] : null
      const b = j < theirs.length ? theirs[j] : null
      if (b === null || (a !== null && a < b)) {
        out.add(a!, mine[i++][1], null)
      } else if (a === null || b < a) {
        out.add(b, null, await read(theirs[j++]))
      } else {
        const actual = await read(b)
        if (!equalBytes(mine[i][1], actual)) out.add(a, mine[i][1], actual)
        i++
        j++
      }
    }
  } finally {
    await checkout.close()
  }
  const diff = out.result()
  if (diff !== null) diff.root = root.digest()
  return diff
}
