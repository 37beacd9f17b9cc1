// `nodevms call <url> <method> [json-args...]` against a real `nodevms exec` child: the JSON result on
// stdout, errors on stderr, and the exit codes of CONTRACT §4 (0 ok, 1 runtime failure, 2 usage or unreachable).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { join } from 'node:path'
import { FIXTURES, freePort, runCli, spawnCli, stopAll, tempDir, type ServingCli } from './helpers.js'

let tmp = ''
let counter: ServingCli | null = null
let album: ServingCli | null = null

test.before(async () => {
  tmp = await tempDir('nodevms-cli-call-')
  ;[counter, album] = await Promise.all([
    spawnCli(['exec', join(FIXTURES, 'counter.js'), '--port', '0', '--dir', join(tmp, 'counter')], { cwd: tmp }),
    spawnCli(['exec', join(FIXTURES, 'photo-album.js'), '--port', '0', '--dir', join(tmp, 'album')], { cwd: tmp })
  ])
})

test.after(async () => {
  await Promise.all([counter?.stop(), album?.stop()])
  await stopAll()
})

test('call <url> increment prints the JSON result and exits 0', async () => {
  const one = await runCli(['call', `localhost:${counter!.port}`, 'increment'])
  assert.is(one.code, 0, one.stderr)
  assert.is(one.stdout, '1\n', 'the JSON result, alone, on stdout')
  const two = await runCli(['call', `ws://127.0.0.1:${counter!.port}`, 'increment'])
  assert.is(two.stdout, '2\n', 'a ws:// url works too, and the state carries on')
})

test('call with JSON args: addPhoto stores a photo; a duplicate exits 1 with the script error on stderr', async () => {
  const url = `localhost:${album!.port}`
  const data = Buffer.from('not really a png').toString('base64')
  const ok = await runCli(['call', url, 'addPhoto', '"cat.png"', JSON.stringify(data), '"base64"'])
  assert.is(ok.code, 0, ok.stderr)
  assert.is(ok.stdout, 'null\n', 'a method that returns nothing prints null')
  const dup = await runCli(['call', url, 'addPhoto', '"cat.png"', JSON.stringify(data), '"base64"'])
  assert.is(dup.code, 1, 'a script error exits 1')
  assert.is(dup.stdout, '', 'nothing on stdout')
  assert.match(dup.stderr, 'Error: File already exists', 'the script error, as Name: message, on stderr')
})

test('a non-JSON argument exits 2 with a message that says how to quote it; nothing is called', async () => {
  const res = await runCli(['call', `localhost:${album!.port}`, 'addPhoto', 'dog.png', '"ZG9n"', '"base64"'])
  assert.is(res.code, 2)
  assert.is(res.stdout, '')
  assert.match(res.stderr, 'argument 1 is not JSON: dog.png')
  assert.match(res.stderr, `'"bob"'`, 'it shows how to quote a string')
  const again = await runCli(['call', `localhost:${album!.port}`, 'addPhoto', '"dog.png"', '"ZG9n"', '"base64"'])
  assert.is(again.code, 0, 'dog.png was not taken by the refused call')
})

test('an unknown method is a usage error (exit 2) that names the methods there are', async () => {
  const res = await runCli(['call', `localhost:${counter!.port}`, 'decrement'])
  assert.is(res.code, 2)
  assert.is(res.stdout, '')
  assert.match(res.stderr, 'decrement')
  assert.match(res.stderr, 'increment', 'the message lists the methods the script has')
})

test('an unreachable host exits 2 with a clear message', async () => {
  const port = await freePort()
  const res = await runCli(['call', `localhost:${port}`, 'increment'])
  assert.is(res.code, 2)
  assert.is(res.stdout, '')
  assert.match(res.stderr, `Cannot connect to ws://localhost:${port}`)
  assert.match(res.stderr, 'Is `nodevms exec` running there?')
})

test('a url that is not ws:// or host:port exits 2', async () => {
  const res = await runCli(['call', 'ftp://example.com/x', 'increment'])
  assert.is(res.code, 2)
  assert.match(res.stderr, 'host:port')
})

test('--user on a host without --debug exits 2 and says why', async () => {
  const res = await runCli(['call', `localhost:${counter!.port}`, 'increment', '--user', 'bob'])
  assert.is(res.code, 2)
  assert.match(res.stderr, '401')
  assert.match(res.stderr, '--debug')
})

test('an unknown command exits 2', async () => {
  const res = await runCli(['frobnicate', 'x'])
  assert.is(res.code, 2)
  assert.match(res.stderr, 'unknown command "frobnicate"')
})

test.run()
