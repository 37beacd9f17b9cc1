// A stopped host's corestore opened directly, with the names the host uses: its call log and its drive.
import Corestore from 'corestore'
import Hyperdrive from 'hyperdrive'
import { CallLog, LOG_CORE_NAME } from '../../host/index.js'

export interface StoppedStore { store: Corestore, log: CallLog, drive: Hyperdrive, close (): Promise<void> }

/** Opens a stopped host's corestore directly: its log and its drive with their own keys. */
export async function openStore (dir: string): Promise<StoppedStore> {
  const store = new Corestore(dir)
  const log = new CallLog(store.get({ name: LOG_CORE_NAME }))
  await log.core.ready()
  const drive = new Hyperdrive(store.session())
  await drive.ready()
  return { store, log, drive, close: async () => { await drive.close(); await log.core.close(); await store.close() } }
}
