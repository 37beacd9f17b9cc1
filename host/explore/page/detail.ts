// An entry in full: for a call its caller, arguments, result or error, oracle values, gas, the files it
// changed (a line diff for text, sizes and hashes for binary) and the state root; for init, restart and
// upgrade entries the script, engine, mode and limits. A mismatch at this entry comes first, in red.
import { getJson, type Detail, type Divergence, type FileChange, type JsonPreview } from './api.js'
import { facts, fill, formatCount, h, short, type Child } from './elements.js'

export class EntryPanel {
  private shown: number | null = null
  private request = 0

  constructor (private readonly panel: HTMLElement, private readonly onBrowse: (version: number, index: number) => void) {}

  /** Loads and shows entry `index`; a later show() wins over an earlier one still loading. */
  async show (index: number): Promise<void> {
    const ticket = ++this.request
    this.shown = index
    fill(this.panel, h('p', { class: 'hint' }, `Loading entry ${index}…`))
    try {
      const detail = await getJson<Detail>('/api/entry', { index })
      if (ticket === this.request) this.render(detail)
    } catch (err) {
      if (ticket === this.request) fill(this.panel, h('p', { class: 'problem' }, `Entry ${index} cannot be shown: ${(err as Error).message}`))
    }
  }

  /** Shows the entry again when its status may have changed. */
  refresh (): void {
    if (this.shown !== null) void this.show(this.shown)
  }

  get current (): number | null { return this.shown }

  private render (d: Detail): void {
    const title = d.call !== undefined ? `${d.kind} ${d.call.method}` : d.kind
    const parts: Child[] = [
      h('h2', null, `Entry ${d.index}: ${title}`, h('span', { class: `badge status-${d.status}` }, d.status)),
      d.divergence === null ? null : divergence(d.divergence)
    ]
    if (d.call !== undefined) {
      const c = d.call
      const auth = c.auth === null ? null : 'debug' in c.auth ? 'none: a debug name, the host\'s word' : `ed25519, counter ${c.auth.counter}, signature ${short(c.auth.signature, 16)}`
      parts.push(facts('kv', [
        ['caller', h('span', { class: `caller-${c.caller.kind}` }, h('span', { class: 'badge' }, c.caller.kind), c.caller.id ?? 'anonymous')],
        ['signature', auth],
        ['gas', formatCount(c.gas)],
        ['deadline at gas', c.deadlineGas === undefined ? null : formatCount(c.deadlineGas)],
        ['time', c.time === undefined ? null : `${new Date(c.time).toISOString()} (seeded)`],
        ['seed', c.seed ?? null],
        ['files version', d.filesVersion === null ? null : String(d.filesVersion)],
        ['state root', d.stateRoot === null ? null : h('code', null, d.stateRoot)]
      ]))
      parts.push(h('h3', null, 'Arguments'), json(c.args))
      if (c.error !== undefined) parts.push(h('h3', null, 'Error'), h('pre', { class: 'outcome-error' }, `${c.error.name}: ${c.error.message}`))
      else if (c.result !== undefined) parts.push(h('h3', null, 'Result'), json(c.result))
      parts.push(h('h3', null, `Oracle values (${c.oracles.json === '[]' ? 'none' : 'in order'})`), json(c.oracles))
    } else if (d.script !== undefined) {
      const s = d.script
      parts.push(facts('kv', [
        ['script', s.filename],
        ['source sha256', h('code', null, s.sourceHash)],
        ['engine', `${s.engine.name} ${s.engine.version}, wasm ${s.engine.wasmSha256}`],
        ['mode', s.mode],
        ['limits', JSON.stringify(s.limits)],
        ['files key', s.filesKey === undefined ? null : h('code', null, `dat://${s.filesKey}`)],
        ['files version', d.filesVersion === null ? null : String(d.filesVersion)],
        ['state root', d.stateRoot === null ? null : h('code', null, d.stateRoot)]
      ]))
      if (s.source !== null) parts.push(h('h3', null, 'Source'), json(s.source, true))
    }
    if (d.changes !== null) {
      parts.push(h('h3', null, d.changes.total === 0 ? 'Files changed: none' : `Files changed (${d.changes.total})`))
      for (const change of d.changes.shown) parts.push(fileChange(change))
      if (d.changes.total > d.changes.shown.length) parts.push(h('p', { class: 'hint' }, `and ${d.changes.total - d.changes.shown.length} more`))
    }
    if (d.filesVersion !== null) {
      const version = d.filesVersion
      parts.push(h('p', null, h('button', { class: 'link', type: 'button', onClick: () => this.onBrowse(version, d.index) }, `Browse the files as this entry left them (version ${version})`)))
    }
    fill(this.panel, ...parts)
  }
}

function json (preview: JsonPreview, isSource = false): HTMLElement {
  // A source is a JSON string: show its text, not its escaped form.
  const text = isSource ? sourceText(preview) : preview.json
  return h('pre', null, text, preview.truncated ? '\n… (cut here)' : '')
}

function sourceText (preview: JsonPreview): string {
  if (preview.truncated) return preview.json
  try {
    return String(JSON.parse(preview.json))
  } catch {
    return preview.json
  }
}

function divergence (d: Divergence): HTMLElement {
  const pairs: Array<[string, Child]> = [
    ['field', d.field], ['expected', h('code', null, d.expected)], ['found', h('code', null, d.actual)],
    ['paths', d.paths !== undefined && d.paths.length > 0 ? d.paths.join(', ') : null]
  ]
  for (const p of d.previews ?? []) pairs.push([p.path, `expected ${p.expected ?? '(no file)'}; found ${p.actual ?? '(no file)'}`])
  return h('div', { class: 'diverged' }, h('h3', null, 'Mismatch at this entry'), h('p', null, d.message), facts('kv', pairs))
}

function fileChange (c: FileChange): HTMLElement {
  const what = c.after === null ? 'deleted' : c.before === null && c.beforeUnavailable !== true ? 'added' : 'changed'
  const side = (s: { size: number, sha256: string } | null) => s === null ? 'no file' : `${formatCount(s.size)} bytes, sha256 ${short(s.sha256, 8)}`
  const before = c.beforeUnavailable === true ? 'not available (not fetched)' : side(c.before)
  const body: Child = c.diff === null
    ? h('div', { class: 'sides' }, 'binary: ', `before ${before}; after ${side(c.after)}`)
    : h('pre', { class: 'diff' }, ...c.diff.map(([op, text]) => h('div', { class: op === '+' ? 'add' : op === '-' ? 'del' : op === '@' ? 'fold' : 'ctx' }, op === '@' ? `⋯ ${text}` : `${op} ${text}`)))
  return h('div', { class: 'file-change', data: { path: c.path } },
    h('div', { class: 'path' }, h('code', null, c.path), h('span', { class: 'badge' }, what), h('span', { class: 'hint' }, `before: ${before}; after: ${side(c.after)}`)),
    body)
}
