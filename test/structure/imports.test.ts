// The import graph runs one way (README "Where things are"): cli → host → engine, host → client for the
// wire format (and the verifier, a client of the host it audits, → the Node client), client → nothing of
// ours and no Node built-in outside client/node.ts; the explorer → the verifier and its page's wire.ts
// (the API's shapes), its page → nothing but itself. A folder reaches another only through its entry file.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { join, posix } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const SOURCE_DIRS = ['engine', 'client', 'host', 'cli']

/** The room a source file belongs to: engine, client, cli, host (the core), host/rpc|verify|swarm|explore, or the explorer's page. */
function room (file: string): string {
  const [top, sub, inner] = file.split('/')
  if (top === 'host' && sub === 'explore' && inner === 'page') return 'host/explore/page'
  return top === 'host' && ['rpc', 'verify', 'swarm', 'explore'].includes(sub) ? `host/${sub}` : top
}

/** The one file through which other rooms may import each room. */
const ENTRIES: Record<string, string[]> = {
  engine: ['engine/index.ts'],
  client: ['client/wire.ts', 'client/node.ts', 'client/browser.ts'],
  host: ['host/index.ts'],
  'host/rpc': ['host/rpc/index.ts'],
  'host/verify': ['host/verify/index.ts'],
  'host/swarm': ['host/swarm/index.ts'],
  'host/explore': ['host/explore/index.ts'],
  'host/explore/page': ['host/explore/page/wire.ts'], // the rest is loaded by the browser from the explorer
  cli: []
}

/** Which entry files each room may import (besides its own files). */
const MAY_IMPORT: Record<string, string[]> = {
  engine: [],
  client: [],
  host: ['engine/index.ts', 'client/wire.ts'],
  'host/rpc': ['host/index.ts', 'engine/index.ts', 'client/wire.ts'],
  'host/verify': ['host/index.ts', 'engine/index.ts', 'client/wire.ts', 'client/node.ts'],
  'host/swarm': ['host/index.ts', 'host/verify/index.ts', 'engine/index.ts', 'client/wire.ts'],
  'host/explore': ['host/index.ts', 'host/verify/index.ts', 'host/explore/page/wire.ts'],
  'host/explore/page': [],
  cli: Object.values(ENTRIES).flat()
}

/** Packages a room may use (anything else is refused); null: any package. */
const PACKAGES: Record<string, RegExp | null> = {
  engine: /^(quickjs-emscripten|@jitl\/|seedrandom)/,
  client: /^(ws|@noble\/curves)(\/|$)/,
  host: /^(?!cac$)/,
  'host/rpc': /^(?!cac$)/,
  'host/verify': /^(?!cac$)/,
  'host/swarm': /^(?!cac$)/,
  'host/explore': /^hyperdrive$/,
  'host/explore/page': /(?!)/,
  cli: null
}

const NODE_SIDE_OF_CLIENT = 'client/node.ts'
/** Rooms whose code runs in browsers: no Node built-in (but the client's one Node-side module). */
const IN_BROWSERS = new Set(['client', 'host/explore/page'])
const isBuiltin = (spec: string) => spec.startsWith('node:') || builtinModules.includes(spec.split('/')[0])

/** Why `from` (a repo-relative .ts path) may not import `spec`, or null when it may. */
export function violation (from: string, spec: string): string | null {
  const mine = room(from)
  if (!spec.startsWith('.')) {
    if (isBuiltin(spec)) return IN_BROWSERS.has(mine) && from !== NODE_SIDE_OF_CLIENT ? `${mine} runs in browsers and imports ${spec}${mine === 'client' ? ` outside ${NODE_SIDE_OF_CLIENT}` : ''}` : null
    if (mine === 'client' && spec === 'ws' && from !== NODE_SIDE_OF_CLIENT) return `the client imports ws outside ${NODE_SIDE_OF_CLIENT}`
    const allowed = PACKAGES[mine]
    return allowed === null || allowed.test(spec) ? null : `${mine} may not use the package ${spec}`
  }
  const target = posix.normalize(posix.join(posix.dirname(from), spec)).replace(/\.js$/, '.ts')
  const theirs = room(target)
  if (theirs === mine) return null
  if (!ENTRIES[theirs]?.includes(target)) return `${from} reaches into ${theirs}'s internals (${target}); import its entry file (${ENTRIES[theirs]?.join(' or ') ?? 'none'})`
  if (!MAY_IMPORT[mine].includes(target)) return `${mine} may not import ${target}: imports run cli → host → engine, and host → client for the wire format`
  return null
}

function sources (dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(join(ROOT, dir)).sort()) {
    const path = posix.join(dir, name)
    if (statSync(join(ROOT, path)).isDirectory()) out.push(...sources(path))
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(path)
  }
  return out
}

/** Every module specifier a source file imports or re-exports (comments stripped first). */
function specifiers (text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '')
  const found: string[] = []
  const pattern = /(?:^|[;\s])(?:import|export)\s[^;'"]*?from\s*['"]([^'"]+)['"]|(?:^|[;\s])import\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm
  for (const m of code.matchAll(pattern)) found.push(m[1] ?? m[2] ?? m[3])
  return found
}

test('the checker refuses each kind of wrong import (so the graph test can fail)', () => {
  const refused: Array<[string, string]> = [
    ['client/rpc-client.ts', 'node:events'],
    ['client/rpc-client.ts', 'ws'],
    ['client/identity.ts', '../engine/index.js'],
    ['client/rpc-client.ts', '../host/index.js'],
    ['engine/engine.ts', 'hypercore'],
    ['engine/engine.ts', '../host/index.js'],
    ['host/host.ts', './rpc/index.js'],
    ['host/host.ts', '../engine/engine.js'],
    ['host/host.ts', '../client/node.js'],
    ['host/host.ts', '../cli/exec.js'],
    ['host/rpc/server.ts', '../errors.js'],
    ['host/rpc/server.ts', '../verify/index.js'],
    ['host/verify/verifier.ts', '../drive-files.js'],
    ['host/verify/verifier.ts', '../swarm/index.js'],
    ['host/swarm/mirror.ts', '../verify/verifier.js'],
    ['cli/exec.ts', '../host/rpc/server.js'],
    ['cli/exec.ts', '../client/rpc-client.js'],
    ['host/explore/page/main.ts', 'node:fs'],
    ['host/explore/page/main.ts', '../api.js'],
    ['host/explore/api.ts', './page/timeline.js'],
    ['host/explore/page/main.ts', '../index.js'],
    ['host/explore/api.ts', 'ws'],
    ['host/explore/explorer.ts', '../rpc/index.js'],
    ['host/explore/explorer.ts', '../../engine/index.js'],
    ['host/verify/verifier.ts', '../explore/index.js'],
    ['cli/explore.ts', '../host/explore/explorer.js']
  ]
  for (const [from, spec] of refused) assert.ok(violation(from, spec) !== null, `${from} → ${spec} must be refused`)
  const allowed: Array<[string, string]> = [
    ['client/node.ts', 'node:crypto'],
    ['client/node.ts', 'ws'],
    ['client/browser.ts', '@noble/curves/ed25519.js'],
    ['host/host.ts', '../engine/index.js'],
    ['host/errors.ts', '../client/wire.js'],
    ['host/rpc/server.ts', '../index.js'],
    ['host/verify/remote.ts', '../../client/node.js'],
    ['host/swarm/mirror.ts', '../verify/index.js'],
    ['cli/exec.ts', '../host/rpc/index.js'],
    ['host/explore/explorer.ts', '../verify/index.js'],
    ['host/explore/api.ts', 'node:http'],
    ['host/explore/page/main.ts', './timeline.js'],
    ['host/explore/api.ts', './page/wire.js'],
    ['cli/explore.ts', '../host/explore/index.js']
  ]
  for (const [from, spec] of allowed) assert.is(violation(from, spec), null, `${from} → ${spec} is allowed`)
})

test('every import in engine/, client/, host/ and cli/ runs the allowed way', () => {
  const problems: string[] = []
  let edges = 0
  for (const file of SOURCE_DIRS.flatMap(sources)) {
    for (const spec of specifiers(readFileSync(join(ROOT, file), 'utf8'))) {
      edges++
      const why = violation(file, spec)
      if (why !== null) problems.push(`${file}: import '${spec}': ${why}`)
    }
  }
  assert.ok(edges > 100, `the walk found the imports (${edges})`)
  assert.equal(problems, [], `imports against the direction:\n${problems.join('\n')}`)
})

test('every room has its entry file', () => {
  for (const file of Object.values(ENTRIES).flat()) {
    assert.ok(statSync(join(ROOT, file)).isFile(), `${file} exists`)
  }
})

test.run()
