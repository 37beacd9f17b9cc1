// The few file calls the durability code makes, as promises. They go through the `fs` module object at call
// time (not named imports), so a test can watch every fdatasync and fsync the host makes.
import fs from 'node:fs'
import { dirname } from 'node:path'

function settle (resolve: () => void, reject: (err: Error) => void) {
  return (err: NodeJS.ErrnoException | null) => { if (err) reject(err); else resolve() }
}

export const durableFs = {
  open: (path: string, flags: string): Promise<number> => new Promise((resolve, reject) => fs.open(path, flags, (err, fd) => err ? reject(err) : resolve(fd))),
  close: (fd: number): Promise<void> => new Promise((resolve, reject) => fs.close(fd, settle(resolve, reject))),
  fdatasync: (fd: number): Promise<void> => new Promise((resolve, reject) => fs.fdatasync(fd, settle(resolve, reject))),
  fsync: (fd: number): Promise<void> => new Promise((resolve, reject) => fs.fsync(fd, settle(resolve, reject))),
  write: (fd: number, data: Buffer, position: number): Promise<void> => new Promise((resolve, reject) => fs.write(fd, data, 0, data.byteLength, position, (err, written) => {
    if (err) reject(err)
    else if (written !== data.byteLength) reject(new Error(`short write: ${written} of ${data.byteLength} bytes`))
    else resolve()
  })),
  read: (fd: number, length: number, position: number): Promise<Buffer> => new Promise((resolve, reject) => {
    const buf = Buffer.alloc(length)
    fs.read(fd, buf, 0, length, position, (err, n) => err ? reject(err) : resolve(buf.subarray(0, n)))
  })
}

/** fsync of a directory, so the names created in it are durable. */
export async function syncDirectory (dir: string): Promise<void> {
  const fd = await durableFs.open(dir, 'r')
  try {
    await durableFs.fsync(fd)
  } finally {
    await durableFs.close(fd)
  }
}

/**
 * Opens path for reading and writing; when it is missing, creates it holding `initial`, and fsyncs the file
 * and its directory, so the new name is durable before anything relies on it.
 */
export async function openOrCreate (path: string, initial: Buffer | null = null): Promise<number> {
  try {
    return await durableFs.open(path, 'r+')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  const fd = await durableFs.open(path, 'wx+')
  if (initial !== null) await durableFs.write(fd, initial, 0)
  await durableFs.fsync(fd)
  await syncDirectory(dirname(path))
  return fd
}
