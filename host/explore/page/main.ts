// The explorer page: polls the explorer's status and keeps the header, the chart and the timeline up to
// date; a click on an entry (or on the chart) shows it; the files tab browses the archive. The address
// names the entry shown (#entry=N), so a link opens the page at that entry.
import { getJson, type Status } from './api.js'
import { Chart } from './chart.js'
import { EntryPanel } from './detail.js'
import { byId } from './elements.js'
import { FilesPanel } from './files.js'
import { Header } from './header.js'
import { Timeline } from './timeline.js'

const POLL_MS = 500

const entryTab = byId<HTMLButtonElement>('tab-entry')
const filesTab = byId<HTMLButtonElement>('tab-files')
const entryPanel = byId('entry-panel')
const filesPanel = byId('files-panel')

function showTab (which: 'entry' | 'files'): void {
  entryTab.classList.toggle('active', which === 'entry')
  filesTab.classList.toggle('active', which === 'files')
  entryPanel.hidden = which !== 'entry'
  filesPanel.hidden = which !== 'files'
}

const files = new FilesPanel(filesPanel)
const detail = new EntryPanel(entryPanel, (version, index) => {
  showTab('files')
  void files.show(version, index)
})
const timeline = new Timeline(byId('timeline'), byId('timeline-rows'), byId('timeline-space'), byId<HTMLInputElement>('follow'), (index) => {
  showTab('entry')
  history.replaceState(null, '', `#entry=${index}`) // a link to this entry
  void detail.show(index)
})
const chart = new Chart(byId<HTMLCanvasElement>('chart'), byId('chart-scale'), (index) => timeline.select(index))
const header = new Header((index) => timeline.select(index))
entryTab.addEventListener('click', () => showTab('entry'))
filesTab.addEventListener('click', () => showTab('files'))

let last: Status | null = null
/** An entry named by the address (#entry=N), shown once the timeline has it. */
let linked: number | null = null

function readLink (): void {
  const match = /^#entry=(\d{1,15})$/.exec(location.hash)
  linked = match === null ? null : Number(match[1])
  if (last !== null) showLinked(last)
}

function showLinked (status: Status): void {
  if (linked === null || linked >= status.indexed) return
  const index = linked
  linked = null
  byId<HTMLInputElement>('follow').checked = false
  timeline.select(index)
}

window.addEventListener('hashchange', readLink)
readLink()

async function poll (): Promise<void> {
  try {
    const status = await getJson<Status>('/api/status')
    timeline.update(status) // first: it asks for the rows in view
    header.update(status)
    chart.update(status)
    files.showDefault(status.filesVersion)
    showLinked(status)
    // The entry shown may have just been verified (or found wrong): show its new status.
    const shown = detail.current
    if (last !== null && shown !== null && shown >= last.verified && shown < Math.max(status.verified, status.divergence?.index ?? -1) + 1) detail.refresh()
    last = status
  } catch (err) {
    const problem = byId('problem')
    problem.hidden = false
    problem.textContent = `The explorer does not answer (${(err as Error).message}): is nodevms explore still running?`
  }
  setTimeout(() => { void poll() }, POLL_MS)
}

void poll()
