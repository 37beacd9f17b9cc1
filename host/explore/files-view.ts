// The files archive as the page browses it: one folder's children, or one file, at any version of the
// archive (a read-only checkout, closed after each answer). Listings are bounded.
import type Hyperdrive from 'hyperdrive'
import type { FileView, FolderItem, Listing } from './page/wire.js'
import { fileContent } from './previews.js'

const MAX_ITEMS = 500

/** A path the page may ask for: absolute, no empty or dot segments, no NUL. */
export function isArchivePath (path: string): boolean {
  if (path === '/') return true
  return path.length <= 4096 && path.startsWith('/') && !path.includes('\0') &&
    path.slice(1).split('/').every((part) => part !== '' && part !== '.' && part !== '..')
}

/** The children of folder `path` at `version`, folders first, each kind sorted; more: how many were left out. */
export async function listFolder (drive: Hyperdrive, version: number, path: string): Promise<Listing> {
  const checkout = drive.checkout(version)
  try {
    const names: string[] = []
    for await (const name of checkout.readdir(path)) names.push(name)
    names.sort()
    const base = path === '/' ? '' : path
    const items: FolderItem[] = []
    for (const name of names.slice(0, MAX_ITEMS)) {
      const full = `${base}/${name}`
      const entry = await checkout.entry(full)
      const blob = entry?.value.blob as { byteLength?: number } | null | undefined
      items.push(blob !== null && blob !== undefined ? { name, path: full, type: 'file', size: blob.byteLength ?? 0 } : { name, path: full, type: 'folder' })
    }
    items.sort((a, b) => a.type === b.type ? 0 : a.type === 'folder' ? -1 : 1)
    return { version, path, items, more: Math.max(0, names.length - MAX_ITEMS) }
  } finally {
    await checkout.close()
  }
}

/** One file at `version`, or null when there is no such file then. */
export async function readArchiveFile (drive: Hyperdrive, version: number, path: string): Promise<FileView | null> {
  const checkout = drive.checkout(version)
  try {
    const data = await checkout.get(path)
    return data === null ? null : { path, version, ...fileContent(data) }
  } finally {
    await checkout.close()
  }
}
