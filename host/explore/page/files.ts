// The files archive, browsable at any version: a folder's children (folders first), and a file's text or,
// for binary files, its size, sha256 and the hex of its head. The version follows the entry chosen in the
// timeline ("as this entry left them"), or the newest verified one.
import { getJson, type FileView, type Listing } from './api.js'
import { fill, formatCount, h, type Child } from './elements.js'

export class FilesPanel {
  private version: number | null = null
  private entry: number | null = null
  private path = '/'
  private request = 0

  constructor (private readonly panel: HTMLElement) {}

  /** The archive at `version` (as entry `entry` left it, when given), from the root. */
  async show (version: number, entry: number | null = null, path = '/'): Promise<void> {
    this.version = version
    this.entry = entry
    this.path = path
    const ticket = ++this.request
    try {
      const listing = await getJson<Listing>('/api/files', { version, path })
      if (ticket === this.request) this.render(listing)
    } catch (err) {
      if (ticket === this.request) fill(this.panel, this.versionRow(), h('p', { class: 'problem' }, `Cannot list ${path} at version ${version}: ${(err as Error).message}`))
    }
  }

  /** Shows the newest verified version when nothing else was chosen. */
  showDefault (version: number | null): void {
    if (this.version === null && version !== null) void this.show(version)
  }

  private versionRow (): HTMLElement {
    const input = h('input', { type: 'number', title: 'files version' })
    input.min = '1'
    input.value = String(this.version ?? 1)
    input.addEventListener('change', () => { const v = Number(input.value); if (Number.isInteger(v) && v >= 1) void this.show(v) })
    return h('div', { class: 'version-row' }, 'Files at version', input, this.entry === null ? '' : `(as entry ${this.entry} left them)`)
  }

  private render (listing: Listing): void {
    const crumbs: Child[] = [h('button', { class: 'link', type: 'button', onClick: () => void this.show(listing.version, this.entry, '/') }, '/')]
    let at = ''
    for (const part of listing.path.split('/').filter((p) => p !== '')) {
      at += `/${part}`
      const target = at
      crumbs.push(h('button', { class: 'link', type: 'button', onClick: () => void this.show(listing.version, this.entry, target) }, part), '/')
    }
    const items = listing.items.map((item) => h('li', { data: { path: item.path } },
      h('button', { class: `link ${item.type}`, type: 'button', onClick: () => item.type === 'folder' ? void this.show(listing.version, this.entry, item.path) : void this.open(item.path) }, item.name),
      h('span', { class: 'hint' }, item.type === 'file' ? `${formatCount(item.size ?? 0)} bytes` : 'folder')))
    fill(this.panel,
      this.versionRow(),
      h('div', { class: 'crumbs' }, ...crumbs),
      items.length === 0 ? h('p', { class: 'hint' }, 'This folder is empty at this version.') : h('ul', { class: 'listing' }, ...items),
      listing.more > 0 ? h('p', { class: 'hint' }, `and ${formatCount(listing.more)} more not listed`) : null,
      h('div', { class: 'file-view' }))
  }

  private async open (path: string): Promise<void> {
    const view = this.panel.querySelector('.file-view')
    if (view === null) return
    const version = this.version!
    fill(view, h('p', { class: 'hint' }, `Loading ${path}…`))
    try {
      const file = await getJson<FileView>('/api/file', { version, path })
      fill(view,
        h('h3', null, file.path),
        h('p', { class: 'hint' }, `${formatCount(file.size)} bytes, sha256 ${file.sha256}, version ${file.version}`),
        file.text !== undefined ? h('pre', null, file.text, file.truncated ? '\n… (cut here)' : '') : h('pre', null, `binary; the first bytes in hex:\n${file.hex ?? ''}${file.truncated ? ' …' : ''}`))
    } catch (err) {
      fill(view, h('p', { class: 'problem' }, `Cannot read ${path}: ${(err as Error).message}`))
    }
  }
}
