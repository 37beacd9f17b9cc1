// Calls whose caller is the host's word alone (a debug name, no signature): verify proves nothing about
// who made them, so its report names them, per caller, with the first entry indexes. Bounded: a log with
// a million names costs a few dozen rows. Names shaped like a public key always get a row of their own,
// since they could pass for that key's signed calls.
import { looksLikePublicKey } from '../../client/wire.js'

/** One name the host gave as a caller without a signature. */
export interface UnsignedCaller {
  caller: string
  calls: number
  /** The first entry indexes with this caller (at most FIRST_INDEXES). */
  first: number[]
  /** 64 hex digits in a row: it looks like a public key, but no signature proves it. */
  looksLikeKey: boolean
}

/** The report's `unsignedCallers`: every call whose caller is the host's word, by name. */
export interface UnsignedCallersReport {
  calls: number
  /** The first names seen (at most 20 of each kind: plain names, and names shaped like a key). */
  callers: UnsignedCaller[]
  /** Calls by names not listed (past the bound). */
  otherCalls: number
}

const NAMES_PER_KIND = 20
const FIRST_INDEXES = 5

export class UnsignedCallers {
  private readonly byName = new Map<string, UnsignedCaller>()
  private readonly listed = { plain: 0, keyShaped: 0 }
  private calls = 0
  private otherCalls = 0

  /** How many calls name a caller without a signature. */
  get count (): number { return this.calls }

  /** Records one unsigned call by `caller` at entry `index` (if known). */
  record (caller: string, index?: number): void {
    this.calls++
    let row = this.byName.get(caller)
    if (row === undefined) {
      const looksLikeKey = looksLikePublicKey(caller)
      const kind = looksLikeKey ? 'keyShaped' : 'plain'
      if (this.listed[kind] >= NAMES_PER_KIND) {
        this.otherCalls++
        return
      }
      this.listed[kind]++
      row = { caller, calls: 0, first: [], looksLikeKey }
      this.byName.set(caller, row)
    }
    row.calls++
    if (index !== undefined && row.first.length < FIRST_INDEXES) row.first.push(index)
  }

  report (): UnsignedCallersReport {
    return { calls: this.calls, callers: [...this.byName.values()].map((r) => ({ ...r, first: [...r.first] })), otherCalls: this.otherCalls }
  }

  /** One warning line naming them, or null when every caller is proven (or anonymous). */
  warning (): string | null {
    if (this.calls === 0) return null
    const at = (r: UnsignedCaller) => `${r.first.length === 1 ? 'entry' : 'entries'} ${r.first.join(', ')}${r.calls > r.first.length ? ', …' : ''}`
    const name = (r: UnsignedCaller) => JSON.stringify(r.caller.length > 80 ? r.caller.slice(0, 80) + '…' : r.caller)
    const rows = [...this.byName.values()].map((r) =>
      `${name(r)} ${r.calls}× (${at(r)})${r.looksLikeKey ? ' — looks like a public key, but no signature proves it' : ''}`)
    const others = this.otherCalls > 0 ? `; and ${this.otherCalls} call(s) by other names` : ''
    return `${this.calls} call(s) name a caller without a signature (debug mode): those callers are the host's word, not proven: ${rows.join('; ')}${others}.`
  }
}
