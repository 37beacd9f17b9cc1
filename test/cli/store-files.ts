// What a directory holds, file by file, for tests that check a command changed nothing in it.
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'

/** Every file under dir (relative path → sha256 of its content, size and mtime), sorted by path. */
export function fingerprint (dir: string): Record<string, string> {
  const out: Record<string, string> = {}
  const walk = (at: string): void => {
    for (const name of readdirSync(at).sort()) {
      const full = join(at, name)
      const stat = statSync(full)
      if (stat.isDirectory()) walk(full)
      else out[relative(dir, full)] = `${createHash('sha256').update(readFileSync(full)).digest('hex')} ${stat.size} ${stat.mtimeMs}`
    }
  }
  walk(dir)
  return out
}
