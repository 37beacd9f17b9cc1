// The explorer's JSON API as the page calls it (its shapes are in wire.ts, shared with the explorer).
import type { EntryStatus, Status } from './wire.js'
import { statusOf as statusAt } from './wire.js'

export type { Chart, Detail, Divergence, DiffLine, FileChange, FileView, JsonPreview, Listing, Row, Status } from './wire.js'

/** GET a JSON answer; an error answer throws with the explorer's message. */
export async function getJson<T> (path: string, params: Record<string, string | number> = {}): Promise<T> {
  const query = new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)])).toString()
  const res = await fetch(query === '' ? path : `${path}?${query}`, { cache: 'no-store' })
  const body = await res.json() as T & { error?: string }
  if (!res.ok) throw new Error(body.error ?? `HTTP ${res.status}`)
  return body
}

/** Entry i's status as of this status answer. */
export function statusOf (index: number, status: Status): EntryStatus {
  return statusAt(index, status.verified, status.divergence)
}
