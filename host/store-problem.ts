// What a storage error says about a host's store, in words an operator can act on: damage (and which part of
// the store), a full disk, a directory another process holds, a copied directory, or no permission.
// RocksDB names the file for table, blob and manifest damage, but a damaged write-ahead log comes back as a bare
// "checksum mismatch": then the directory's write-ahead logs are named.
import { readdirSync } from 'node:fs'

export type StoreProblem =
  | { kind: 'damaged', part: string, files: string[], detail: string }
  | { kind: 'full', detail: string }
  | { kind: 'locked', detail: string }
  | { kind: 'copied', detail: string }
  | { kind: 'denied', detail: string }
  | { kind: 'other', detail: string }

const PARTS: Array<[RegExp, string]> = [
  [/^\d+\.log$/, 'the write-ahead log'],
  [/^MANIFEST-\d+$/, 'the manifest'],
  [/^CURRENT$/, 'the CURRENT file'],
  [/^\d+\.sst$/, 'a table file'],
  [/^\d+\.blob$/, 'a blob file']
]
// A RocksDB file named in a message, as a path (…/db/000014.sst) or bare (CURRENT file corrupted).
const NAMED_FILE = /(?:^|[\s:/])(\d+\.(?:log|sst|blob)|MANIFEST-\d+|CURRENT)(?=$|[\s:,.])/
const DAMAGE = /corrupt|checksum mismatch|truncated record|bad record|fragmented record|does not exist \(create_if_missing|no such file or directory|sequence number is being set backwards|bad magic number|bad block|invalid/i

/** Every error in err's cause chain (and an AggregateError's errors), outermost first. */
function chain (err: unknown): Array<{ code?: unknown, message: string }> {
  const out: Array<{ code?: unknown, message: string }> = []
  const seen = new Set<unknown>()
  const visit = (e: unknown): void => {
    if (e === null || e === undefined || seen.has(e) || out.length > 16) return
    seen.add(e)
    const { code, message, cause, errors } = e as { code?: unknown, message?: unknown, cause?: unknown, errors?: unknown }
    out.push({ code, message: typeof message === 'string' ? message : String(e) })
    visit(cause)
    if (Array.isArray(errors)) errors.forEach(visit)
  }
  visit(err)
  return out
}

/** The write-ahead logs in dbDir, as db/NAME (what a bare WAL checksum error is about). */
export function writeAheadLogs (dbDir: string): string[] {
  try {
    return readdirSync(dbDir).filter((name) => /^\d+\.log$/.test(name)).sort().map((name) => `db/${name}`)
  } catch {
    return []
  }
}

/** Classifies an error from opening, reading or writing the store whose RocksDB directory is dbDir. */
export function storeProblem (err: unknown, dbDir: string): StoreProblem {
  const errors = chain(err)
  const text = errors.map((e) => e.message).join(': ')
  const codes = new Set(errors.map((e) => e.code))
  const detail = errors[errors.length - 1]?.message ?? text
  if (codes.has('ENOSPC') || /no space left on device/i.test(text)) return { kind: 'full', detail }
  if (codes.has('DEVICE_FILE')) return { kind: 'copied', detail }
  if (codes.has('ELOCKED') || /could not be locked|lock hold by current process|resource temporarily unavailable/i.test(text)) return { kind: 'locked', detail }
  if (codes.has('EACCES') || codes.has('EPERM') || codes.has('EROFS')) return { kind: 'denied', detail }
  if (!codes.has('EIO') && !DAMAGE.test(text)) return { kind: 'other', detail }
  for (const { message } of errors) {
    const named = NAMED_FILE.exec(message)
    if (named === null) continue
    const file = named[1]
    const part = PARTS.find(([pattern]) => pattern.test(file))![1]
    return { kind: 'damaged', part, files: [`db/${file}`], detail: detail.replace(/\s+/g, ' ').trim() }
  }
  return { kind: 'damaged', part: 'the write-ahead log', files: writeAheadLogs(dbDir), detail: detail.trim() }
}
