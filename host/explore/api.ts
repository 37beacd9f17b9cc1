// The explorer's JSON API, which the page calls on its own origin. Every answer is bounded: rows come in
// pages of at most MAX_ROWS, values and files as previews, listings cut at a few hundred items.
//   GET /api/status                         the header: keys, script, progress, verdict, divergence
//   GET /api/entries?from=N&count=M         timeline rows N..N+M-1 (entries already indexed)
//   GET /api/entry?index=N                  one entry in full, with its file changes before and after
//   GET /api/chart?width=W                  calls and gas over the log in at most W buckets, restarts, upgrades
//   GET /api/files?version=V&path=/dir      a folder of the archive at version V
//   GET /api/file?version=V&path=/file      a file of the archive at version V
import type Hyperdrive from 'hyperdrive'
import type { CallLog } from '../index.js'
import type { VerifyDivergence } from '../verify/index.js'
import { chartData } from './chart.js'
import { entryDetail, entryRow } from './entry-view.js'
import { isArchivePath, listFolder, readArchiveFile } from './files-view.js'
import type { LogIndex } from './log-index.js'
import type { EntryStatus, Row } from './page/wire.js'

/** What the API reads: the explorer's state. */
export interface ExplorerModel {
  readonly index: LogIndex
  readonly log: CallLog | null
  readonly drive: Hyperdrive | null
  readonly divergence: VerifyDivergence | null
  statusOf (index: number): EntryStatus
  status (): unknown
}

export interface ApiAnswer { status: number, body: unknown }

export const MAX_ROWS = 500

const answer = (body: unknown): ApiAnswer => ({ status: 200, body })
const refuse = (status: number, error: string): ApiAnswer => ({ status, body: { error } })

/** An integer query parameter within [min, max], its default when absent, or a refusal saying what was wrong. */
function integer (query: URLSearchParams, name: string, min: number, max: number, fallback?: number): number | ApiAnswer {
  const raw = query.get(name)
  if (raw === null && fallback !== undefined) return fallback
  const n = raw === null || !/^\d{1,15}$/.test(raw) ? NaN : Number(raw)
  if (!Number.isSafeInteger(n) || n < min || n > max) return refuse(400, `${name} must be an integer from ${min} to ${max}${raw === null ? '' : `, not ${JSON.stringify(raw.slice(0, 40))}`}`)
  return n
}

export async function answerApi (model: ExplorerModel, path: string, query: URLSearchParams): Promise<ApiAnswer> {
  if (path === '/api/status') return answer(model.status())
  if (path === '/api/chart') {
    const width = integer(query, 'width', 1, 100_000, 1000)
    return typeof width === 'number' ? answer(chartData(model.index, width)) : width
  }
  const { log, drive } = model
  if (log === null || drive === null) return refuse(503, 'the log is not open yet: try again in a moment')
  switch (path) {
    case '/api/entries': {
      const from = integer(query, 'from', 0, model.index.length, 0)
      if (typeof from !== 'number') return from
      const count = integer(query, 'count', 1, MAX_ROWS, 100)
      if (typeof count !== 'number') return count
      const rows: Row[] = []
      let i = from
      for await (const entry of log.read(from, Math.min(from + count, model.index.length))) rows.push(entryRow(entry, i, model.statusOf(i++)))
      return answer({ from, length: model.index.length, rows })
    }
    case '/api/entry': {
      const index = integer(query, 'index', 0, Math.max(0, model.index.length - 1))
      if (typeof index !== 'number') return index
      if (index >= model.index.length) return refuse(404, `entry ${index} is not fetched yet`)
      return answer(await entryDetail(await log.get(index), index, model.statusOf(index), drive, model.divergence))
    }
    case '/api/files':
    case '/api/file': {
      const version = integer(query, 'version', 1, Math.max(1, drive.version), drive.version)
      if (typeof version !== 'number') return version
      const target = query.get('path') ?? '/'
      if (!isArchivePath(target)) return refuse(400, `path must be an absolute path in the archive, not ${JSON.stringify(target.slice(0, 200))}`)
      if (path === '/api/files') return answer(await listFolder(drive, version, target))
      const file = await readArchiveFile(drive, version, target)
      return file === null ? refuse(404, `there is no file ${target} at version ${version}`) : answer(file)
    }
  }
  return refuse(404, `no such API: ${path.slice(0, 200)}`)
}
