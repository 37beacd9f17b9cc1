// The header: the verdict (the CONTRACT §8 `data-verdict` hook), the progress of the fetch and the replay,
// the keys and the script, and, on a mismatch, what verify reports: the entry, the field, expected and found.
import type { Divergence, Status } from './api.js'
import { byId, facts, fill, formatCount, h } from './elements.js'

export class Header {
  private readonly verdict = byId('verdict')
  private readonly phase = byId('phase')
  private readonly fetchedBar = byId('fetched-bar')
  private readonly replayedBar = byId('replayed-bar')
  private readonly progressText = byId('progress-text')
  private readonly facts = byId('facts')
  private readonly mismatch = byId('mismatch')
  private readonly problem = byId('problem')
  private shownFacts = ''
  private shownMismatch = ''

  constructor (private readonly onShowEntry: (index: number) => void) {}

  update (s: Status): void {
    this.verdict.dataset.verdict = s.verdict
    this.verdict.textContent = s.verdict === 'ok' ? 'verified' : s.verdict === 'mismatch' ? 'MISMATCH' : s.phase === 'connecting' ? 'connecting…' : s.phase === 'fetching' ? 'fetching…' : 'verifying…'
    this.phase.textContent = s.verdict === 'ok' ? `all ${formatCount(s.verified)} entries replayed and the archive matches; following the log` : ''
    const percent = (n: number) => s.length === 0 ? 0 : Math.min(100, n / s.length * 100)
    this.fetchedBar.style.width = `${percent(s.fetched.log)}%`
    this.replayedBar.style.width = `${percent(s.verified)}%`
    const parts = [`log: ${formatCount(Math.min(s.fetched.log, s.length))} of ${formatCount(s.length)} entries fetched`, `${formatCount(s.verified)} replayed and verified`]
    if (s.fetched.filesLength > 0) parts.push(`files: ${formatCount(s.fetched.files)} of ${formatCount(s.fetched.filesLength)} blocks`)
    if (s.counts !== null) parts.push([plural(s.counts.calls, 'call'), plural(s.counts.oracles, 'oracle value'), plural(s.counts.restarts, 'restart'), plural(s.counts.upgrades, 'upgrade')].join(', '))
    parts.push(plural(s.peers, 'peer'))
    this.progressText.textContent = parts.join(' · ')
    this.updateFacts(s)
    this.updateMismatch(s.divergence, s)
    const problems = [s.problem, ...s.warnings].filter((p): p is string => p !== null && p !== '')
    this.problem.hidden = problems.length === 0
    this.problem.textContent = problems.join(' ')
  }

  private updateFacts (s: Status): void {
    const key = JSON.stringify([s.logKey, s.filesKey, s.script, s.target, s.filesVersion, s.stateRoot])
    if (key === this.shownFacts) return
    this.shownFacts = key
    const sc = s.script
    fill(this.facts, ...facts('facts', [
      ['Call log', s.logKey === null ? '…' : h('code', null, `dat://${s.logKey}`)],
      ['Files', s.filesKey === null ? '…' : h('code', null, `dat://${s.filesKey}`)],
      ['Script', sc === null ? '…' : sc.filename],
      ['Source sha256', sc === null ? '…' : h('code', null, sc.sourceHash)],
      ['Engine', sc === null ? '…' : `${sc.engine.name} ${sc.engine.version} (wasm ${sc.engine.wasmSha256.slice(0, 12)}…)`],
      ['Mode', sc === null ? '…' : `${sc.mode}; gas ${formatCount(sc.limits.gas)}, memory ${Math.round(sc.limits.memory / 1048576)} MB, timeout ${sc.limits.timeoutMs / 1000} s`],
      ['Explored', s.target],
      ['State root', s.stateRoot === null ? '…' : h('code', null, s.stateRoot)],
      ['Files version', s.filesVersion === null ? '…' : `${s.filesVersion} (after the last verified entry)`]
    ]).childNodes)
  }

  private updateMismatch (d: Divergence | null, s: Status): void {
    const key = JSON.stringify(d)
    if (key === this.shownMismatch) return
    this.shownMismatch = key
    this.mismatch.hidden = d === null
    if (d === null) return fill(this.mismatch)
    const where = d.type === 'end'
      ? `the files archive, after the last entry (${formatCount(s.verified)} entries replayed)`
      : `entry ${d.index} (${d.type}${d.method !== null ? ` ${d.method}` : ''})`
    const pairs: Array<[string, string | Node | null]> = [
      ['method', d.method],
      ['caller', d.method !== null ? d.caller ?? 'null' : null],
      ['field', d.field],
      ['expected', h('code', null, d.expected)],
      ['found', h('code', null, d.actual)],
      ['paths', d.paths !== undefined && d.paths.length > 0 ? d.paths.join(', ') : null]
    ]
    for (const p of d.previews ?? []) pairs.push([p.path, h('code', null, `expected ${p.expected ?? '(no file)'}; found ${p.actual ?? '(no file)'}`)])
    fill(this.mismatch,
      h('h2', null, `MISMATCH at ${where}`),
      h('p', null, d.message, ' ', d.type === 'end' ? null : h('button', { class: 'link', type: 'button', onClick: () => this.onShowEntry(d.index) }, `show entry ${d.index}`)),
      facts('', pairs))
  }
}

const plural = (n: number, word: string): string => `${formatCount(n)} ${word}${n === 1 ? '' : 's'}`
