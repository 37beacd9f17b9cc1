// The timeline: one row per log entry, virtualised so that a log of any length costs the same. Only the
// rows in view exist (a pool of elements reused while scrolling); their data comes from the API in pages
// of PAGE rows, cached a bounded number at a time. A spacer gives the scroll bar the log's length; past
// MAX_SPACE pixels the scroll position maps onto the log proportionally.
// Each rendered row carries the CONTRACT §8 hooks: data-entry="<index>" and data-status="ok|mismatch|pending";
// the timeline is aria-busy="true" while rows in view wait for their data.
import { getJson, statusOf, type Row, type Status } from './api.js'
import { formatCount, h, fill, short } from './elements.js'

const ROW_H = 26
const PAGE = 100
const MAX_PAGES = 100
const MAX_SPACE = 8_000_000
const OVERSCAN = 2

interface Page { rows: Row[], complete: boolean }

export class Timeline {
  private status: Status | null = null
  private length = 0
  private readonly pages = new Map<number, Page>()
  private readonly loading = new Set<number>()
  private readonly retryAt = new Map<number, number>()
  private readonly pool: HTMLDivElement[] = []
  private selected: number | null = null
  private scheduled = false
  private atEnd = true

  constructor (
    private readonly scroller: HTMLElement,
    private readonly rowsBox: HTMLElement,
    private readonly space: HTMLElement,
    private readonly follow: HTMLInputElement,
    private readonly onSelect: (index: number) => void
  ) {
    scroller.addEventListener('scroll', () => {
      this.atEnd = this.scroller.scrollTop >= this.maxScroll() - 2
      this.schedule()
    }, { passive: true })
    scroller.addEventListener('keydown', (event) => this.onKey(event))
    new ResizeObserver(() => { this.resize(); this.schedule() }).observe(scroller)
  }

  /** A new status: the log may have grown, entries may have been verified. */
  update (status: Status): void {
    const grew = status.indexed !== this.length
    const follow = this.follow.checked && this.atEnd
    this.status = status
    this.length = status.indexed
    if (grew) {
      this.resize()
      if (follow) this.scroller.scrollTop = this.maxScroll()
    }
    this.render() // now, not at the next frame: the rows' data is asked for sooner
  }

  /** Scrolls so that entry `index` is in view (near the top). */
  scrollTo (index: number): void {
    const { maxFirst, spaceHeight } = this.geometry()
    if (maxFirst === 0) return
    const first = Math.max(0, Math.min(maxFirst, index - 2))
    this.scroller.scrollTop = first / maxFirst * spaceHeight
    this.schedule()
  }

  select (index: number): void {
    if (index < 0 || index >= this.length) return
    this.selected = index
    const { first, fit } = this.view()
    if (index < first || index >= first + fit) this.scrollTo(index)
    this.schedule()
    this.onSelect(index)
  }

  private onKey (event: KeyboardEvent): void {
    if (event.key !== 'ArrowDown' && event.key !== 'ArrowUp') return
    event.preventDefault()
    this.select(Math.max(0, Math.min(this.length - 1, (this.selected ?? -1) + (event.key === 'ArrowDown' ? 1 : -1))))
  }

  private geometry (): { fit: number, maxFirst: number, spaceHeight: number } {
    const fit = Math.max(1, Math.floor(this.scroller.clientHeight / ROW_H))
    const maxFirst = Math.max(0, this.length - fit)
    return { fit, maxFirst, spaceHeight: Math.min(maxFirst * ROW_H, MAX_SPACE) }
  }

  private maxScroll (): number { return Math.max(0, this.scroller.scrollHeight - this.scroller.clientHeight) }

  private resize (): void {
    this.space.style.height = `${this.geometry().spaceHeight + this.scroller.clientHeight}px`
  }

  /** The first row in view, the pixels it is scrolled past, and how many rows fit. */
  private view (): { first: number, offset: number, fit: number } {
    const { fit, maxFirst, spaceHeight } = this.geometry()
    const position = spaceHeight === 0 ? 0 : Math.min(1, this.scroller.scrollTop / spaceHeight) * maxFirst
    const first = Math.floor(position)
    return { first, offset: (position - first) * ROW_H, fit }
  }

  private schedule (): void {
    if (this.scheduled) return
    this.scheduled = true
    requestAnimationFrame(() => {
      this.scheduled = false
      this.render()
    })
  }

  private render (): void {
    const { first, offset, fit } = this.view()
    const count = Math.min(fit + OVERSCAN, Math.max(0, this.length - first))
    while (this.pool.length < count) {
      const row = h('div', { class: 'row' })
      row.addEventListener('click', () => { const i = Number(row.dataset.entry); if (Number.isInteger(i)) this.select(i) })
      this.rowsBox.appendChild(row)
      this.pool.push(row)
    }
    let missing = 0
    for (let k = 0; k < this.pool.length; k++) {
      const el = this.pool[k]
      const index = first + k
      const row = k < count ? this.rowAt(index) : null
      if (row === null && k < count) missing++
      if (row === null) {
        el.hidden = true
        delete el.dataset.entry
        delete el.dataset.status
        delete el.dataset.key
        continue
      }
      el.hidden = false
      el.style.transform = `translateY(${k * ROW_H - offset}px)`
      this.paint(el, row)
    }
    // Busy while rows in view wait for their data: tools (and the tests) wait for "false".
    this.scroller.setAttribute('aria-busy', missing > 0 ? 'true' : 'false')
  }

  /** The row's data, or null while its page loads (the load is started here). */
  private rowAt (index: number): Row | null {
    const number = Math.floor(index / PAGE)
    const page = this.pages.get(number)
    const wanted = Math.min(PAGE, this.length - number * PAGE)
    if (page === undefined || (!page.complete && page.rows.length < wanted)) this.load(number)
    return page?.rows[index - number * PAGE] ?? null
  }

  private load (number: number): void {
    if (this.loading.has(number) || (this.retryAt.get(number) ?? 0) > Date.now()) return
    this.loading.add(number)
    getJson<{ rows: Row[] }>('/api/entries', { from: number * PAGE, count: PAGE }).then(({ rows }) => {
      this.retryAt.delete(number)
      this.pages.delete(number)
      this.pages.set(number, { rows, complete: rows.length === PAGE })
      // Keep the newest MAX_PAGES pages (Map order is insertion order).
      for (const key of this.pages.keys()) {
        if (this.pages.size <= MAX_PAGES) break
        this.pages.delete(key)
      }
    }, () => {
      this.retryAt.set(number, Date.now() + 1000) // the header shows why; try again in a second
      setTimeout(() => this.schedule(), 1000)
    }).finally(() => {
      this.loading.delete(number)
      this.schedule()
    })
  }

  private paint (el: HTMLDivElement, row: Row): void {
    const status = this.status === null ? 'pending' : statusOf(row.index, this.status)
    const key = `${row.index}:${status}:${row.index === this.selected ? 1 : 0}`
    if (el.dataset.key === key) return
    el.dataset.key = key
    el.dataset.entry = String(row.index)
    el.dataset.status = status
    el.className = `row kind-${row.kind}${row.index === this.selected ? ' selected' : ''}`
    const caller = row.caller === null
      ? h('span', { class: 'c-caller' })
      : h('span', { class: `c-caller caller-${row.caller.kind}`, title: row.caller.id ?? 'no caller' },
        h('span', { class: 'badge' }, row.caller.kind === 'signed' ? 'key' : row.caller.kind === 'debug' ? 'debug' : 'anon'),
        row.caller.kind === 'signed' ? short(row.caller.id ?? '', 6) : row.caller.id ?? 'anonymous')
    const outcome = row.outcome === null
      ? h('span', { class: 'c-outcome note' }, row.note ?? '')
      : h('span', { class: `c-outcome${row.outcome.ok ? '' : ' outcome-error'}`, title: row.outcome.text }, row.outcome.text)
    fill(el,
      h('span', { class: 'c-index' }, row.index),
      h('span', { class: 'c-kind' }, row.kind),
      h('span', { class: 'c-method', title: row.method ?? '' }, row.method ?? ''),
      caller,
      outcome,
      h('span', { class: 'c-gas' }, row.gas === null ? '' : formatCount(row.gas)),
      h('span', { class: 'c-status' }, h('span', { class: `badge status-${status}` }, status)))
  }
}
