// verifyLog: one whole verification, as `nodevms verify` runs it: a LogVerifier that follows a live log
// for a few rounds, then judges the files archive.
import type Hyperdrive from 'hyperdrive'
import { HostError, type CallLog } from '../index.js'
import type { VerifyReport } from './report.js'
import { LogVerifier, type VerifyOptions } from './verifier.js'

const FOLLOW_ROUNDS = 4 // times the replay catches up with a live log before judging the archive

/** Replays and checks the whole log against the drive. Throws NOT_A_NODEVMS_LOG for a foreign core. */
export async function verifyLog (log: CallLog, drive: Hyperdrive, options: VerifyOptions = {}): Promise<VerifyReport> {
  const verifier = new LogVerifier(log, drive, options)
  try {
    // A live host may append while we replay: its newer changes are then in newer entries, not unlogged.
    // So the replay follows the log (a few rounds) before the archive is judged.
    for (let round = 0; ; round++) {
      const report = await verifier.advance()
      if (!report.ok) return report
      const last = round >= FOLLOW_ROUNDS
      if (!last && await logGrew(log, report.entries)) continue
      const verdict = await verifier.checkArchive()
      if (verdict?.field === 'files.unlogged' && !last && await logGrew(log, report.entries)) continue
      options.onProgress?.(report.entries, report.entries)
      return verifier.report(verdict)
    }
  } finally {
    await verifier.close()
  }
}

/** Whether the log grew past `index`. A host that cannot be reached now keeps the verdict so far; a newer
 *  tree that fails its checks (bulk fetch: truncated, forked, not signed) is a verdict of its own. */
async function logGrew (log: CallLog, index: number): Promise<boolean> {
  await log.core.update({ wait: false }).catch((err) => {
    if (err instanceof HostError && (err.code === 'BLOCKS_REFUSED' || err.code === 'BAD_FRAME')) throw err
    return false
  })
  return log.length > index
}
