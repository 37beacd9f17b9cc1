// What `npm pack` ships, and what the quick start leaves behind: the package holds only what users need,
// a host directory made by `npx nodevms exec fixtures/<name>.js` is never packed, and git ignores it.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawnSync } from 'node:child_process'
import { cp, mkdir, readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { spawnCli, stopAll, tempDir } from './helpers.js'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const README = await readFile(join(ROOT, 'README.md'), 'utf8')

test.after.each(stopAll)

/** The paths `npm pack` would put in the tarball of the package at dir (no build, no network). */
function packed (dir: string): string[] {
  const res = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: dir, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false' } })
  assert.is(res.status, 0, `npm pack --dry-run: ${res.stderr}`)
  return (JSON.parse(res.stdout) as Array<{ files: Array<{ path: string }> }>)[0].files.map((f) => f.path).sort()
}

const SHIPPED = [
  /^(README\.md|package\.json|LICENSE)$/,
  /^dist\/(engine|host|client|cli)\/.+\.(js|d\.ts)$/,
  /^dist\/browser\/nodevms-client\.js(\.map)?$/, // one file a page loads, and its map (README "In a web page")
  /^dist\/engine\/wasm-probes\.json$/, // the QuickJS build's probes, measured by the build (engine/probe-cache.ts)
  /^fixtures\/[\w-]+\.js$/,
  /^types\/[\w-]+\.d\.ts$/
]

test('npm pack ships the compiled modules, their types, the README and its fixtures, and nothing else', () => {
  const files = packed(ROOT)
  const stray = files.filter((f) => !SHIPPED.some((p) => p.test(f)))
  assert.equal(stray, [], 'no tests, benches, sources, source maps or host directories')
  for (const entry of ['dist/browser/nodevms-client.js', 'dist/cli/index.js', 'dist/client/node.js', 'dist/client/browser.js', 'dist/client/node.d.ts', 'dist/engine/index.js', 'dist/engine/index.d.ts', 'dist/host/index.js', 'dist/host/rpc/index.js']) {
    assert.ok(files.includes(entry), `${entry} is shipped`)
  }
  const used = [...new Set([...README.matchAll(/fixtures\/[\w-]+\.js/g)].map((m) => m[0]))]
  assert.ok(used.length >= 3, 'the README uses fixtures')
  for (const fixture of used) assert.ok(files.includes(fixture), `${fixture}, which the README runs, is shipped`)
})

test('the quick start\'s host directory is never packed, and git ignores each fixture\'s', async () => {
  // A package directory as a reader has it after the quick start: the package files, and ./counter beside them.
  const dir = await tempDir('nodevms-pack-')
  for (const name of ['package.json', 'README.md', 'fixtures']) await cp(join(ROOT, name), join(dir, name), { recursive: true })
  await mkdir(join(dir, 'dist'))
  await cp(join(ROOT, 'dist', 'cli'), join(dir, 'dist', 'cli'), { recursive: true })
  const host = await spawnCli(['exec', join(dir, 'fixtures', 'counter.js'), '--port', '0'], { cwd: dir })
  assert.is(host.dir, join(dir, 'counter'), 'the quick start makes ./counter')
  await host.stop()
  assert.ok((await readdir(join(dir, 'counter'))).length > 0, 'the store holds files')
  assert.equal(packed(dir).filter((f) => f.startsWith('counter/')), [], 'npm pack leaves the store out')

  const git = spawnSync('git', ['rev-parse', '--is-inside-work-tree'], { cwd: ROOT, encoding: 'utf8' })
  if (git.status !== 0 || git.stdout.trim() !== 'true') { console.log('  (skipped the .gitignore check: not a git checkout)'); return }
  const fixtures = (await readdir(join(ROOT, 'fixtures'))).filter((f) => f.endsWith('.js'))
  for (const fixture of fixtures) {
    const store = `${fixture.replace(/\.js$/, '')}/CORESTORE`
    const ignored = spawnSync('git', ['check-ignore', '-q', '--no-index', store], { cwd: ROOT })
    assert.is(ignored.status, 0, `git ignores ${store}, the store of npx nodevms exec fixtures/${fixture}`)
  }
  assert.is(spawnSync('git', ['check-ignore', '-q', '--no-index', 'nodevms-0.1.0.tgz'], { cwd: ROOT }).status, 0, 'git ignores npm pack\'s tarball')
})

test.run()
