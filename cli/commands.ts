// The nodevms command line: cac commands, one file per command (cli/index.ts is the entry point).
import { readFileSync } from 'node:fs'
import { cac } from 'cac'
import { EngineError } from '../engine/index.js'
import { HostError } from '../host/index.js'
import { runCall } from './call.js'
import { runExec } from './exec.js'
import { runExplore } from './explore.js'
import { runId } from './id.js'
import { runRepl } from './repl.js'
import { runSeed } from './seed.js'
import { runVerify } from './verify.js'
import { CliError, printError } from './output.js'

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
const cli = cac('nodevms')

/** Exit codes (CONTRACT §4): 0 success, 1 mismatch or runtime failure, 2 usage error or unreachable host. */
function exitCodeFor (err: unknown): number {
  if (err instanceof CliError) return err.exitCode
  const code = (err as { code?: unknown })?.code
  if (code === 'CONNECTION_FAILED' || code === 'BAD_URL') return 2
  return 1
}

function fail (err: unknown): never {
  if (err instanceof HostError || err instanceof EngineError || err instanceof CliError) printError(err)
  else if (err instanceof Error && typeof (err as { code?: unknown }).code === 'number') printError(`${err.name}: ${err.message}`)
  else printError(err instanceof Error ? (err.message || String(err)) : err)
  process.exit(exitCodeFor(err))
}

/**
 * Runs a long-lived service until SIGINT or SIGTERM, then stops it and exits with its code (0 by
 * default). The handlers are installed before start-up, so a signal that arrives while the service is
 * still starting stops it as soon as it is up instead of killing the process half-way.
 */
async function serveUntilSignal (start: () => Promise<() => Promise<number | void>>, what: string): Promise<void> {
  let stop: (() => Promise<number | void>) | null = null
  let signal: string | null = earlySignal
  let closing = false
  const close = () => {
    if (closing || stop === null || signal === null) return
    closing = true
    process.stderr.write(`\n${signal}: closing the ${what}...\n`)
    stop().then((code) => process.exit(typeof code === 'number' ? code : 0), (err) => fail(err))
  }
  const onSignal = (name: string) => { signal ??= name; close() }
  process.on('SIGINT', () => onSignal('SIGINT'))
  process.on('SIGTERM', () => onSignal('SIGTERM'))
  stop = await start()
  close()
}

cli.command('exec <script>', 'Run a backend script and serve its methods over WebSocket JSON-RPC')
  .option('--port <port>', 'Port to serve on (0 picks a free port)', { default: 5555 })
  .option('--host <host>', 'Address to listen on', { default: 'localhost' })
  .option('--dir <dir>', 'Host directory (default: ./<script name>)')
  .option('--debug', 'Let clients name themselves with ?user=NAME (never in production)')
  .option('--seeded', 'Give Date and Math.random a recorded per-call time and seed')
  .option('--gas <n>', 'Interrupt polls allowed per call')
  .option('--memory <mb>', 'Memory limit of the script, in MB')
  .option('--timeout <seconds>', 'Wall-clock safety net per call, in seconds', { default: 5 })
  .option('--new', 'Refuse to start if the script differs from the one in the log')
  .option('--swarm', 'Also publish the call log and files on the Dat network (Hyperswarm); needs --bootstrap')
  .option('--bootstrap <nodes>', 'DHT bootstrap nodes HOST:PORT[,...], required with --swarm: the public DHT is never used by default')
  .option('--no-anonymous', 'Refuse unsigned calls: every call must be signed by an identity')
  .option('--allow-origin <origins>', 'Web pages that may connect: comma-separated origins, or * (default: any; with --debug, localhost pages only)')
  .action(async (script: string, opts: Record<string, unknown>) => {
    await serveUntilSignal(() => runExec(script, opts), 'host')
  })

cli.command('call <url> <method> [...args]', 'Call one method; arguments are JSON; prints the JSON result')
  .option('--user <name>', 'Debug-mode caller name (the host must run with --debug)')
  .option('--timeout <seconds>', 'Give up after this many seconds', { default: 30 })
  .option('--identity <file>', 'Sign the call with this identity (default: ~/.nodevms/identity, when it exists)')
  .action(async (url: string, method: string, args: string[], opts: { user?: string, timeout?: number, identity?: string }) => {
    process.exitCode = await runCall(url, method, args, opts)
  })

cli.command('repl <url>', 'Open a REPL with a `client` connected to a host')
  .option('--user <name>', 'Debug-mode caller name (the host must run with --debug)')
  .option('--exec <code>', 'Evaluate one expression, print its result and exit')
  .option('--identity <file>', 'Sign calls with this identity (default: ~/.nodevms/identity, when it exists)')
  .action(async (url: string, opts: { user?: string, exec?: string, identity?: string }) => {
    process.exitCode = await runRepl(url, opts)
  })

cli.command('verify [url]', 'Replicate a host\'s call log and files, replay every call, and prove the state')
  .option('--files <key>', 'The files archive key you expect (dat://, hyper:// or hex)')
  .option('--log <key>', 'The call log key you expect (dat://, hyper:// or hex)')
  .option('--json', 'Print one JSON object')
  .option('--dir <dir>', 'Verify a stopped host\'s directory, offline')
  .option('--store <dir>', 'Keep the replicated cores here, to catch a host that rewrites history later')
  .option('--allow-engine-mismatch', 'Replay even if the log was written by another engine version')
  .option('--bootstrap <nodes>', 'With dat://KEY: DHT bootstrap nodes HOST:PORT[,...] (required: the public DHT is never used by default)')
  .option('--timeout <seconds>', 'With dat://KEY: how long to look for peers (default 30)')
  .action(async (url: string | undefined, opts: { files?: string, log?: string, json?: boolean, dir?: string, store?: string, allowEngineMismatch?: boolean, bootstrap?: string | string[], timeout?: number }) => {
    process.exitCode = await runVerify(url, opts)
  })

cli.command('explore [url]', 'Verify a host\'s log as verify does, follow it live, and watch it in a web page on this machine')
  .option('--port <port>', 'Port for the page (0, the default, picks a free port)', { default: 0 })
  .option('--host <host>', 'Address for the page', { default: 'localhost' })
  .option('--dir <dir>', 'Explore a stopped host\'s directory, offline')
  .option('--files <key>', 'The files archive key you expect (dat://, hyper:// or hex)')
  .option('--log <key>', 'The call log key you expect (dat://, hyper:// or hex)')
  .option('--bootstrap <nodes>', 'With dat://KEY: DHT bootstrap nodes HOST:PORT[,...] (required: the public DHT is never used by default)')
  .option('--timeout <seconds>', 'With dat://KEY: how long to look for peers (default 30)')
  .option('--allow-engine-mismatch', 'Replay even if the log was written by another engine version')
  .action(async (url: string | undefined, opts: Record<string, unknown>) => {
    await serveUntilSignal(() => runExplore(url, opts), 'explorer')
  })

cli.command('id', 'Create or show your ed25519 identity; prints its public key hex')
  .option('--identity <file>', 'Identity file (default: ~/.nodevms/identity)')
  .action(async (opts: { identity?: string }) => {
    process.exitCode = await runId(opts)
  })

cli.command('seed <key>', 'Mirror a backend by its call log key: follow, verify and serve it on the Dat network')
  .option('--dir <dir>', 'Where the mirror keeps its copy of the log and files (required)')
  .option('--bootstrap <nodes>', 'DHT bootstrap nodes HOST:PORT[,...] (required: the public DHT is never used by default)')
  .option('--allow-engine-mismatch', 'Replay even if the log was written by another engine version')
  .action(async (key: string, opts: { dir?: string, bootstrap?: string | string[], allowEngineMismatch?: boolean }) => {
    await serveUntilSignal(() => runSeed(key, opts), 'mirror')
  })

cli.help()
cli.version(pkg.version)

let earlySignal: string | null = null

/** Runs the command line. `early` is a signal that arrived while the modules were still loading. */
export async function main (early: string | null): Promise<void> {
  earlySignal = early
  try {
    await parseAndRun()
  } catch (err) {
    fail(err)
  }
}

async function parseAndRun (): Promise<void> {
  try {
    cli.parse(process.argv, { run: false })
  } catch (err) {
    throw CliError.usage((err as Error).message)
  }
  if (cli.options.help || cli.options.version) return
  if (cli.matchedCommand === undefined) {
    const name = cli.args[0]
    throw CliError.usage(name === undefined ? 'no command given; see nodevms --help' : `unknown command "${name}"; see nodevms --help`)
  }
  // Only the long-lived services close cleanly on a signal that came while loading; anything else stops.
  if (earlySignal !== null && !['exec', 'seed', 'explore'].includes(cli.matchedCommand.name)) process.exit(earlySignal === 'SIGINT' ? 130 : 143)
  await cli.runMatchedCommand()
}

