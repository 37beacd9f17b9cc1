// The published types of nodevms/client, as a consumer's compiler sees them: the emitted .d.ts files and
// package.json copied alone into a fresh project (no @types/node, no @types/ws, no ws, no DOM types,
// "types": []), type-checked with skipLibCheck off. connect<Methods>() must type the remote methods, and
// client.info must not be nullable once connect() resolved. Two controls show the check can fail.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { cp, mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { runNode, stopAll, tempDir } from '../cli/helpers.js'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')

const CONSUMER = `import { connect, RPCClient, generateIdentity, identityFromJson, identityToJson, type ClientError, type Client, type Identity, type IdentityJson, type RpcError } from 'nodevms/client'
import * as page from './node_modules/nodevms/dist/client/browser.js'

interface Counter { increment (): Promise<number>, add (a: number, b: number): Promise<number> }

export async function main (): Promise<void> {
  const client: Client<Counter> = await connect<Counter>('localhost:5555')
  const n: number = await client.increment()
  const sum: number = await client.add(1, 2)
  const logUrl: string | undefined = client.info.callLogUrl
  const methods: string[] = client.info.methods
  const url: string = client.url
  // @ts-expect-error a typed method resolves to what it declares
  const wrong: string = await client.increment()
  // @ts-expect-error an undeclared method is not there
  await client.decrement()
  // @ts-expect-error arguments are checked
  await client.add('1', 2)
  await client.close()

  const clash = await connect<{ close (): Promise<number>, then (): Promise<number> }>('localhost:5555')
  const closed: void = await clash.close() // the client's own close; the remote one is clash.call('close')
  const viaCall: unknown = await clash.call('close')

  const untyped = await connect('localhost:5555', { identity: identityToJson(generateIdentity()) })
  const anything: unknown = await untyped.whatever(1, 'two')
  const untypedMethods: string[] = untyped.info.methods

  // @ts-expect-error every remote method returns a Promise
  await connect<{ increment (): number }>('localhost:5555')

  const legacy = new RPCClient()
  await legacy.connect('localhost:5555')
  // @ts-expect-error without connect()'s return value, info may still be null
  const early: string[] = legacy.info.methods

  const fromPage: page.Client<Counter> = await page.connect<Counter>('ws://localhost:5555', { user: 'bob' })
  const m: number = await fromPage.increment()
  const pageInfo: string[] = fromPage.info.methods
  const id: Identity = page.identityFromJson({ publicKey: '', secretKey: '' } satisfies IdentityJson)
  const again: Identity = identityFromJson(JSON.stringify(page.identityToJson(id)))
  const failures: Array<ClientError | RpcError> = []
  void [n, sum, logUrl, methods, url, wrong, closed, viaCall, anything, untypedMethods, early, m, pageInfo, again, failures]
}
`

const TSCONFIG = (moduleResolution: string, module: string) => JSON.stringify({
  compilerOptions: {
    target: 'ES2022', lib: ['ES2022'], types: [], strict: true, skipLibCheck: false, noEmit: true,
    module, moduleResolution
  },
  files: ['consumer.ts']
})

/** A fresh consumer project holding only nodevms's package.json and its client .d.ts files. */
async function consumerProject (): Promise<{ dir: string, types: string }> {
  const dir = await tempDir('nodevms-types-')
  const pkg = join(dir, 'node_modules', 'nodevms')
  const types = join(pkg, 'dist', 'client')
  await mkdir(types, { recursive: true })
  await cp(join(ROOT, 'package.json'), join(pkg, 'package.json'))
  for (const name of await readdir(join(ROOT, 'dist', 'client'))) {
    if (name.endsWith('.d.ts')) await cp(join(ROOT, 'dist', 'client', name), join(types, name))
  }
  await writeFile(join(dir, 'consumer.ts'), CONSUMER)
  await writeFile(join(dir, 'package.json'), '{ "type": "module" }\n')
  return { dir, types }
}

async function typeCheck (dir: string, moduleResolution = 'nodenext', module = 'nodenext'): Promise<{ code: number | null, out: string }> {
  await writeFile(join(dir, 'tsconfig.json'), TSCONFIG(moduleResolution, module))
  const result = await runNode([TSC, '-p', dir, '--pretty', 'false'], { cwd: dir, timeoutMs: 120_000 })
  return { code: result.code, out: result.stdout + result.stderr }
}

test.after(stopAll)

test('a consumer type-checks against the published .d.ts with "types": [] (nodenext and bundler resolution)', async () => {
  const { dir } = await consumerProject()
  for (const [resolution, module] of [['nodenext', 'nodenext'], ['bundler', 'esnext']]) {
    const { code, out } = await typeCheck(dir, resolution, module)
    assert.is(code, 0, `moduleResolution ${resolution}: the consumer type-checks:\n${out}`)
  }
})

test('the published client types mention no Node or ws type at all', async () => {
  const { types } = await consumerProject()
  for (const name of await readdir(types)) {
    const text = await readFile(join(types, name), 'utf8')
    assert.not.match(text, /from ['"](ws|node:[a-z/]+|events|stream|crypto|fs)['"]|\bBuffer\b|\bNodeJS\./, `${name} needs no Node or ws types`)
  }
})

test('controls: a .d.ts that imports ws, or names Buffer, fails the same check', async () => {
  for (const [line, expected] of [
    ["import type { WebSocket } from 'ws'\nexport declare const sock: WebSocket\n", /Cannot find module 'ws'|Could not find a declaration file for module 'ws'/],
    ['export declare const bytes: Buffer\n', /Cannot find name 'Buffer'/]
  ] as const) {
    const { dir, types } = await consumerProject()
    await writeFile(join(types, 'node.d.ts'), (await readFile(join(types, 'node.d.ts'), 'utf8')) + line)
    const { code, out } = await typeCheck(dir)
    assert.is.not(code, 0, `the check fails with: ${line.trim()}`)
    assert.match(out, expected)
  }
  const { dir } = await consumerProject()
  await writeFile(join(dir, 'consumer.ts'), CONSUMER.replace('  // @ts-expect-error a typed method resolves to what it declares\n', ''))
  const { code, out } = await typeCheck(dir)
  assert.is.not(code, 0, 'assigning increment()\'s number to a string is a type error')
  assert.match(out, /Type 'number' is not assignable to type 'string'/)
})

test.run()
