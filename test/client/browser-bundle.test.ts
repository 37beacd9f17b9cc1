// A page's bundler resolves `nodevms/client` through the "browser" export condition, and a page without one
// loads the prebuilt dist/browser/nodevms-client.js: either must hold the client alone, with no Node
// built-in, no `ws`, no QuickJS and nothing from engine/ or host/.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { existsSync, readFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import { fileURLToPath } from 'node:url'
import { build, type Metafile } from 'esbuild'
import * as nodeClient from '../../client/node.js'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))

async function bundle (entry: string): Promise<{ code: Uint8Array, inputs: string[] }> {
  const result = await build({
    stdin: { contents: entry, resolveDir: ROOT, loader: 'js' },
    bundle: true, platform: 'browser', format: 'esm', minify: true, write: false, metafile: true, logLevel: 'silent'
  })
  return { code: result.outputFiles[0].contents, inputs: Object.keys((result.metafile as Metafile).inputs) }
}

const FORBIDDEN = [
  /^node:/, /(^|\/)node_modules\/ws\//, /quickjs/i, /(^|\/)(dist\/)?engine\//, /(^|\/)(dist\/)?host\//,
  /(^|\/)node_modules\/(hypercore|hyperdrive|corestore|sodium-|b4a|hyperswarm)/
]

test('nodevms/client bundles for platform=browser with nothing but the client and @noble/curves', async () => {
  const { code, inputs } = await bundle(
    "import { connect, RPCClient, generateIdentity, identityFromJson, identityToJson, signCall } from 'nodevms/client'\n" +
    'globalThis.nodevms = { connect, RPCClient, generateIdentity, identityFromJson, identityToJson, signCall }\n')
  const bad = inputs.filter((input) => FORBIDDEN.some((re) => re.test(input)))
  assert.equal(bad, [], `the browser bundle pulls in: ${bad.join(', ')}`)
  assert.ok(inputs.some((input) => /dist\/client\/browser\.js$/.test(input)), `the "browser" condition picked client/browser.js: ${inputs.join(', ')}`)
  assert.ok(inputs.every((input) => /dist\/client\/|node_modules\/@noble\/|^<stdin>$/.test(input)), `only the client and @noble: ${inputs.join(', ')}`)
  process.stdout.write(`browser bundle of nodevms/client: ${code.byteLength} bytes minified, ${gzipSync(code).byteLength} gzipped, ${inputs.length} modules\n`)
})

test('the bundler refuses a Node built-in under the browser condition (so the check above can fail)', async () => {
  try {
    await bundle("import 'node:events'\n")
    assert.unreachable('esbuild resolved node:events for the browser')
  } catch (err) {
    assert.match(String((err as Error).message), /node:events/)
  }
})

const DIST = fileURLToPath(new URL('../../browser/', import.meta.url))

/** What in a bundle's text would need Node or another module at run time. */
function nodeTraces (code: string): string[] {
  const patterns = [/\brequire\(/, /["']node:[a-z/_]+["']/, /\bimport\s*\(/, /\bimport\s*[\w{*"']/, /(?<![.\w$])process\./,
    /(?<![\w$])Buffer\./, /__dirname|__filename/, /quickjs/i, /hypercore|hyperdrive|corestore/i]
  return patterns.filter((re) => re.test(code)).map(String)
}

test('the prebuilt dist/browser/nodevms-client.js: one self-contained ES module of the client and @noble, with a source map', async () => {
  const file = `${DIST}nodevms-client.js`
  assert.ok(existsSync(file), 'npm run build wrote dist/browser/nodevms-client.js')
  const code = readFileSync(file, 'utf8')
  assert.equal(nodeTraces(code), [], 'no require, no import, no Node built-in, no engine or hyper* code in the bundle')
  const meta = JSON.parse(readFileSync(`${DIST}nodevms-client.meta.json`, 'utf8')) as Metafile
  const inputs = Object.keys(meta.outputs['dist/browser/nodevms-client.js'].inputs)
  const bad = inputs.filter((input) => FORBIDDEN.some((re) => re.test(input)) || !/^client\/[a-z-]+\.ts$|^node_modules\/@noble\//.test(input))
  assert.equal(bad, [], `only client/ and @noble went in: ${inputs.join(', ')}`)
  assert.ok(inputs.includes('client/browser.ts') && !inputs.includes('client/node.ts'), 'the browser entry, never the Node one')
  assert.match(code, /\/\/# sourceMappingURL=nodevms-client\.js\.map\s*$/, 'it names its source map')
  const map = JSON.parse(readFileSync(`${DIST}nodevms-client.js.map`, 'utf8')) as { sources: string[] }
  assert.ok(map.sources.some((s) => s.endsWith('client/rpc-client.ts')), 'the map leads back to the TypeScript sources')
  const mod = await import(file) as Record<string, unknown>
  assert.equal(Object.keys(mod).sort(), ['ClientError', 'RPCClient', 'RpcError', 'connect', 'default', 'generateIdentity',
    'identityFromJson', 'identityId', 'identityToJson', 'normaliseUrl', 'signCall'])
  const gzipped = gzipSync(code, { level: 9 }).byteLength
  process.stdout.write(`dist/browser/nodevms-client.js: ${code.length} bytes minified, ${gzipped} gzipped\n`)
  assert.ok(code.length < 64 * 1024 && gzipped < 24 * 1024, `small: ${code.length} bytes, ${gzipped} gzipped`)
})

test('the bundle signs exactly as the Node client does: one payload, one canonical JSON, plain ed25519', async () => {
  const page = await import(`${DIST}nodevms-client.js`) as typeof import('../../client/browser.js')
  const seed = new Uint8Array(32).fill(3)
  const fromPage = page.generateIdentity(seed)
  assert.equal(page.identityToJson(fromPage), nodeClient.identityToJson(nodeClient.generateIdentity(seed)), 'the same key pair from one seed')
  const params = [{ b: 'ü', a: [1, 0.000001, 1e21, -0] }, null, 'x']
  const logKey = '0123456789abcdef'.repeat(4)
  assert.equal(page.signCall(fromPage, logKey, 'set', params, 42), nodeClient.signCall(nodeClient.identityFromJson(page.identityToJson(fromPage)), logKey, 'set', params, 42))
})

test('the trace scan finds what it looks for (so the check above can fail)', () => {
  assert.equal(nodeTraces('import"node:fs";export{a}').length, 2)
  assert.equal(nodeTraces('const q=require("ws")').length, 1)
  assert.equal(nodeTraces('Buffer.from(x);process.env.X').length, 2)
  assert.equal(nodeTraces('new ArrayBuffer(8);this.process(a)'), [])
})

test.run()
