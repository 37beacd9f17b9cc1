// nodevms exec <script>: run a backend script on a host directory and serve it over JSON-RPC.
// stdout: the four start-up lines (CONTRACT §4). stderr: one line per call and per lifecycle event (host-lines.ts).
import { readFileSync } from 'node:fs'
import { basename, extname, resolve } from 'node:path'
import { DEFAULT_LIMITS, EngineError } from '../engine/index.js'
import type { OriginPolicy } from '../host/rpc/index.js'
import type { SwarmHandle } from '../host/swarm/index.js'
import { count, port, positive, type Invocation, type OptionSpec, type ServeCommand } from './command-spec.js'
import { HostLines, servingLines } from './host-lines.js'
import { CliError, printError } from './output.js'
import { hyperLines, parseBootstrap } from './swarm-options.js'

export interface ExecOptions {
  port: number
  host: string
  dir?: string
  debug?: boolean
  seeded?: boolean
  gas: number
  memory: number      // MB
  timeout: number     // seconds
  fresh?: boolean
  upgrade?: boolean
  quiet?: boolean
  swarm?: boolean
  bootstrap?: string[]
  anonymous?: boolean // --no-anonymous sets false
  allowOrigin?: string[]
}

const MB = 1024 * 1024

/** Where the host listens. Shared with dev. */
export const LISTEN_OPTIONS: OptionSpec[] = [
  { flags: '--port <port>', description: 'Port to serve on; 0 picks a free port', default: '5555', value: port },
  { flags: '--host <host>', description: 'Address to listen on (localhost listens on 127.0.0.1)', default: 'localhost' }
]

/** The script's mode and limits (CONTRACT §2). Shared with dev. */
export const SCRIPT_OPTIONS: OptionSpec[] = [
  { flags: '--debug', description: 'Let clients name themselves with ?user=NAME (never in production)' },
  { flags: '--seeded', description: 'Give Date and Math.random a recorded per-call time and seed' },
  { flags: '--gas <n>', description: 'Gas per call: QuickJS interrupt polls, about one per 10,000 branches or calls', default: String(DEFAULT_LIMITS.gasLimit), value: count },
  { flags: '--memory <mb>', description: 'Memory limit of the script, in MB', default: String(DEFAULT_LIMITS.memoryLimit / MB), value: positive },
  { flags: '--timeout <seconds>', description: 'Wall-clock safety net per call, in seconds', default: String(DEFAULT_LIMITS.timeoutMs / 1000), value: positive },
  { flags: '--quiet', description: 'No line per call on stderr (lifecycle lines stay)' }
]

export const execCommand: ServeCommand = {
  usage: 'exec <script>',
  description: 'Run a backend script and serve its methods over WebSocket JSON-RPC',
  options: [
    ...LISTEN_OPTIONS,
    { flags: '--dir <dir>', description: 'Host directory: the call log and the files archive', defaultText: './<script name>' },
    ...SCRIPT_OPTIONS,
    { flags: '--fresh', description: 'Start the script with empty memory instead of restoring it from the log (the restart entry says so)' },
    { flags: '--upgrade', description: 'Run a script that differs from the one in the log: logs an upgrade entry; the new script starts with empty memory and the files as they are' },
    { flags: '--swarm', description: 'Also publish the call log and files on the Dat network (Hyperswarm); needs --bootstrap' },
    { flags: '--bootstrap <nodes>', description: 'DHT bootstrap nodes HOST:PORT[,...], required with --swarm; the public DHT is never used by default', repeatable: true, defaultText: 'none' },
    { flags: '--no-anonymous', description: 'Refuse unsigned calls: every call must be signed by an identity' },
    { flags: '--allow-origin <origins>', description: 'Web pages that may connect: comma-separated origins, or *', repeatable: true, defaultText: 'any; with --debug, localhost pages only' }
  ],
  check ({ options }) {
    if (options.swarm !== true && options.bootstrap !== undefined) throw CliError.usage('--bootstrap goes with --swarm: add --swarm to publish on the Dat network')
    if (options.swarm === true) parseBootstrap(options.bootstrap, 'exec --swarm')
  },
  serve: ({ args: [script], options }: Invocation) => runExec(script, options as unknown as ExecOptions)
}

/** The script's text, or a usage error that says why it cannot be read. Shared with dev. */
export function readScript (path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : code === 'EACCES' ? 'permission denied' : String((err as Error).message)
    throw CliError.usage(`cannot read the script ${path}: ${why}`)
  }
}

/** The limits a Host takes, from --gas, --memory (MB) and --timeout (seconds). Shared with dev. */
export function hostLimits (opts: Pick<ExecOptions, 'seeded' | 'gas' | 'memory' | 'timeout'>): { seeded: boolean, gasLimit: number, memoryLimit: number, timeoutMs: number } {
  return { seeded: opts.seeded === true, gasLimit: opts.gas, memoryLimit: Math.round(opts.memory * MB), timeoutMs: Math.round(opts.timeout * 1000) }
}

/** A script that does not load is the script's failure (exit 1), not a usage error. */
export function scriptFailure (err: unknown): unknown {
  return err instanceof EngineError ? new CliError(err.message, 1, err.code) : err
}

/** --allow-origin: comma-separated origins or *, given once or more; a malformed value is a usage error. */
function originPolicy (values: string[] | undefined, parse: (value: string) => OriginPolicy): OriginPolicy | undefined {
  if (values === undefined) return undefined
  try {
    return parse(values.join(','))
  } catch (err) {
    throw CliError.usage((err as Error).message)
  }
}

export async function runExec (script: string, opts: ExecOptions): Promise<() => Promise<void>> {
  // Loaded here, not at the top: help and usage errors should not wait for Hypercore.
  const [{ Host }, { hostService, OriginPolicy, RpcServer }] = await Promise.all([import('../host/index.js'), import('../host/rpc/index.js')])
  const origins = originPolicy(opts.allowOrigin, (value) => OriginPolicy.parse(value))
  const scriptPath = resolve(script)
  const source = readScript(scriptPath)
  const bootstrap = opts.swarm === true ? parseBootstrap(opts.bootstrap, 'exec --swarm') : null
  const dir = resolve(opts.dir ?? basename(scriptPath, extname(scriptPath)))
  const filename = basename(scriptPath)
  const lines = new HostLines({ quiet: opts.quiet })
  /** Publishes the host's current store on the Dat network (again after a reopen). */
  const joinSwarm = async (): Promise<SwarmHandle> => {
    const { startSwarm } = await import('../host/swarm/index.js')
    return await startSwarm(host.store, { bootstrap: bootstrap!, topics: [host.log.core, host.drive.core] })
  }

  let server: InstanceType<typeof RpcServer> | null = null
  let swarm: SwarmHandle | null = null
  let stopping: Promise<void> | null = null
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await swarm?.close()
      await server?.close()
      await host.close()
      lines.closed()
    })()
    return stopping
  }
  const host = new Host({
    source,
    filename,
    dir,
    ...hostLimits(opts),
    fresh: opts.fresh === true,
    upgrade: opts.upgrade === true,
    onCall: lines.onCall,
    warn: lines.warn,
    // The store is damaged or failed: the host has stopped taking calls, so the process stops too (exit 1).
    onFailure: (err) => {
      printError(err)
      void stop().finally(() => process.exit(1))
    },
    // A full disk made the host reopen its store: the swarm follows the new one.
    onReopen: async () => {
      if (swarm === null) return
      await swarm.close()
      swarm = await joinSwarm()
    }
  })
  try {
    await host.ready()
  } catch (err) {
    throw scriptFailure(err)
  }
  const service = hostService(host, { allowAnonymous: opts.anonymous !== false, onRefused: lines.onRefused })
  server = new RpcServer({ service, host: opts.host, port: opts.port, debug: opts.debug === true, origins })
  try {
    await server.open()
  } catch (err) {
    await host.close()
    throw err
  }
  if (bootstrap !== null) {
    try {
      swarm = await joinSwarm()
    } catch (err) {
      await server.close()
      await host.close()
      throw err
    }
  }
  process.stdout.write(servingLines(`${opts.host}:${server.port}`, host))
  lines.started(host, filename, { fresh: opts.fresh === true, upgrade: opts.upgrade === true })
  if (swarm !== null) {
    for (const line of hyperLines(host)) process.stdout.write(line + '\n')
    process.stderr.write(`Announced on the Dat network (bootstrap ${bootstrap!.map((n) => `${n.host}:${n.port}`).join(',')})\n`)
  }
  if (opts.anonymous === false) process.stderr.write('Signed calls only (--no-anonymous): unsigned calls are refused.\n')
  if (opts.debug === true) process.stderr.write('Debug mode: clients may name themselves with ?user=NAME. Do not use it in production.\n')
  if (opts.debug === true && origins?.allowsAny === true) process.stderr.write('--allow-origin * with --debug: any web page the user opens may call this host as any debug user.\n')
  return stop
}
