// A page's bundler resolves `nodevms/client` through the "browser" export condition: the bundle must hold
// the client alone, with no Node built-in, no `ws`, no QuickJS and nothing from engine/ or host/.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { gzipSync } from 'node:zlib'
import { fileURLToPath } from 'node:url'
import { build, type Metafile } from 'esbuild'

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

test.run()
