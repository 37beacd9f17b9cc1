// The origin policy (CONTRACT §8): which pages may open a WebSocket. Parsing --allow-origin (malformed
// values are usage errors), matching Origin headers as browsers send them, HTTP 403 with a body that says
// what to do on both endpoints, the --debug default of local pages only, and requests without Origin.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { request } from 'node:http'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { HostError } from '../../../host/index.js'
import { OriginPolicy, RpcServer, type Service } from '../../../host/rpc/index.js'
import { FIXTURES, runCli, spawnCli, stopAll, tempDir } from '../../cli/helpers.js'

const service: Service = {
  methods: ['echo'],
  handshakeInfo: () => ({ methods: ['echo'], callLogUrl: 'dat://' + 'c'.repeat(64) }),
  call: async (_method, params) => ({ result: params }),
  replicate: (stream) => { stream.on('error', () => {}) }
}

/** A raw WebSocket upgrade request: the status (101 when upgraded) and the refusal body. */
function upgrade (port: number, path: string, origin?: string): Promise<{ status: number, body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {
      Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': randomBytes(16).toString('base64')
    }
    if (origin !== undefined) headers.Origin = origin
    const req = request({ host: '127.0.0.1', port, path, headers })
    req.on('upgrade', (res, socket) => { socket.destroy(); resolve({ status: res.statusCode ?? 0, body: '' }) })
    req.on('response', (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => { body += c })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

async function withServer (opts: { debug?: boolean, origins?: OriginPolicy }, fn: (port: number) => Promise<void>): Promise<void> {
  const server = new RpcServer({ service, host: '127.0.0.1', port: 0, ...opts })
  await server.open()
  try {
    await fn(server.port)
  } finally {
    await server.close()
  }
}

test('--allow-origin values: origins, port wildcards and * parse; the policy lists them as browsers send them', () => {
  assert.is(OriginPolicy.parse('*').toString(), '*')
  assert.ok(OriginPolicy.parse('*').allowsAny)
  assert.is(OriginPolicy.parse('https://App.Example.com:443, http://localhost:*,http://127.0.0.1:8080').toString(),
    'https://app.example.com,http://localhost:*,http://127.0.0.1:8080', 'host lowercased, default port dropped, spaces trimmed')
  assert.is(OriginPolicy.parse('http://[::1]:3000').toString(), 'http://[::1]:3000')
  assert.is(OriginPolicy.parse('chrome-extension://abcdefghijklmnop').toString(), 'chrome-extension://abcdefghijklmnop')
})

test('malformed --allow-origin values are refused, each naming the problem', () => {
  const cases: Array<[string, RegExp]> = [
    ['', /empty entry/],
    ['https://a.example,,https://b.example', /empty entry/],
    ['https://a.example,', /empty entry/],
    ['https://a.example/', /no path/],
    ['https://a.example/app', /no path/],
    ['https://a.example?x=1', /no path/],
    ['https://user@a.example', /more than an origin/],
    ['a.example', /not scheme:\/\/host/],
    ['https://*.example.com', /list each origin/],
    ['*,https://a.example', /goes alone/],
    ['https://a.example:99999', /valid port/],
    ['https://a.example:0', /valid port/],
    ['null', /never allowed by name/]
  ]
  for (const [value, why] of cases) {
    try {
      OriginPolicy.parse(value)
      assert.unreachable(`${JSON.stringify(value)} should be refused`)
    } catch (err) {
      assert.instance(err, HostError, `${JSON.stringify(value)}: ${String(err)}`)
      assert.is((err as HostError).code, 'BAD_ORIGIN')
      assert.match((err as Error).message, why, `${JSON.stringify(value)}: ${(err as Error).message}`)
      assert.match((err as Error).message, '--allow-origin', 'and says how to write one')
    }
  }
})

test('matching: scheme, host and port exactly (or any port), never "null" or garbage; no Origin always passes', () => {
  const policy = OriginPolicy.parse('https://app.example.com,http://localhost:*')
  for (const ok of ['https://app.example.com', 'https://APP.example.com', 'https://app.example.com:443', 'http://localhost', 'http://localhost:3000', undefined]) {
    assert.ok(policy.allows(ok), `${ok} is allowed`)
  }
  for (const no of ['http://app.example.com', 'https://app.example.com:8443', 'https://evil.app.example.com', 'https://app.example.com.evil.example',
    'https://localhost:3000', 'http://localhost.evil.example', 'null', 'garbage', '']) {
    assert.not.ok(policy.allows(no), `${JSON.stringify(no)} is refused`)
  }
  const local = OriginPolicy.localPages()
  for (const ok of ['http://localhost:5173', 'http://127.0.0.1:8080', 'http://localhost']) assert.ok(local.allows(ok), `${ok} is a local page`)
  for (const no of ['https://evil.example', 'http://127.0.0.2:8080', 'http://[::1]:8080', 'https://localhost:5173', 'null']) assert.not.ok(local.allows(no), `${no} is not`)
  assert.ok(OriginPolicy.anyOrigin().allows('null'), 'without a policy any page may call')
})

test('a listed policy: other origins get 403 on JSON-RPC and on /replicate, with a body that says what to do', async () => {
  await withServer({ origins: OriginPolicy.parse('https://app.example.com') }, async (port) => {
    for (const path of ['/', '/replicate']) {
      const refused = await upgrade(port, path, 'https://evil.example')
      assert.is(refused.status, 403, `${path}: an unlisted origin is refused`)
      assert.match(refused.body, '"https://evil.example"', 'the body names the origin')
      assert.match(refused.body, 'only from pages on https://app.example.com')
      assert.match(refused.body, 'restart it with --allow-origin https://evil.example', 'and says how to allow it')
      assert.is((await upgrade(port, path, 'https://app.example.com')).status, 101, `${path}: the listed origin upgrades`)
      assert.is((await upgrade(port, path)).status, 101, `${path}: no Origin (a program) upgrades`)
    }
    const garbage = await upgrade(port, '/', 'null')
    assert.is(garbage.status, 403)
    assert.match(garbage.body, "--allow-origin <the page's origin>", 'an origin that is not one is not echoed as the fix')
  })
})

test('--debug without a list: only http://localhost:* and http://127.0.0.1:* pages, and the body says why', async () => {
  await withServer({ debug: true }, async (port) => {
    for (const origin of ['http://localhost:5173', 'http://127.0.0.1:8080', undefined]) {
      assert.is((await upgrade(port, '/?user=alice', origin)).status, 101, `${origin ?? 'no Origin'} may log in by name`)
    }
    for (const origin of ['https://evil.example', 'http://localhost.evil.example', 'https://localhost:5173']) {
      const refused = await upgrade(port, '/?user=admin', origin)
      assert.is(refused.status, 403, `${origin} may not`)
      assert.match(refused.body, 'runs with --debug, where a debug user name is a login without a password')
      assert.match(refused.body, '--allow-origin')
    }
    assert.is((await upgrade(port, '/replicate', 'https://evil.example')).status, 403, 'replication too')
  })
  await withServer({ debug: true, origins: OriginPolicy.parse('https://dev.example') }, async (port) => {
    assert.is((await upgrade(port, '/', 'https://dev.example')).status, 101, '--allow-origin replaces the debug default')
    assert.is((await upgrade(port, '/', 'http://localhost:5173')).status, 403)
  })
})

test('without --debug or a list, any origin may call', async () => {
  await withServer({}, async (port) => {
    for (const origin of ['https://anything.example', 'null', undefined]) assert.is((await upgrade(port, '/', origin)).status, 101, `${origin}`)
  })
})

test('exec --allow-origin: malformed values exit 2 with the usage message and touch nothing; good ones serve', async () => {
  const dir = await tempDir('nodevms-origin-')
  try {
    for (const value of ['https://a.example/', '*,https://a.example']) { // the unit test above covers every kind
      const hostDir = join(dir, 'never')
      const result = await runCli(['exec', join(FIXTURES, 'counter.js'), '--port', '0', '--dir', hostDir, '--allow-origin', value])
      assert.is(result.code, 2, `${value}: exit 2 (${result.stderr})`)
      assert.match(result.stderr, 'Cannot use', `${value}: says what is wrong`)
      assert.match(result.stderr, '--allow-origin')
      assert.is(result.stdout, '', 'nothing served')
      assert.not.ok(existsSync(hostDir), 'the host directory was never created')
    }
    const host = await spawnCli(['exec', join(FIXTURES, 'counter.js'), '--port', '0', '--dir', join(dir, 'a'),
      '--allow-origin', 'https://a.example', '--allow-origin', 'https://b.example:8443'])
    assert.is((await upgrade(host.port, '/', 'https://b.example:8443')).status, 101, 'repeated flags add up')
    assert.is((await upgrade(host.port, '/', 'https://a.example')).status, 101)
    assert.is((await upgrade(host.port, '/', 'https://c.example')).status, 403)
    await host.stop()
    const any = await spawnCli(['exec', join(FIXTURES, 'counter.js'), '--port', '0', '--dir', join(dir, 'b'), '--debug', '--allow-origin', '*'])
    assert.is((await upgrade(any.port, '/?user=x', 'https://anything.example')).status, 101, '* allows any page, also under --debug')
    for (let i = 0; i < 100 && !any.stderr().includes('--allow-origin *'); i++) await new Promise((resolve) => setTimeout(resolve, 50))
    assert.match(any.stderr(), 'any web page the user opens may call this host as any debug user', 'and warns about it')
    await any.stop()
  } finally {
    await stopAll()
  }
})

test.run()
