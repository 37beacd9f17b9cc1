// verify --dir: open a stopped host's directory (its corestore, call log and files archive, as the host
// names them) for verification.
import { existsSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import Corestore from 'corestore'
import Hyperdrive from 'hyperdrive'
import { CallLog, HostError, LOG_CORE_NAME } from '../index.js'
import type { VerifySource } from './source.js'

const isLockError = (err: unknown) => /lock/i.test(String((err as Error)?.message ?? '')) || (err as { code?: string })?.code === 'ELOCKED'

/** Opens a stopped host's directory: its corestore, call log and files archive, as the host names them. */
export async function openHostDir (dir: string): Promise<VerifySource> {
  const abs = resolve(dir)
  if (!existsSync(abs) || !statSync(abs).isDirectory()) throw HostError.NOT_A_HOST_DIR(abs, 'there is no such directory')
  if (!existsSync(join(abs, 'CORESTORE')) && !existsSync(join(abs, 'db'))) throw HostError.NOT_A_HOST_DIR(abs, 'it holds no corestore')
  const store = new Corestore(abs)
  try {
    await store.ready()
  } catch (err) {
    await store.close().catch(() => {})
    if (isLockError(err)) throw HostError.HOST_RUNNING(abs, err)
    throw err
  }
  const core = store.get({ name: LOG_CORE_NAME })
  const drive = new Hyperdrive(store.session())
  try {
    await core.ready()
    await drive.ready()
  } catch (err) {
    await drive.close().catch(() => {})
    await core.close().catch(() => {})
    await store.close()
    throw err
  }
  return {
    log: new CallLog(core),
    drive,
    remember: async () => {},
    close: async () => {
      await drive.close()
      await core.close()
      await store.close()
    }
  }
}
