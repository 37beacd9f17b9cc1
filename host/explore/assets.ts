// The page the explorer serves, as shipped in the package: its HTML and CSS (page-html.ts, page-css.ts)
// and its script modules, compiled from host/explore/page/*.ts next to this file (dist/host/explore/page/).
// No CDN, no framework, no bundler: the browser loads the modules from the explorer itself.
import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { PAGE_CSS } from './page-css.js'
import { PAGE_HTML } from './page-html.js'

export interface PageAssets {
  html: string
  css: string
  /** The page's icon (SVG), so the browser does not ask for one that is not there. */
  icon: string
  /** Script modules by file name (main.js, timeline.js, ...), served at /page/NAME. */
  scripts: Map<string, string>
}

const ICON = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#2456a6"/><path d="M4 8.5l2.5 2.5L12 5" stroke="#fff" stroke-width="2" fill="none"/></svg>\n'

const PAGE_DIR = fileURLToPath(new URL('./page/', import.meta.url))

let loaded: PageAssets | null = null

/** Reads the page's script modules once; throws when the package was not built. */
export function pageAssets (): PageAssets {
  if (loaded !== null) return loaded
  let names: string[]
  try {
    names = readdirSync(PAGE_DIR).filter((name) => name.endsWith('.js'))
  } catch (err) {
    throw new Error(`The explorer page is missing (${PAGE_DIR}): build nodevms first (npm run build).`, { cause: err })
  }
  if (!names.includes('main.js')) throw new Error(`The explorer page is incomplete (no main.js in ${PAGE_DIR}): build nodevms first (npm run build).`)
  const scripts = new Map(names.map((name) => [name, readFileSync(PAGE_DIR + name, 'utf8').replace(/\n\/\/# sourceMappingURL=.*\n?$/, '\n')]))
  const preloads = names.filter((name) => name !== 'main.js').map((name) => `<link rel="modulepreload" href="/page/${name}">`).join('\n')
  loaded = { html: PAGE_HTML.replace('<!--modulepreload-->', preloads), css: PAGE_CSS, icon: ICON, scripts }
  return loaded
}
