// The last logged counter of every signing key (CONTRACT §5: each key's counters strictly increase). The
// committer keeps a snapshot of them, and the log length it covers, in the log core's user data, written
// in the same atom as the entries, so start-up reads only the entries after it, not the whole log.
import type Hypercore from 'hypercore'
import type { CallLog } from './call-log.js'

const COUNTERS_KEY = 'nodevms/auth-counters'

export interface CounterSnapshot { length: number, counters: Record<string, number> }

/** Stages the snapshot on `core` (an atomic session of the log: it lands with the group's entries). */
export async function writeCounterSnapshot (core: Hypercore, snapshot: CounterSnapshot): Promise<void> {
  await core.setUserData(COUNTERS_KEY, Buffer.from(JSON.stringify(snapshot)))
}

/** The counter snapshot, or null when there is none or it does not fit this log. */
export async function readCounterSnapshot (log: CallLog): Promise<CounterSnapshot | null> {
  const data = await log.core.getUserData(COUNTERS_KEY)
  if (data === null) return null
  try {
    const snapshot = JSON.parse(data.toString('utf8')) as CounterSnapshot
    if (!Number.isInteger(snapshot.length) || snapshot.length > log.length || typeof snapshot.counters !== 'object' || snapshot.counters === null) return null
    return snapshot
  } catch {
    return null
  }
}

/** The last logged counter of every signing key: the snapshot, then the signed calls logged after it. */
export async function readLastCounters (log: CallLog): Promise<Map<string, number>> {
  await log.core.ready()
  const snapshot = await readCounterSnapshot(log)
  const counters = new Map(Object.entries(snapshot?.counters ?? {}))
  const from = Math.max(1, snapshot?.length ?? 1)
  if (log.length > from) {
    for await (const entry of log.read(from)) {
      if (entry.type === 'call' && entry.auth !== undefined && 'pubkey' in entry.auth) {
        const { pubkey, counter } = entry.auth
        if (counter > (counters.get(pubkey) ?? -1)) counters.set(pubkey, counter)
      }
    }
  }
  return counters
}
