// verify --dir: open a stopped host's directory (its corestore, call log and files archive, as the host
// names them) for verification, read-only: nothing in it is written, a copy (cp -a) opens like the original,
// and a running host is refused (HOST_RUNNING). Damage anywhere in the store is refused (STORE_DAMAGED)
// before anything is replayed: the whole store is read once, and it must hold what its host acknowledged.
import { existsSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import Hyperdrive from 'hyperdrive'
import { CallLog, checkAcknowledged, HostError, HostStore, JOURNAL_FILE, journaledCalls, LOG_CORE_NAME, StoreAudit } from '../index.js'
import type { VerifySource } from './source.js'

/** Opens a stopped host's directory: its corestore, call log and files archive, as the host names them. */
export async function openHostDir (dir: string): Promise<VerifySource> {
  const abs = resolve(dir)
  if (!existsSync(abs) || !statSync(abs).isDirectory()) throw HostError.NOT_A_HOST_DIR(abs, 'there is no such directory')
  if (!existsSync(join(abs, 'CORESTORE')) && !existsSync(join(abs, 'db'))) throw HostError.NOT_A_HOST_DIR(abs, 'it holds no corestore')
  const hostStore = await HostStore.open(abs, { readOnly: true })
  const core = hostStore.store.get({ name: LOG_CORE_NAME })
  const drive = new Hyperdrive(hostStore.store.session())
  const warnings: string[] = []
  let log: CallLog
  const close = async (): Promise<void> => {
    await drive.close().catch(() => {})
    await core.close().catch(() => {})
    await hostStore.close()
  }
  try {
    await core.ready()
    await drive.ready()
    await new StoreAudit(hostStore).run()
    await checkAcknowledged(abs, core, drive)
    log = new CallLog(core)
    // A host stopped between answering calls and writing them to the cores: its journal holds them, and its
    // next start writes them; what is verified here is the log as it is.
    const missing = await journaledCalls(abs, log)
    if (missing.length > 0) {
      warnings.push(`${abs}/${JOURNAL_FILE} holds ${missing.length} answered call(s) after the call log's last entry: the host stopped before ` +
        `writing them to the log, and writes them when it starts again. This verifies the log as it is, up to entry ${log.length - 1}.`)
    }
  } catch (err) {
    await close()
    throw hostStore.explain(err)
  }
  return { log, drive, remember: async () => {}, close, explain: (err) => hostStore.explain(err), warnings }
}
