// Building the page's DOM from data that nobody vouches for: every value becomes a text node or an
// attribute set through the DOM, never markup. There is no innerHTML anywhere in the page.

export type Child = Node | string | number | null | undefined | false

export interface Props {
  class?: string
  title?: string
  type?: string
  hidden?: boolean
  /** data-* attributes, by name without the prefix. */
  data?: Record<string, string>
  onClick?: (event: Event) => void
}

/** An element with props and children; strings and numbers become text nodes. */
export function h<K extends keyof HTMLElementTagNameMap> (tag: K, props: Props | null = null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag)
  if (props !== null) {
    if (props.class !== undefined) el.className = props.class
    if (props.title !== undefined) el.title = props.title
    if (props.type !== undefined) el.setAttribute('type', props.type)
    if (props.hidden === true) el.hidden = true
    for (const [name, value] of Object.entries(props.data ?? {})) el.dataset[name] = value
    const onClick = props.onClick
    if (onClick !== undefined) el.addEventListener('click', (event) => onClick(event))
  }
  append(el, ...children)
  return el
}

export function append (parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue
    parent.appendChild(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child)
  }
}

/** Replaces an element's children. */
export function fill (parent: Element, ...children: Child[]): void {
  parent.replaceChildren()
  append(parent, ...children)
}

/** The element with this id (the page's skeleton has them all). */
export function byId<T extends HTMLElement = HTMLElement> (id: string): T {
  const el = document.getElementById(id)
  if (el === null) throw new Error(`the page has no #${id}`)
  return el as T
}

/** A <dl> of label/value pairs; values that are null are left out. */
export function facts (className: string, pairs: Array<[string, Child]>): HTMLDListElement {
  const dl = h('dl', { class: className })
  for (const [label, value] of pairs) {
    if (value === null || value === undefined) continue
    append(dl, h('dt', null, label), h('dd', null, value))
  }
  return dl
}

export const formatCount = (n: number): string => n.toLocaleString('en-US')

export function short (hex: string, keep = 12): string {
  return hex.length > keep * 2 ? `${hex.slice(0, keep)}…${hex.slice(-4)}` : hex
}
