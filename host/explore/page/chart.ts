// The chart: calls over log position on a canvas, one bar per bucket of entries (its height: the most gas
// one call in it used), with the restarts, upgrades, the verified position and a mismatch marked. A click
// scrolls the timeline to that position.
import { getJson, type Chart as ChartData, type Status } from './api.js'
import { formatCount } from './elements.js'

const REFRESH_MS = 1500
const MIN_BAR = 6 // pixels: every call shows, even one that used no gas
const COLOURS = { verified: '#7fb28f', pending: '#c9ced6', failed: '#e39a5b', restart: '#d48806', upgrade: '#7b3fb5', mismatch: '#c62828', cursor: '#2456a6' }

export class Chart {
  private data: ChartData | null = null
  private status: Status | null = null
  private fetchedAt = 0
  private fetching = false
  private fetchedWidth = 0

  constructor (private readonly canvas: HTMLCanvasElement, private readonly scale: HTMLElement, onPick: (index: number) => void) {
    canvas.addEventListener('click', (event) => {
      if (this.data === null || this.data.length === 0) return
      const x = event.offsetX / canvas.clientWidth
      onPick(Math.min(this.data.length - 1, Math.floor(x * this.data.length)))
    })
    new ResizeObserver(() => { this.draw(); this.refresh(true) }).observe(canvas)
  }

  update (status: Status): void {
    const grew = this.data === null || status.indexed !== this.data.length
    this.status = status
    this.draw()
    if (grew) this.refresh(false)
  }

  private refresh (force: boolean): void {
    const width = Math.max(1, Math.floor(this.canvas.clientWidth))
    if (this.fetching || (!force && Date.now() - this.fetchedAt < REFRESH_MS && width === this.fetchedWidth)) return
    this.fetching = true
    getJson<ChartData>('/api/chart', { width }).then((data) => {
      this.data = data
      this.fetchedAt = Date.now()
      this.fetchedWidth = width
      this.draw()
    }, () => {}).finally(() => { this.fetching = false })
  }

  private draw (): void {
    const { canvas, data, status } = this
    const ratio = window.devicePixelRatio || 1
    const width = canvas.clientWidth
    const height = canvas.clientHeight
    if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
      canvas.width = Math.round(width * ratio)
      canvas.height = Math.round(height * ratio)
    }
    const g = canvas.getContext('2d')
    if (g === null) return
    g.setTransform(ratio, 0, 0, ratio, 0, 0)
    g.clearRect(0, 0, width, height)
    if (data === null || data.length === 0) return
    const top = 4
    const usable = height - top - 2
    const peak = Math.max(0, ...data.maxGas)
    const barWidth = width / data.calls.length
    const verified = status?.verified ?? 0
    for (let b = 0; b < data.calls.length; b++) {
      if (data.calls[b] === 0) continue
      const x = b * barWidth
      const h = MIN_BAR + (peak === 0 ? 0 : data.maxGas[b] / peak * (usable - MIN_BAR))
      const done = (b + 1) * data.bucket <= verified
      g.fillStyle = done ? COLOURS.verified : COLOURS.pending
      g.fillRect(x, height - h, Math.max(1, barWidth - (barWidth > 3 ? 1 : 0)), h)
      if (data.failed[b] > 0) {
        // The failed share of the bucket, at least a few pixels so that a failed call is seen.
        const share = Math.max(4, h * data.failed[b] / data.calls[b])
        g.fillStyle = COLOURS.failed
        g.fillRect(x, height - share, Math.max(1, barWidth - (barWidth > 3 ? 1 : 0)), share)
      }
    }
    const at = (index: number) => (index + 0.5) / data.length * width
    for (const [index, kind] of data.markers) this.line(g, at(index), height, COLOURS[kind], 2)
    const d = status?.divergence ?? null
    if (verified < data.length && d === null) this.line(g, verified / data.length * width, height, COLOURS.cursor, 1)
    if (d !== null) this.line(g, d.type === 'end' ? width - 1.5 : at(d.index), height, COLOURS.mismatch, 3)
    this.scale.textContent = `${formatCount(data.length)} entries, ${formatCount(data.bucket)} per bar · top: ${formatCount(peak)} gas`
  }

  private line (g: CanvasRenderingContext2D, x: number, height: number, colour: string, width: number): void {
    g.fillStyle = colour
    g.fillRect(Math.round(x - width / 2), 0, width, height)
  }
}
