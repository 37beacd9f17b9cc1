// The host's status page: a browser's plain GET / (Accept: text/html) gets the keys, the methods, the log's
// length, the files version and the exact verify and explore commands, every script-chosen name escaped.
// Any other plain HTTP request still gets the 426 it got before.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { request } from 'node:http'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Host } from '../../../host/index.js'
import { hostService, RpcServer } from '../../../host/rpc/index.js'
import type { Service } from '../../../host/rpc/index.js'

const EVIL = '<img src=x onerror=alert(1)>'
const SCRIPT = `exports[${JSON.stringify(EVIL)}] = () => 1
exports['a&b"c\\'d'] = () => 2
exports.ok = async () => { await System.files.writeFile('/f', 'x'); return 3 }
`

interface Ctx { dir: string, host: Host | null, server: RpcServer | null }
const test = suite<Ctx>('the host\'s status page', { dir: '', host: null, server: null })

test.before.each(async (ctx) => { ctx.dir = await mkdtemp(join(tmpdir(), 'nodevms-status-')) })
test.after.each(async (ctx) => {
  await ctx.server?.close()
  await ctx.host?.close()
  ctx.server = null
  ctx.host = null
  await rm(ctx.dir, { recursive: true, force: true })
})

interface Answer { status: number, headers: Record<string, string | string[] | undefined>, body: string }

function get (port: number, opts: { method?: string, path?: string, headers?: Record<string, string> } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: opts.method ?? 'GET', path: opts.path ?? '/', headers: opts.headers }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => { body += d })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

async function serve (ctx: Ctx, service?: Service): Promise<number> {
  if (service === undefined) {
    ctx.host = new Host({ source: SCRIPT, filename: 'evil.js', dir: ctx.dir, warn: () => {}, log: () => {} })
    await ctx.host.ready()
  }
  ctx.server = new RpcServer({ service: service ?? hostService(ctx.host!), port: 0 })
  await ctx.server.open()
  return ctx.server.port
}

const HTML = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' }

test('a browser gets the keys, the methods, the log length, the files version and the commands', async (ctx) => {
  const port = await serve(ctx)
  await ctx.host!.call('ok')
  const page = await get(port, { headers: HTML })
  assert.is(page.status, 200)
  assert.match(String(page.headers['content-type']), 'text/html')
  assert.match(String(page.headers['content-security-policy']), "default-src 'none'")
  const log = ctx.host!.callLogKey
  assert.match(page.body, `<code>dat://${log}</code>`)
  assert.match(page.body, `<code>dat://${ctx.host!.filesKey}</code>`)
  assert.match(page.body, '<dt>Log length</dt><dd>2 entries</dd>')
  assert.match(page.body, '<dt>Files version</dt><dd>2</dd>')
  assert.match(page.body, `<pre>nodevms verify 127.0.0.1:${port} --log dat://${log}</pre>`)
  assert.match(page.body, `<pre>nodevms explore 127.0.0.1:${port} --log dat://${log}</pre>`)
  assert.match(page.body, '<h2>Methods (3)</h2>')
  assert.not.match(page.body, /<script/i, 'no script')
})

test('script-chosen method names are escaped; a Host header that is no address is not used', async (ctx) => {
  const port = await serve(ctx)
  const page = await get(port, { headers: { ...HTML, host: 'evil"><script>alert(1)</script>' } })
  assert.is(page.status, 200)
  assert.match(page.body, '<li><code>&lt;img src=x onerror=alert(1)&gt;</code></li>')
  assert.match(page.body, '<li><code>a&amp;b&quot;c&#39;d</code></li>')
  assert.not.match(page.body, '<img')
  assert.not.match(page.body, '<script')
  assert.match(page.body, `nodevms verify 127.0.0.1:${port} --log`, 'the host\'s own address instead')
  const named = await get(port, { headers: { ...HTML, host: `my-host.example:${port}` } })
  assert.match(named.body, `nodevms explore my-host.example:${port} --log`, 'the address the browser used')
})

test('other plain HTTP requests still get 426; HEAD gets the headers alone', async (ctx) => {
  const port = await serve(ctx)
  for (const [what, opts] of [
    ['no Accept', {}], ['Accept: */*', { headers: { accept: '*/*' } }], ['another path', { path: '/replicate', headers: HTML }],
    ['POST', { method: 'POST', headers: HTML }]
  ] as const) {
    const answer = await get(port, opts)
    assert.is(answer.status, 426, what)
    assert.match(answer.body, 'connect with a WebSocket', what)
  }
  const head = await get(port, { method: 'HEAD', headers: HTML })
  assert.is(head.status, 200)
  assert.is(head.body, '')
  assert.ok(Number(head.headers['content-length']) > 500, 'the page\'s length')
})

test('a host that cannot say its status answers 503, and keeps serving', async (ctx) => {
  const port = await serve(ctx, { methods: [], handshakeInfo: () => { throw new Error('closing') }, call: async () => ({ result: null }) })
  const answer = await get(port, { headers: HTML })
  assert.is(answer.status, 503)
  assert.match(answer.body, 'try again shortly')
  assert.is((await get(port)).status, 426)
})

test.run()
